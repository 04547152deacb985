"""``digest serve`` as an analyst uses it: a real server on a free loopback
port, real saves, the page polled until it shows them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURE_CORPUS, REPO, leftovers, make_project


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode("utf-8"))


def _until(what: Callable[[], bool], limit: float = 90.0) -> float:
    """Poll until ``what`` holds; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if what():
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not within {limit} s")


def _stopped(proc: subprocess.Popen[str], limit: float = 30) -> tuple[str, str]:
    """The output of a process asked to stop; if it does not within
    ``limit`` seconds, a failure holding its threads' tracebacks."""
    try:
        return proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f"digest serve did not stop within {limit} s:\n{out}\n{err}") from None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str, subprocess.Popen[str]]]:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    port = _free_port()
    # PYTHONFAULTHANDLER: a serve that does not stop is sent SIGABRT below
    # and says where each of its threads was.
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts"), "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--root", str(root),
                             "--dev-addr", f"127.0.0.1:{port}"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: "Briefing Digest" in _get(f"{base}/index.html"))
        yield root, base, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_save_shows_then_a_broken_save_keeps_the_last_good_site_and_says_where(
        served: tuple[Path, str, subprocess.Popen[str]]) -> None:
    root, base, proc = served
    page = f"{base}/digest/articles/alpha.html"
    first = _get(page)
    assert "digest serve: reload on rebuild" in first  # the reload script, added as served
    assert "digest serve" not in (root / "site/digest/articles/alpha.html").read_text(encoding="utf-8")
    build = json.loads(_get(f"{base}/__digest__/status"))["build"]

    annotation = root / "seeds/alpha.yml"
    good = annotation.read_text(encoding="utf-8")
    annotation.write_text(good.replace("title: ", "title: Saved just now - ", 1), encoding="utf-8")
    _until(lambda: "Saved just now - " in _get(page)
           and json.loads(_get(f"{base}/__digest__/status"))["build"] == build + 1)
    assert json.loads(_get(f"{base}/__digest__/status"))["problems"] == []
    # Which pages changed since the build a page was loaded from: the open
    # page reloads only when it is one of them.
    changed = json.loads(_get(f"{base}/__digest__/status?since={build}"))["changed"]
    assert "digest/articles/alpha.html" in changed
    assert "digest/articles/gamma.html" not in changed and "guide/annotating.html" not in changed
    assert json.loads(_get(f"{base}/__digest__/status?since={build + 1}"))["changed"] == []

    # Three quick saves, the last one broken: the site stays, the problem is shown.
    for text in ("title: [one\n", "title: [two\n", good.replace("date: ", "date: [broken\n#", 1)):
        annotation.write_text(text, encoding="utf-8")
        time.sleep(0.05)
    _until(lambda: bool(json.loads(_get(f"{base}/__digest__/status"))["problems"]))
    status = json.loads(_get(f"{base}/__digest__/status"))
    assert status["build"] == build + 1
    assert any(p.startswith("seeds/alpha.yml:") and "hint:" in p for p in status["problems"]), status
    assert "Saved just now - " in _get(page)  # the last good build, still served

    annotation.write_text(good, encoding="utf-8")  # fixed: the page changes again, the banner goes
    # The site is swapped in just before the status says so: wait for both.
    _until(lambda: "Saved just now - " not in _get(page)
           and json.loads(_get(f"{base}/__digest__/status"))["problems"] == [])

    proc.send_signal(signal.SIGINT)
    out, err = _stopped(proc)
    assert proc.returncode == 0, err
    assert "digest: incremental build:" in out
    assert "digest: stopped" in out
    assert not leftovers(root.glob(".site.*")) and not leftovers((root / "dist").glob(".offline*"))
    assert not (root / ".digest-partial.yml").exists()


def test_a_stop_during_a_rebuild_leaves_the_last_good_site(served: tuple[Path, str, subprocess.Popen[str]]) -> None:
    """SIGTERM (as Ctrl-C) while a save is being built: the build ends, the
    site is the last good one or the new one, whole, and nothing is left."""
    root, _base, proc = served
    before = (root / "site/digest/articles/alpha.html").read_text(encoding="utf-8")
    annotation = root / "seeds/alpha.yml"
    annotation.write_text(annotation.read_text(encoding="utf-8").replace("title: ", "title: Stopped - ", 1),
                          encoding="utf-8")
    time.sleep(0.6)  # past the watcher's 300 ms debounce: the build has begun
    proc.send_signal(signal.SIGTERM)
    out, err = _stopped(proc)
    assert proc.returncode == 0, err
    assert "digest: stopped" in out
    after = (root / "site/digest/articles/alpha.html").read_text(encoding="utf-8")
    assert after == before or "Stopped - " in after
    assert not leftovers(root.glob(".site.*")) and not leftovers((root / "dist").glob(".offline*"))
    assert not (root / ".digest-partial.yml").exists() and not list((root / ".digest-cache").glob("digest-partial-*"))


def test_dev_addr_is_checked() -> None:
    from digest.cli import EXIT_USAGE, main

    assert main(["serve", "--dev-addr", "localhost"]) == EXIT_USAGE


@pytest.mark.browser
def test_only_the_open_pages_that_changed_reload(served: tuple[Path, str, subprocess.Popen[str]], browser: Any) -> None:
    root, base, _proc = served
    context = browser.new_context()
    changed, unchanged = context.new_page(), context.new_page()
    for page, path in ((changed, "digest/articles/alpha.html"), (unchanged, "digest/articles/gamma.html")):
        page.goto(f"{base}/{path}")
        page.wait_for_load_state("load")
        page.evaluate("() => { window.__stillHere = true; }")  # gone if the page reloads
    annotation = root / "seeds/alpha.yml"
    annotation.write_text(annotation.read_text(encoding="utf-8").replace("title: ", "title: Seen live - ", 1),
                          encoding="utf-8")
    changed.wait_for_selector("h1:has-text('Seen live - ')", timeout=90_000)
    assert changed.evaluate("() => window.__stillHere === undefined")
    # Long enough for the other page to have polled the new build (every 0.5 s).
    unchanged.wait_for_timeout(2000)
    assert unchanged.evaluate("() => window.__stillHere === true")
    context.close()

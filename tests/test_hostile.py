"""Hostile input: every seed survives intact, nothing runs, nothing is lost."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.cli import EXIT_BUSY, EXIT_OK, EXIT_PROBLEMS
from digest.fsutil import project_lock
from digest.load import load
from digest.problems import WriteRefused
from digest.write import write_tree

from .conftest import FIXTURE_CORPUS, REPO, leftovers, make_project, run
from .test_e2e import visible_text

MINIMAL = "title: T\ndate: 2026-11-23\nsource: S\nsummary: S.\n"


# --- 1. Text fidelity ------------------------------------------------------

ATOMS = [
    "#", "##", "*", "**", "_", "__", ">", "1.", "2)", "`", "```", "|", "| a | b |", "[x](y)", "[x]: http://e.org",
    "<tag>", "</p>", "<script>alert(1)</script>", "&amp;", "&copy;", "&#65;", "{{ x }}", "{% y %}", "---", "===",
    "$", "$$x$$", "\\", "\\*", "[TOC]", "*[HTML]:", "{: #id }", "[^1]", ":smile:", "~~s~~", "^^i^^", "==m==",
    "+", "-", "!", "![i](x.png)", "<http://e.org>", "http://e.org/a_b", "\"q\"", "'s", "—", "…",
    "Azərbaycan", "İstanbul", "ılık", "IĞDIR", "Москва", "Ёлка", "القاهرة", "北京", "中文", "🚀", "👩‍💻", "Kızılelma",
    "Erdoan", "word", "text", "e\u0301",
]
SEPARATORS = [" ", " ", " ", "\n", "\n\n", "  ", "\t", "\n    "]


@st.composite
def seed_texts(draw: Any) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(ATOMS), st.sampled_from(SEPARATORS)), min_size=1, max_size=40))
    text = "".join(a + s for a, s in parts).strip()
    return text or "word"


def words_in_order(expected: str, visible: str) -> str | None:
    """The first word of ``expected`` missing from ``visible`` (in order), else None."""
    pos = 0
    for word in expected.split():
        at = visible.find(word, pos)
        if at < 0:
            return word
        pos = at + len(word)
    return None


@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(texts=st.lists(seed_texts(), min_size=3, max_size=3))
def test_plain_text_survives_a_real_build(texts: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("fidelity")
    seeds: dict[str, str | bytes] = {}
    for i, text in enumerate(texts):
        seeds[f"a{i}.txt"] = text
        seeds[f"a{i}.yml"] = MINIMAL + "corrections:\n  Erdoan: Erdoğan\n"
    project = make_project(root / "p", seeds)
    code, _, err = run("build", "--root", str(project), "--edition", "hosted")
    assert code == EXIT_OK, err
    for i, text in enumerate(texts):
        page = (project / f"site/digest/articles/a{i}.html").read_text(encoding="utf-8")
        visible = visible_text(page)
        visible = visible[visible.index("Full text"):]
        missing = words_in_order(text.replace("Erdoan", "Erdoğan"), visible)
        assert missing is None, f"{missing!r} of {text!r} is missing from the page"
        assert "<script>alert" not in page


# --- 2. Nothing runs -------------------------------------------------------

PAYLOAD = '<script>console.error("PWNED")</script><img src=x onerror=console.error("PWNED")>'
HOSTILE = {
    "evil.txt": f"Before {PAYLOAD} after. [click](javascript:console.error(\"PWNED\")) {{{{ config }}}}\n\n"
                "<svg onload=console.error(\"PWNED\")> second paragraph with the quote.\n",
    "evil.yml": f"""title: 'Title </title></head>{PAYLOAD}'
date: 2026-11-23
source:
  name: 'Outlet <script>console.error("PWNED")</script>'
  url: 'https://example.org/?q="><script>console.error("PWNED")</script>'
  author: '<b onmouseover=console.error("PWNED")>me</b>'
summary: 'Summary {PAYLOAD}'
key_points:
  - '[x](javascript:console.error("PWNED")) and <iframe src="javascript:console.error(1)"></iframe>'
assessment: 'Assessment <svg onload=console.error("PWNED")> [y](javascript:console.error("PWNED")) **bold** `<code>`'
topics: ['"><script>console.error("PWNED")</script>', '**Topic**']
regions: ['<img src=x onerror=console.error("PWNED")>']
entities:
  people: ['<script>console.error("PWNED")</script>']
  other: ['[link](javascript:console.error("PWNED"))']
quotes:
  - text: '<svg onload=console.error("PWNED")> second paragraph'
    by: '<script>console.error("PWNED")</script>'
""",
}


def test_payloads_are_text_in_the_html(built_hostile: Path) -> None:
    pages = list((built_hostile / "dist/offline/digest").rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert 'console.error("PWNED")</script>' not in html.replace("&lt;script&gt;", ""), page
        assert "onerror=" not in html.replace("onerror=console", "").lower() or "&lt;img" in html
        assert 'href="javascript:' not in html.lower()
        assert "<svg onload" not in html.lower()
        assert "<iframe" not in html.lower()
    article = visible_text((built_hostile / "dist/offline/digest/articles/evil.html").read_text(encoding="utf-8"))
    assert "<script>console.error(\"PWNED\")</script>" in article  # shown, as text
    assert "{{ config }}" in article


@pytest.mark.browser
def test_no_script_runs_in_chromium(browser: Any, built_hostile: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    events: list[str] = []
    page.on("dialog", lambda d: (events.append(f"dialog {d.message}"), d.dismiss()))
    page.on("console", lambda m: events.append(m.text) if "PWNED" in m.text else None)
    base = built_hostile / "dist/offline"
    for path in [*sorted((base / "digest").rglob("*.html")), base / "index.html"]:
        page.goto(path.as_uri())
        page.wait_for_timeout(50)
        page.mouse.move(200, 200)
        page.mouse.move(400, 300)
    page.goto((base / "index.html").as_uri())
    page.click("input.md-search__input")
    # Results show the payload-laden title and source name.
    page.keyboard.type("Title Outlet", delay=20)
    page.wait_for_timeout(1500)
    assert page.locator(".md-search-result__item").count() >= 1
    context.close()
    assert events == []


# --- 3. Encodings ----------------------------------------------------------

LEGACY = {
    "cp1251": "Министерство обороны сообщило, что учения в Калининградской области завершились. "
              "Ракетные комплексы вернулись в пункты постоянной дислокации.",
    "cp1252": "Le ministre français a déclaré que la coopération avec l'Allemagne « se poursuivra » malgré "
              "les difficultés. Über die Kosten wurde nicht gesprochen.",
    "iso-8859-9": "Türkiye'nin savunma sanayii ihracatı bu yıl rekor kırdı. İnsansız hava araçları ve zırhlı "
                  "araçlar öne çıktı; Kızılelma ve KAAN projeleri sürüyor.",
}


@pytest.mark.parametrize("encoding", sorted(LEGACY))
def test_legacy_encodings_are_read_and_announced(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds/a.txt").write_bytes(LEGACY[encoding].encode(encoding))
    raw = load(tmp_path / "seeds")
    assert raw.articles["a"].text == LEGACY[encoding]
    [warning] = raw.problems
    assert warning.format().startswith("seeds/a.txt:1:1: file: warning: the file is not UTF-8; it was read as ")


def test_bom_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds/a.txt").write_bytes("\ufeffFirst line\r\nsame paragraph\r\n\r\nSecond İ".encode())
    (tmp_path / "seeds/a.yml").write_bytes(("\ufeff" + MINIMAL).replace("\n", "\r\n").encode())
    raw = load(tmp_path / "seeds")
    assert raw.problems == []
    assert raw.articles["a"].text == "First line\nsame paragraph\n\nSecond İ"
    code, _, err = run("check", "--root", str(tmp_path))
    assert (code, err) == (EXIT_OK, "")


def test_binary_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds/a.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    code, _, err = run("check", "--root", str(tmp_path))
    assert code == EXIT_PROBLEMS
    assert "seeds/a.txt:1:1: file: the file looks binary (it contains NUL bytes)" in err


# --- 4. Limits -------------------------------------------------------------

def test_alias_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds/x.txt").write_text("text", encoding="utf-8")
    (tmp_path / "seeds/x.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tracemalloc.start()
    code, _, err = run("check", "--root", str(tmp_path))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == EXIT_PROBLEMS
    assert "seeds/x.yml:2:8: yaml: YAML aliases (*name) are not supported" in err
    assert peak < 20 * 2**20  # fully expanded, this file would be 10**9 strings


def test_twenty_megabyte_article_builds(tmp_path: Path) -> None:
    paragraph = ("The plant in Baku assembles parts for ASELSAN and ROKETSAN under a joint programme. " * 6).strip()
    text = "\n\n".join(f"{i} {paragraph}" for i in range(40_000))
    assert 20_000_000 < len(text.encode()) < 21_000_000
    root = make_project(tmp_path / "p", {"big.txt": text, "big.yml": MINIMAL})
    code, _, err = run("build", "--root", str(root), "--edition", "hosted")
    assert code == EXIT_OK, err
    page = (root / "site/digest/articles/big.html").read_text(encoding="utf-8")
    assert 'id="p-40000"' in page and "39999 The plant in Baku" in page


# --- 5. Names and paths ----------------------------------------------------

def test_names_that_slug_alike_get_distinct_pages(project: Any) -> None:
    root = project({"a.txt": "Text.", "a.yml": MINIMAL + "topics: [Kızılelma, Kizilelma, KIZILELMA, Москва, москва]\n"})
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    pages = sorted(p.name for p in (root / "docs/digest/topics").glob("*.md"))
    # Kızılelma and Kizilelma are different names with one slug; KIZILELMA merges
    # with Kizilelma (case-insensitive); Москва and москва are one topic.
    assert len(pages) == 4 and "index.md" in pages and "kizilelma.md" in pages
    index = (root / "docs/digest/topics/index.md").read_text(encoding="utf-8")
    assert "Kızılelma" in index and "Kizilelma" in index and "KIZILELMA" not in index and "москва" not in index


def test_writer_refuses_paths_outside_its_folder(tmp_path: Path) -> None:
    for bad in ("digest/../escape.md", "/etc/x.md", "other/x.md", "digest/a\\..\\b.md", "digest//x.md"):
        with pytest.raises(WriteRefused):
            write_tree(tmp_path, {bad: "x"})
    with pytest.raises(WriteRefused, match="differ only in case"):
        write_tree(tmp_path, {"digest/A.md": "x", "digest/a.md": "y"})
    assert not any(tmp_path.iterdir())


# --- 6. Nothing lost, nothing half-written --------------------------------

def snapshot(folder: Path) -> dict[str, str]:
    """Hashes of what a reader sees; the bookkeeping manifest and the hidden staging folders a killed run
    leaves (cleaned by the next run, never published) do not count."""
    if not folder.exists():
        return {}
    if folder.is_file():  # the zip
        return {"": hashlib.sha256(folder.read_bytes()).hexdigest()}
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("sitemap.xml.gz", ".digest-manifest.json")
            and not any(part.startswith(".digest.") for part in p.relative_to(folder).parts)}


TREES = ("docs", "site", "dist/offline", "dist/offline.zip")


def change_seeds(root: Path) -> None:
    alpha = root / "seeds/alpha.yml"
    alpha.write_text(alpha.read_text(encoding="utf-8").replace("opens an assembly line", "opens a line"),
                     encoding="utf-8")
    (root / "seeds/zeta.txt").write_text("A new article about KAAN.\n", encoding="utf-8")


def _kill_when(proc: subprocess.Popen[bytes], ready: Any, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("kind", ["full", "incremental"])
def test_killed_build_leaves_old_or_new_never_a_mix(tmp_path: Path, kind: str) -> None:
    old = make_project(tmp_path / "old", FIXTURE_CORPUS / "seeds")
    (old / "docs/mine.md").write_text("# Mine\n", encoding="utf-8")
    assert run("build", "--root", str(old))[0] == EXIT_OK
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    change_seeds(new)
    assert run("build", "--root", str(new))[0] == EXIT_OK
    states = {t: (snapshot(old / t), snapshot(new / t)) for t in TREES}
    assert all(a != b for a, b in states.values())
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    manifest = "docs/digest/.digest-manifest.json"
    old_manifest = (old / manifest).read_bytes()
    # Kill points: fixed delays, plus the moments right after docs/ was swapped
    # and while each edition is being built, found by watching the folders.
    moments: list[tuple[str, Any]] = [(f"{d} s", d) for d in (0.1, 0.4, 0.8, 1.2, 1.6, 2.0, 2.5)]
    moments += [
        ("docs swapped", lambda w: (w / manifest).read_bytes() != old_manifest),
        ("hosted building", lambda w: any(w.glob(".site.building-*"))),
        ("offline building", lambda w: any((w / "dist").glob(".offline.building-*"))),
        ("zipping", lambda w: any((w / "dist").glob(".offline.zip.*"))),
    ]
    if kind == "incremental":
        # MkDocs starts on the changed pages as soon as they are rendered
        # (incremental.speculate), before docs/ is swapped, and builds them
        # on while the build goes on.
        moments.append(("rendered pages building", lambda w: any((w / ".digest-cache").glob("digest-partial-*"))))
        moments.append(("changed pages building", lambda w: any((w / ".digest-cache").glob("digest-partial-*"))
                        and (w / manifest).read_bytes() != old_manifest))
    partial = []
    for name, when in moments:
        work = tmp_path / "kill"
        shutil.copytree(old, work, symlinks=True)
        if kind == "incremental":
            # A copy's editions are new files to the record: one build makes
            # it trust them, so that the build killed below is incremental.
            assert "digest: full build:" in run("build", "--root", str(work))[1]
        change_seeds(work)
        proc = subprocess.Popen([sys.executable, "-m", "digest", "build", "--root", str(work)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if callable(when):
            _kill_when(proc, lambda w=work, f=when: f(w))
        else:
            time.sleep(when)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        results = []
        for tree in TREES:
            now = snapshot(work / tree)
            assert now in states[tree], f"{tree} is a mix after a kill at {name}"
            results.append(now == states[tree][1])
        if any(results) and not all(results):
            partial.append(name)
        # The next run cleans up and completes.
        code, out, _ = run("build", "--root", str(work))
        assert code == EXIT_OK
        if kind == "incremental" and not any(results):
            assert "digest: incremental build:" in out, name
        for tree in TREES:
            assert snapshot(work / tree) == states[tree][1]
        assert not leftovers(work.glob(".site.*")) and not list((work / "docs").glob(".digest.*"))
        assert not leftovers((work / "dist").glob(".offline*"))
        assert not list((work / ".digest-cache").glob("digest-partial-*")) and not (work / ".digest-partial.yml").exists()
        shutil.rmtree(work)
    assert "docs swapped" in partial, "the kill after the docs swap did not land mid-build"
    if kind == "incremental":
        assert "changed pages building" in partial


def test_files_not_generated_are_never_modified(project: Any) -> None:
    root = project(FIXTURE_CORPUS / "seeds")
    mine = {"docs/mine.md": "# Mine\n", "docs/digest/notes/keep.md": "kept\n", "docs/digest/keep.txt": "kept\n"}
    for path, text in mine.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    before = {p: hashlib.sha256((root / p).read_bytes()).hexdigest() for p in mine}
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    change_seeds(root)
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    (root / "seeds/zeta.txt").unlink()
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    assert {p: hashlib.sha256((root / p).read_bytes()).hexdigest() for p in mine} == before


def test_a_second_run_waits_its_turn(project: Any) -> None:
    root = project(FIXTURE_CORPUS / "seeds")
    with project_lock(root):
        code, _out, err = run("generate", "--root", str(root))
    assert code == EXIT_BUSY
    assert f"another digest run (pid {os.getpid()}) is writing in {root}" in err
    assert not (root / "docs/digest").exists()
    assert run("generate", "--root", str(root))[0] == EXIT_OK


def test_two_builds_at_once_do_not_corrupt(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    env = {**os.environ, "PYTHONPATH": str(REPO / "scripts")}
    cmd = [sys.executable, "-m", "digest", "build", "--root", str(root), "--edition", "hosted"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes in ([EXIT_OK, EXIT_OK], [EXIT_OK, EXIT_BUSY]), results
    for code, err in results:
        if code == EXIT_BUSY:
            assert "another digest run" in err
    reference = make_project(tmp_path / "ref", FIXTURE_CORPUS / "seeds")
    assert run("build", "--root", str(reference), "--edition", "hosted")[0] == EXIT_OK
    assert snapshot(root / "site") == snapshot(reference / "site")
    assert snapshot(root / "docs") == snapshot(reference / "docs")

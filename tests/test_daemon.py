"""`digest build` through the project's build server (digest.daemon).

The real command in child processes, as an analyst runs it: the first
build starts the server, the next ones are its builds, and every result is
the bytes a clean build in a process of its own gives.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest import daemon
from digest.memo import MEMO_FILE, MODEL_FILE
from digest.synth import write_corpus

from .conftest import REPO, make_project
from .test_incremental import add_article, change_alias, clean_build, edit_title, outputs


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of a user with the server on (this process's builds,
    the clean ones, run without), the sockets in a folder of the test's
    own; a server a failed test left is killed."""
    sockets = Path(tempfile.mkdtemp(prefix="dg"))  # short: a socket's path is at most 107 bytes
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(sockets))
    yield {**os.environ, "PYTHONPATH": str(REPO / "scripts"), daemon.ENABLE: "1", daemon.IDLE_VAR: "120"}
    shutil.rmtree(sockets, ignore_errors=True)
    for lock in tmp_path.rglob(daemon.LOCK.name):
        pid = server_pid(lock.parent.parent)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)


def digest(env: dict[str, str], root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digest", *args, "--root", str(root)], env=env,
                          capture_output=True, text=True, timeout=600)


def server_pid(root: Path) -> int | None:
    """The running server's process id, from its role's lock file."""
    pid = daemon.server_pid(root)
    return pid if pid is not None and _alive(pid) else None


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return status != "Z"


def _until(test: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test():
            return True
        time.sleep(0.1)
    return test()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("corpus") / "seeds"
    write_corpus(seeds, 60)
    return seeds


def test_builds_in_the_server_equal_clean_builds_and_it_stops(served: dict[str, str], corpus: Path,
                                                               tmp_path: Path) -> None:
    root = make_project(tmp_path / "live", corpus)
    first = digest(served, root, "build")
    assert first.returncode == 0, first.stderr
    assert "digest: full build: no record of a previous build" in first.stdout
    pid = server_pid(root)
    assert pid is not None, "the first build leaves a server running"
    assert daemon.address(root).exists()
    for edit, k in ((edit_title, 3), (add_article, 5), (change_alias, 1), (edit_title, 8)):
        edit(root / "seeds", k)
        built = digest(served, root, "build")
        assert built.returncode == 0, built.stderr
        assert "digest: incremental build:" in built.stdout, built.stdout
        assert server_pid(root) == pid, "one server serves every build"
        if edit is edit_title:  # its model was kept in memory and patched
            assert "patched the last build's model (1 article(s) changed)" in built.stdout, built.stdout
        assert outputs(root) == clean_build(root / "seeds", tmp_path / "clean"), f"after {edit.__name__}"
    stopped = digest(served, root, "daemon", "--stop")
    assert "the build server stopped" in stopped.stdout
    assert _until(lambda: not _alive(pid))
    assert not daemon.address(root).exists()
    # What it learned was written for the next new process, which patches it.
    assert (root / MEMO_FILE).is_file() and (root / MODEL_FILE).is_file()
    edit_title(root / "seeds", 11)
    alone = digest(served, root, "build", "--no-daemon")
    assert alone.returncode == 0, alone.stderr
    assert "patched the last build's model (1 article(s) changed)" in alone.stdout, alone.stdout
    assert server_pid(root) is None, "--no-daemon starts no server"


def test_problems_and_exit_status_come_through_and_the_server_stays(served: dict[str, str], tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", REPO / "tests" / "fixtures" / "corpus" / "seeds")
    assert digest(served, root, "build").returncode == 0
    pid = server_pid(root)
    assert pid is not None
    before = outputs(root)
    annotation = sorted(p for p in (root / "seeds").glob("*.yml") if p.stem not in ("entities", "sources"))[0]
    good = annotation.read_text(encoding="utf-8")
    annotation.write_text(good.replace("title:", "titel:", 1), encoding="utf-8")
    bad = digest(served, root, "build")
    assert bad.returncode == 1
    assert f"seeds/{annotation.name}:" in bad.stderr and "nothing was written" in bad.stderr, bad.stderr
    assert outputs(root) == before
    annotation.write_text(good, encoding="utf-8")
    fixed = digest(served, root, "build")
    assert fixed.returncode == 0, fixed.stderr
    assert server_pid(root) == pid
    daemon.stop(root)
    assert _until(lambda: not _alive(pid))


def test_a_client_with_other_settings_gets_a_new_server(served: dict[str, str], tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", REPO / "tests" / "fixtures" / "corpus" / "seeds")
    assert digest(served, root, "build").returncode == 0
    first = server_pid(root)
    assert first is not None
    other = {**served, "DIGEST_SOMETHING": "else"}  # what the builds might read: not the first server's
    assert digest(other, root, "build").returncode == 0
    assert _until(lambda: not _alive(first)), "the first server retires"
    second = server_pid(root)
    assert second is not None and second != first
    daemon.stop(root)
    assert _until(lambda: not _alive(second))


def test_the_server_ends_when_idle_or_when_its_project_is_gone(served: dict[str, str], tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", REPO / "tests" / "fixtures" / "corpus" / "seeds")
    idle = {**served, daemon.IDLE_VAR: "3"}
    assert digest(idle, root, "build").returncode == 0
    pid = server_pid(root)
    assert pid is not None
    assert _until(lambda: not _alive(pid), 15), "idle for 3 s: it ends"
    assert (root / MODEL_FILE).is_file(), "having written what it learned"
    assert not daemon.address(root).exists()
    assert digest(served, root, "build").returncode == 0
    pid = server_pid(root)
    assert pid is not None
    gone = tmp_path / "gone"
    root.rename(gone)
    assert _until(lambda: not _alive(pid), daemon.CHECK_EVERY + 10), "its project moved away: it ends"


def test_ctrl_c_interrupts_the_servers_build_and_leaves_the_outputs_whole(served: dict[str, str], corpus: Path,
                                                                           tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", corpus)
    assert digest(served, root, "build").returncode == 0
    pid = server_pid(root)
    assert pid is not None
    before = outputs(root)
    edit_title(root / "seeds", 4)
    # As from a terminal, where Ctrl-C reaches it (a test run in the background ignores SIGINT).
    client = subprocess.Popen([sys.executable, "-m", "digest", "build", "--root", str(root)], env=served,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Interrupted once the server has begun the build (it holds the project lock).
    assert _until(lambda: (root / ".digest.lock").read_text() == f"pid {pid}", 60)
    client.send_signal(signal.SIGINT)
    client.communicate(timeout=60)
    assert _until(lambda: not _alive(pid), 30), "the server's build is interrupted, and the server ends"
    after = outputs(root)
    assert after in (before, clean_build(root / "seeds", tmp_path / "clean")), "the last build's or the new one's"
    again = digest(served, root, "build")
    assert again.returncode == 0, again.stderr
    assert outputs(root) == clean_build(root / "seeds", tmp_path / "clean")
    daemon.stop(root)


def test_at_most_two_servers_run_the_least_recently_used_ends(served: dict[str, str], tmp_path: Path) -> None:
    roots = [make_project(tmp_path / f"p{k}", REPO / "tests" / "fixtures" / "corpus" / "seeds") for k in range(3)]
    pids = []
    for root in roots:
        assert digest(served, root, "build").returncode == 0
        pid = server_pid(root)
        assert pid is not None
        pids.append(pid)
        time.sleep(0.05)  # the sockets' times order them
    assert _until(lambda: not _alive(pids[0])), "the server used least recently ends"
    assert _alive(pids[1]) and _alive(pids[2])
    for root in roots[1:]:
        daemon.stop(root)

"""What a run learned is reused by the next, and never trusted over the seeds
(issue 17, item 2): a damaged, foreign or edited memo is ignored and said so,
and the Markdown is the same with the memo, without it, or after it broke."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import time
from pathlib import Path

import pytest

from digest.cli import EXIT_OK, EXIT_PROBLEMS
from digest.memo import MEMO_FILE, MODEL_FILE, generator_version
from digest.synth import write_corpus

from .conftest import FIXTURE_CORPUS, make_project, run


def tree(root: Path) -> dict[str, bytes]:
    docs = root / "docs" / "digest"
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*"))
            if p.is_file() and p.name != ".digest-manifest.json"}


def fresh(seeds: Path, where: Path) -> dict[str, bytes]:
    """docs/digest/ from a project that never ran: no memo."""
    root = make_project(where, seeds)
    code, _, err = run("generate", "--root", str(root))
    assert code == EXIT_OK, err
    return tree(root)


def touch_a_seed(root: Path, title: str) -> None:
    """A change, so that the next run generates (seeds/ is fingerprinted)."""
    path = root / "seeds" / "alpha.yml"
    text = path.read_text(encoding="utf-8")
    start = text.index("title:")
    end = text.index("\n", start)
    path.write_text(text[:start] + f"title: {title}" + text[end:], encoding="utf-8")


@pytest.fixture
def ran(tmp_path: Path) -> Path:
    """The fixture corpus generated once, so a memo exists."""
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    code, out, err = run("generate", "--root", str(root))
    assert code == EXIT_OK, err
    assert "digest: read every seed afresh: no cache yet (it is made by this run)" in out
    assert (root / MEMO_FILE).is_file()
    return root


def test_the_next_run_reuses_what_it_learned_and_writes_the_same(ran: Path, tmp_path: Path) -> None:
    touch_a_seed(ran, "A title changed once")
    code, out, err = run("generate", "--root", str(ran))
    assert code == EXIT_OK, err
    line = next(x for x in out.splitlines() if "reused what the last run learned" in x)
    hits, total = (int(n.replace(",", "")) for n in line.split(" for ")[1].split(" parts")[0].split(" of "))
    assert 0 < hits < total  # the changed annotation was read again, the others not
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean")


def test_remembered_warnings_are_reported_again(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(FIXTURE_CORPUS / "seeds", seeds)
    with (seeds / "alpha.yml").open("a", encoding="utf-8") as f:
        f.write("corrections:\n  Nowhereword: Nowhere word\n")
    root = make_project(tmp_path / "p", seeds)
    first = run("generate", "--root", str(root))
    warned = [x for x in first[2].splitlines() if "Nowhereword" in x]
    assert warned and "does not occur" in warned[0]
    os.utime(root / "seeds" / "beta.yml", (1, 1))  # a run is due; alpha.yml's bytes are the same
    second = run("generate", "--root", str(root))
    assert "reused what the last run learned" in second[1]
    assert [x for x in second[2].splitlines() if "Nowhereword" in x] == warned


def test_an_error_is_never_hidden_by_a_remembered_success(ran: Path) -> None:
    path = ran / "seeds" / "alpha.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("title:", "titel:", 1), encoding="utf-8")
    code, _, err = run("generate", "--root", str(ran))
    assert code == EXIT_PROBLEMS
    assert "seeds/alpha.yml:" in err and "titel" in err


def _damage_by_truncating(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _damage_by_flipping_a_byte(data: bytes) -> bytes:
    i = len(data) - 10
    return data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]


def _damage_by_another_version(data: bytes) -> bytes:
    return data.replace(generator_version().encode(), b"0" * 64, 1)


def _damage_by_hand_edit(data: bytes) -> bytes:
    """An edit that keeps the checksum right and smuggles in code to run."""
    magic, version, _checksum, _payload = data.split(b"\n", 3)
    evil = pickle.dumps({"annotation": {b"k": os.system}, "placed": {}, "mentions": {}})
    return b"\n".join([magic, version, hashlib.sha256(evil).hexdigest().encode(), evil])


def _damage_by_garbage(data: bytes) -> bytes:
    return b"\x00not a memo at all" * 10


@pytest.mark.parametrize(("damage", "said"), [
    (_damage_by_truncating, "damaged or was edited"),
    (_damage_by_flipping_a_byte, "damaged or was edited"),
    (_damage_by_another_version, "made by another version of the generator"),
    (_damage_by_hand_edit, "cannot be read (UnpicklingError)"),
    (_damage_by_garbage, "not one this tool wrote"),
])
def test_a_damaged_memo_is_ignored_and_said_so(ran: Path, tmp_path: Path, damage: object, said: str) -> None:
    memo = ran / MEMO_FILE
    memo.write_bytes(damage(memo.read_bytes()))  # type: ignore[operator]
    touch_a_seed(ran, "A title after the damage")
    code, out, err = run("generate", "--root", str(ran))
    assert code == EXIT_OK, err
    assert "digest: read every seed afresh: the cache" in out and said in out, out
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean")
    # The run wrote a good memo in its place.
    touch_a_seed(ran, "A title after the repair")
    assert "reused what the last run learned" in run("generate", "--root", str(ran))[1]


PATCHED = "patched the last build's model (1 article(s) changed)"


def test_the_next_run_patches_the_model_the_last_one_stored(ran: Path, tmp_path: Path) -> None:
    """`digest generate` and `digest build` keep their model in the cache
    (memo.MODEL_FILE): the next run, after a title edit, patches it instead
    of building every article again, and writes what a run from nothing
    writes. An edit of another field builds the model."""
    assert (ran / MODEL_FILE).is_file()
    touch_a_seed(ran, "A title patched in")
    code, out, err = run("generate", "--root", str(ran))
    assert code == EXIT_OK, err
    assert PATCHED in out, out
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean")
    alpha = ran / "seeds" / "alpha.yml"
    text = alpha.read_text(encoding="utf-8")
    assert "importance: high" in text
    alpha.write_text(text.replace("importance: high", "importance: low"), encoding="utf-8")
    code, out, err = run("generate", "--root", str(ran))
    assert code == EXIT_OK, err
    assert "patched the last build's model" not in out
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean-again")


def _evil_model(data: bytes) -> bytes:
    """A model file edited by hand, its checksum right, smuggling in code to run."""
    magic, version, _checksum, _payload = data.split(b"\n", 3)
    evil = pickle.dumps((os.system, "true"))
    return b"\n".join([magic, version, hashlib.sha256(evil).hexdigest().encode(), evil])


@pytest.mark.parametrize("damage", [_damage_by_truncating, _damage_by_flipping_a_byte, _damage_by_another_version,
                                    _evil_model, _damage_by_garbage])
def test_a_damaged_model_is_ignored(ran: Path, tmp_path: Path, damage: object) -> None:
    model = ran / MODEL_FILE
    model.write_bytes(damage(model.read_bytes()))  # type: ignore[operator]
    touch_a_seed(ran, "A title after the damage")
    code, out, err = run("generate", "--root", str(ran))
    assert code == EXIT_OK, err
    assert "patched the last build's model" not in out
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean")
    # The run wrote a good model in its place.
    touch_a_seed(ran, "A title after the repair")
    assert PATCHED in run("generate", "--root", str(ran))[1]
    assert tree(ran) == fresh(ran / "seeds", tmp_path / "clean-again")


def test_deleting_the_memo_changes_nothing_but_time(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    write_corpus(seeds, 30)
    root = make_project(tmp_path / "p", seeds)
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    (root / "seeds" / sorted(p.name for p in seeds.glob("*.yml"))[3]).write_text(
        (seeds / sorted(p.name for p in seeds.glob("*.yml"))[3]).read_text(encoding="utf-8")
        .replace("title:", "title: Edited", 1).replace("title: Edited \"", "title: \"Edited ", 1), encoding="utf-8")
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    with_memo = tree(root)
    (root / MEMO_FILE).unlink()
    os.utime(root / "seeds" / "entities.yml")
    code, out, _ = run("generate", "--root", str(root))
    assert code == EXIT_OK and "no cache yet" in out
    assert tree(root) == with_memo


def test_the_memo_lives_in_one_git_ignored_folder() -> None:
    ignored = (Path(__file__).resolve().parent.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"/{MEMO_FILE.parent.as_posix()}/" in ignored


def test_work_in_a_child_is_done_when_waited_for_and_says_if_it_failed(tmp_path: Path) -> None:
    from digest.fsutil import in_child
    target = tmp_path / "written"
    wait = in_child(lambda: target.write_text("done", encoding="utf-8"))
    assert wait() is True and target.read_text(encoding="utf-8") == "done"
    assert wait() is True  # asked again: the same answer, the child reaped once

    def fails() -> None:
        raise OSError("no room")

    assert in_child(fails)() is False
    # A child stuck (a lock held by a thread the fork did not copy) is
    # killed after the limit, not waited for forever.
    started = time.monotonic()
    assert in_child(lambda: time.sleep(60), limit=0.5)() is False
    assert time.monotonic() - started < 10


def test_a_warm_run_reads_only_the_seeds_that_changed_and_builds_the_same(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """digest serve keeps the memo and the seeds as read (pipeline.Warm):
    the next build reads only the files whose size, times or inode changed,
    or that changed less than a second before they were read, and writes
    what a run from nothing writes."""
    from digest.pipeline import Options, Project, Warm, run_build
    from digest.reading import Folder

    seeds = tmp_path / "seeds"
    write_corpus(seeds, 12)
    settled = time.time() - 60
    for path in seeds.iterdir():
        os.utime(path, (settled, settled))
    root = make_project(tmp_path / "p", seeds)
    time.sleep(1.1)  # the copies' change times settle (load.SETTLED_NS)
    read: list[str] = []
    real = Folder.read
    monkeypatch.setattr(Folder, "read", lambda self, name, limit: read.append(name) or real(self, name, limit))
    warm = Warm()
    run_build(Project(root), Options(), site=False, warm=warm)
    assert len(read) == 26 and len(warm.files) == 24  # 12 articles, 12 annotations; the registries are always read
    # An annotation and an article changed, each to bytes of the same size,
    # their times put back: the inode's change time still tells them.
    annotation, article = sorted(root.glob("seeds/*.yml"))[3], sorted(root.glob("seeds/*.txt"))[5]
    for path in (annotation, article):
        text = path.read_text(encoding="utf-8")
        if path is annotation:  # keep the size: a character added to the title, one dropped at its end
            edited = text.replace("title: ", "title: X", 1)
            end = edited.index("\n", edited.index("title: X"))
            edited = edited[:end - 2] + edited[end - 1:]
        else:
            edited = text[0].swapcase() + text[1:]
        assert len(edited.encode()) == len(text.encode()) and edited != text
        path.write_text(edited, encoding="utf-8")
        os.utime(path, (settled, settled))
    time.sleep(1.1)
    # A file saved a moment ago is read again even when its stamp is unchanged.
    recent = sorted(root.glob("seeds/*.txt"))[7]
    os.utime(recent, None)
    stamp, record, said = warm.files[recent.name]
    now = recent.stat()  # known as it is now: only its age makes the next run read it
    warm.files[recent.name] = ((stamp[0], now.st_mtime_ns, now.st_ctime_ns, *stamp[3:]), record, said)
    read.clear()
    run_build(Project(root), Options(), site=False, warm=warm)
    assert sorted(read) == sorted([annotation.name, article.name, recent.name, "entities.yml", "sources.yml"])
    assert tree(root) == fresh(root / "seeds", tmp_path / "fresh")
    # Nothing changed since: the file that had not settled is read once
    # more, then nothing but the registries.
    time.sleep(1.1)
    for once in ([recent.name], []):
        read.clear()
        os.utime(root / "seeds" / "entities.yml", None)  # so that the run generates (a registry is read anyway)
        run_build(Project(root), Options(), site=False, warm=warm)
        assert sorted(read) == sorted([*once, "entities.yml", "sources.yml"])
    assert tree(root) == fresh(root / "seeds", tmp_path / "fresh-again")
    # Nor is any text split and corrected again (model.Texts).
    import digest.model
    split: list[str] = []
    real_split = digest.model.split_paragraphs
    monkeypatch.setattr(digest.model, "split_paragraphs", lambda text: split.append(text) or real_split(text))
    os.utime(root / "seeds" / "entities.yml", None)
    run_build(Project(root), Options(), site=False, warm=warm)
    assert split == []


def test_a_warm_up_without_a_build_makes_the_first_save_warm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`digest serve` whose first build had nothing to do warms up by
    checking the seeds (pipeline.warm_up): the build after the first save
    reads only the file saved and the registries."""
    from digest.pipeline import Options, Project, Warm, run_build, warm_up
    from digest.reading import Folder

    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    assert run("build", "--root", str(root))[0] == EXIT_OK
    time.sleep(1.1)  # the seeds settle (load.SETTLED_NS)
    warm = Warm()
    assert run_build(Project(root), Options(), site=False, warm=warm).report is None  # nothing to do, nothing read
    assert warm.memo is None and not warm.files
    warm_up(Project(root), Options(), warm)
    assert warm.memo is not None and "alpha.yml" in warm.files
    read: list[str] = []
    real = Folder.read
    monkeypatch.setattr(Folder, "read", lambda self, name, limit: read.append(name) or real(self, name, limit))
    touch_a_seed(root, "A title saved in serve")
    assert run_build(Project(root), Options(), warm=warm).how.startswith("incremental build:")
    assert sorted(read) == ["alpha.yml", "entities.yml", "sources.yml"]


def test_a_warm_build_saves_the_memo_once_the_hosted_edition_is_live(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """`digest serve` keeps its memo in memory; the file, for the next new
    process, is written by a child forked after the hosted edition went
    live (pickling beside MkDocs slowed the page), and before the build
    ends. A new process then reads it."""
    from digest import pipeline
    from digest.pipeline import Options, Project, Warm, run_build

    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    assert run("build", "--root", str(root))[0] == EXIT_OK
    events: list[str] = []
    real = pipeline.in_child
    monkeypatch.setattr(pipeline, "in_child", lambda work: events.append("forked") or real(work))
    memo_file = root / MEMO_FILE
    before = memo_file.stat().st_mtime_ns
    touch_a_seed(root, "A title saved in serve")
    built = run_build(Project(root), Options(), warm=Warm(), live=lambda pages: events.append("live"))
    assert built.how.startswith("incremental build:")
    assert events == ["live", "forked"]
    assert memo_file.stat().st_mtime_ns != before  # written by the time the build returned
    # A build outside serve forks before its editions are built.
    events.clear()
    touch_a_seed(root, "A title saved by digest build")
    assert run_build(Project(root), Options(), live=lambda pages: events.append("live")).how.startswith(
        "incremental build:")
    assert events == ["forked", "live"]
    touch_a_seed(root, "A title for a new process")
    code, out, _ = run("generate", "--root", str(root))
    assert code == EXIT_OK and "reused what the last run learned" in out

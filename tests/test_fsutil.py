"""A staged tree begun from the tree an earlier run swapped out (a spare)
is the live tree, whatever state the spare was left in; a file written by
copying parts of another (a splice) holds exactly the bytes given."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from digest.fsutil import LinkedCopy, Splice, identity, spare_of, splice, swap_in, write_unlinked

NAMES = ["a.html", "b.js", "sub", "sub/c.html", "sub/deep", "sub/deep/d.txt", "e"]


def _make_live(live: Path) -> None:
    for name in ("a.html", "b.js", "sub/c.html", "sub/deep/d.txt", "e"):
        path = live / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"live {name}\n", encoding="utf-8")


def _linked_spare(live: Path, spare: Path) -> None:
    """What swap_in leaves: the previous tree, every file a link to the live one's."""
    spare.mkdir()
    for path in sorted(live.rglob("*")):
        target = spare / path.relative_to(live)
        if path.is_dir():
            target.mkdir(parents=True)
        else:
            os.link(path, target)


def _damage(spare: Path, how: str, name: str) -> None:
    """One way a spare differs from the live tree: a run changed or removed
    a file there, added one, a directory stands where a file does, or a run
    killed half-way left a part."""
    path = spare / name
    if how == "replace" and path.is_file():
        path.unlink()
        path.write_text("an older version\n", encoding="utf-8")
    elif how == "remove" and path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif how == "extra" and path.parent.is_dir():
        (path.parent / f"extra-{path.name}").write_text("not live\n", encoding="utf-8")
    elif how == "dir-for-file" and path.is_file():
        path.unlink()
        (path / "inside").mkdir(parents=True)
    elif how == "file-for-dir" and path.is_dir():
        shutil.rmtree(path)
        path.write_text("a file\n", encoding="utf-8")
    elif how == "symlink" and path.is_file():
        path.unlink()
        path.symlink_to("/etc/passwd")


def _tree(folder: Path) -> dict[str, tuple[str, int | None]]:
    """Each entry's kind and, for a file, its inode."""
    found: dict[str, tuple[str, int | None]] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[rel] = ("link", None)
        elif path.is_dir():
            found[rel] = ("dir", None)
        else:
            found[rel] = ("file", path.stat().st_ino)
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(st.sampled_from(["replace", "remove", "extra", "dir-for-file", "file-for-dir",
                                                  "symlink"]), st.sampled_from(NAMES)), max_size=6),
       no_spare=st.booleans())
@example(damage=[], no_spare=False)
@example(damage=[("remove", "sub")], no_spare=False)
def test_a_staged_tree_begun_from_a_spare_is_the_live_tree(tmp_path_factory: pytest.TempPathFactory,
                                                          damage: list[tuple[str, str]], no_spare: bool) -> None:
    base = tmp_path_factory.mktemp("spare")
    live, spare, folder = base / "site", spare_of(base / "site"), base / ".site.building-1"
    _make_live(live)
    if not no_spare:
        _linked_spare(live, spare)
        for how, name in damage:
            _damage(spare, how, name)
    folder.mkdir()
    copy = LinkedCopy(live, folder, spare)
    assert copy.ready() == folder
    assert copy.reused == (not no_spare)
    assert not spare.exists()
    # The same entries, each file the live file itself (a hard link), so
    # that writing a changed file (unlinked first) cannot reach the live one.
    assert _tree(folder) == _tree(live)
    assert all((folder / rel).read_bytes() == (live / rel).read_bytes()
               for rel, (kind, _) in _tree(live).items() if kind == "file")


def test_swap_in_keeps_the_previous_tree_as_the_spare_when_its_name_is_free(tmp_path: Path) -> None:
    live, new = tmp_path / "site", tmp_path / ".site.building-1"
    _make_live(live)
    before = _tree(live)
    shutil.copytree(live, new)
    (new / "a.html").write_text("new\n", encoding="utf-8")
    swap_in(new, live, spare=spare_of(live))
    assert (live / "a.html").read_text(encoding="utf-8") == "new\n"
    assert not new.exists()
    assert _tree(spare_of(live)) == before  # the previous tree, as it was
    # The name is taken: the previous tree is deleted, the spare left alone.
    again = tmp_path / ".site.building-2"
    shutil.copytree(live, again)
    swap_in(again, live, spare=spare_of(live))
    assert _tree(spare_of(live)) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.spare", "site"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=8),
       inserts=st.lists(st.binary(max_size=50), min_size=8, max_size=8), changed=st.booleans())
def test_a_spliced_write_holds_exactly_the_new_bytes(tmp_path: Path, old: bytes, cuts: list[int],
                                                      inserts: list[bytes], changed: bool) -> None:
    """What pages.js patching does: keep the old file's bytes between the
    edits, copied by the kernel. When the source is no longer the file that
    was read (``changed``), the bytes are written whole, never a mix."""
    source, target = tmp_path / "old.js", tmp_path / "new.js"
    target.unlink(missing_ok=True)
    source.write_bytes(old)
    known = identity(os.stat(source))
    # Pairs of cut points: each range between them replaced by an insert.
    edges = sorted(min(c, len(old)) for c in cuts)
    edits = [(a, b, insert) for a, b, insert in zip(edges[::2], edges[1::2], inserts, strict=False)]
    new, runs = splice(old, edits)
    expected, at = b"", 0
    for a, b, insert in edits:
        expected += old[at:a] + insert
        at = b
    assert new == expected + old[at:]
    if changed:
        os.unlink(source)
        source.write_bytes(bytes(255 - b for b in old) + b"!")  # another file (its size too)
    write_unlinked(target, new, Splice(source, known, runs))
    assert target.read_bytes() == new

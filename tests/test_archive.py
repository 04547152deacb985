"""The offline edition's zip: deterministic, in order, whole or absent."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from digest.archive import ZIP_DATE, entry_order, zip_tree, zipping
from digest.problems import BuildFailed


def _tree(root: Path) -> Path:
    for name, text in {"index.html": "<p>home</p>", "a-b/x.html": "dash", "a/b/y.js": "slash" * 1000,
                       "a/z.css": "z", "search/search_index.js": "var", "search/search_index.json": "{}"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_a_folder_zips_to_the_same_bytes_every_time(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "site")
    zip_tree(folder, tmp_path / "one.zip")
    (folder / "a/z.css").touch()  # file times do not reach the zip
    zip_tree(folder, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        infos = zf.infolist()
        # By path component, as sorted() orders paths: a/... before a-b/... ('/' sorts after '-').
        assert [i.filename for i in infos] == ["a/b/y.js", "a/z.css", "a-b/x.html", "index.html",
                                               "search/search_index.js", "search/search_index.json"]
        assert {(i.date_time, i.compress_type, i.external_attr >> 16) for i in infos} == {
            (ZIP_DATE, zipfile.ZIP_DEFLATED, 0o644)}
        assert zf.read("a/b/y.js") == b"slash" * 1000
        assert zf.testzip() is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.zip", "site", "two.zip"]


def test_entries_out_of_order_are_refused_and_nothing_is_left(tmp_path: Path) -> None:
    assert entry_order("a/b") < entry_order("a-b") < entry_order("b")
    folder = _tree(tmp_path / "site")
    with pytest.raises(ValueError, match="out of order"), zipping(folder, tmp_path / "x.zip") as writer:
        writer.add("index.html")
        writer.add("a/z.css")
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_file_that_cannot_be_zipped_fails_the_zip_and_leaves_the_old_one(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "site")
    target = tmp_path / "offline.zip"
    target.write_bytes(b"the previous zip")
    with pytest.raises(BuildFailed, match=r"offline\.zip failed: FileNotFoundError"), zipping(folder, target) as writer:
        writer.add("a/z.css")
        writer.add("gone.html")  # named, but not there
        for i in range(5000):  # the failed child must not leave add() waiting on a full pipe
            writer.add(f"x/{i:05}-{'long' * 10}.html")
    assert target.read_bytes() == b"the previous zip"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["offline.zip", "site"]


def test_the_zip_gets_the_permissions_of_any_new_file(tmp_path: Path) -> None:
    folder = _tree(tmp_path / "site")
    zip_tree(folder, tmp_path / "offline.zip")
    (tmp_path / "plain").write_bytes(b"")
    assert (tmp_path / "offline.zip").stat().st_mode == (tmp_path / "plain").stat().st_mode

"""The search index updated for changed pages equals the index built afresh.

searchindex.update_index rewrites only the shard lines of the terms that
changed documents hold or held; a clean build indexes every page. Random
edits (a title, a text, a page added or removed, a hand-written page
changed) with ids crowded together, so that collisions move documents,
each followed by both, compared byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from digest import searchindex
from digest.problems import BuildFailed
from digest.render.search import pages_script
from digest.searchindex import IndexBuild, update_index, write_search_index

from .conftest import REPO

WORDS = ["alpha", "beta", "gamma", "delta", "Ёлка", "北京市长", "İstanbul", "x9", "zeta", "omega", "kaan", "baku"]


def page(i: int, version: int = 0) -> dict[str, Any]:
    words = [WORDS[(i * j + version) % len(WORDS)] for j in range(1 + i % 7)]
    return {"src": f"digest/articles/{i:04}.md", "title": f"{WORDS[i % 5]} {i}" + (f" v{version}" if version else ""),
            "terms": WORDS[(i * 3) % len(WORDS)], "text": " ".join(words), "snippet": f"s{i}", "tags": []}


class Project:
    """A folder with pages.js, the hand-written pages' Material index and a site."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "node_modules").symlink_to(REPO / "node_modules")
        self.pages = root / "pages.js"
        self.hand = root / "hand"  # where MkDocs would have built the hand-written pages
        self.site = root / "site"
        (self.hand / "search").mkdir(parents=True)
        (self.site / "search").mkdir(parents=True)

    def write(self, pages: dict[int, dict[str, Any]], hand: dict[str, str]) -> None:
        self.pages.write_bytes(pages_script([pages[i] for i in sorted(pages)]))
        material = json.dumps({"config": {"lang": ["en"]}, "docs": [
            {"location": where, "title": where, "text": f"<p>{text}</p>"} for where, text in sorted(hand.items())]})
        (self.hand / "search" / "search_index.json").write_text(material, encoding="utf-8")
        shutil.copy(self.hand / "search" / "search_index.json", self.site / "search" / "search_index.json")

    def clean(self) -> None:
        build = IndexBuild(self.pages, self.root, directory_urls=False)
        write_search_index(self.site, build.finish(self.hand))

    def update(self, ahead: bool = False) -> str:
        """update_index; ``ahead``: in its two parts, Node started first (as update_editions does)."""
        live = self.site / "search" / "digest_index.js"
        if ahead:
            before = searchindex.read_previous(self.root, self.pages, live, directory_urls=False)
            assert before is not None
            builder = searchindex.start_builder(self.root)
            assert builder is not None
            try:
                done = searchindex.update_from(self.root, before, self.hand, builder=builder)
            finally:
                builder.stop()
            assert done is not None
            # Until its record is written (once the hosted edition is live),
            # the folder is not the cache's index.
            assert searchindex._latest(self.root / ".digest-cache") != done.folder
            done.record()
        else:
            done = update_index(self.root, self.pages, self.hand, live, directory_urls=False)
        assert done is not None
        write_search_index(self.site, done.folder, done.changed, done.removed)
        # The record as this process knows it (searchindex._known) is the
        # record read back from the files.
        assert done.folder in searchindex._known
        known = dict(searchindex._known)
        remembered = searchindex.read_previous(self.root, self.pages, live, directory_urls=False)
        searchindex._known.clear()
        assert remembered == searchindex.read_previous(self.root, self.pages, live, directory_urls=False) is not None
        searchindex._known.update(known)
        return f"{done.documents} documents, shards {sorted(done.changed)} changed, {sorted(done.removed)} removed"

    def files(self) -> dict[str, bytes]:
        return {p.relative_to(self.site).as_posix(): p.read_bytes()
                for p in sorted((self.site / "search").rglob("*")) if p.is_file()}

    def kept(self) -> dict[str, bytes]:
        """The index folder kept for the next update (vectors, header, record)."""
        folder = searchindex._latest(self.root / ".digest-cache")
        assert folder is not None
        # But for the files' identities on this disk (inode, time), not their content.
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and p.name != searchindex.IDENTITIES}


def edit(pages: dict[int, dict[str, Any]], hand: dict[str, str], kind: str, k: int) -> None:
    keys = sorted(pages)
    if kind == "title":
        pages[keys[k % len(keys)]]["title"] = f"retitled {WORDS[k % len(WORDS)]} {k}"
    elif kind == "text":
        pages[keys[k % len(keys)]] = page(keys[k % len(keys)], 1 + k % 5)
    elif kind == "add":
        pages[1000 + k % 500] = page(1000 + k % 500, k % 3)
    elif kind == "remove" and len(keys) > 3:
        del pages[keys[k % len(keys)]]
    elif kind == "hand":
        hand[f"guide/p{k % 3}.html"] = f"handbook {WORDS[k % len(WORDS)]} {k}"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from(["title", "text", "add", "remove", "hand"]), st.integers(0, 10**6)),
                      min_size=1, max_size=4))
# Found by this test: removing a page moves another along its chain of
# collisions, whose own text did not change.
@example(steps=[("remove", 1)])
@example(steps=[("title", 1), ("add", 3), ("hand", 5)])  # Node started ahead each time
def test_updated_index_equals_the_index_built_afresh(steps: list[tuple[str, int]], tmp_path_factory: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 pages in 128 ids: collisions are common, and chains move documents.
    monkeypatch.setattr(searchindex, "MIN_SPACE", 64)
    monkeypatch.setattr(searchindex, "SPREAD", 3)
    work = tmp_path_factory.mktemp("index")
    pages = {i: page(i) for i in range(40)}
    hand = {"index.html": "home alpha", "guide/p0.html": "handbook"}
    live = Project(work / "live")
    live.write(pages, hand)
    live.clean()
    for kind, k in steps:
        space = searchindex.id_space(len(pages))
        edit(pages, hand, kind, k)
        live.write(pages, hand)
        if searchindex.id_space(len(pages)) != space:  # every id changes: update_index declines
            assert update_index(live.root, live.pages, live.hand, live.site / "search" / "digest_index.js",
                                directory_urls=False) is None
            return
        said = live.update(ahead=k % 2 == 1)
        fresh = Project(work / f"fresh-{kind}-{k}")
        fresh.write(pages, hand)
        fresh.clean()
        assert live.files() == fresh.files(), said
        assert live.kept() == fresh.kept(), said  # so that the next update starts from what a clean build keeps
        shutil.rmtree(fresh.root)


def test_update_declines_without_a_previous_index_or_when_the_ids_must_change(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searchindex, "MIN_SPACE", 64)
    monkeypatch.setattr(searchindex, "SPREAD", 3)
    live = Project(tmp_path / "live")
    pages = {i: page(i) for i in range(20)}
    hand = {"index.html": "home"}
    live.write(pages, hand)
    (live.site / "search" / "digest_index.js").write_text("self.__digestSearch = {};\n", encoding="utf-8")
    assert update_index(live.root, live.pages, live.hand, live.site / "search" / "digest_index.js",
                        directory_urls=False) is None  # no previous index
    live.clean()
    index = live.site / "search" / "digest_index.js"
    # An index the live edition was not written from (edited by hand): declined.
    index.write_bytes(index.read_bytes().replace(b"s1", b"s-edited"))
    assert update_index(live.root, live.pages, live.hand, index, directory_urls=False) is None
    live.clean()
    pages.update({i: page(i) for i in range(20, 30)})  # 30 pages need 90 ids: the space doubles to 128
    live.write(pages, hand)
    assert update_index(live.root, live.pages, live.hand, index, directory_urls=False) is None
    # The edition's shards and result list are the cache's files, linked,
    # not written again: one edited in place is edited in both, and declined.
    live.clean()
    folder = searchindex._latest(live.root / ".digest-cache")
    assert folder is not None
    shard = sorted((live.site / "search" / "shards").glob("*.js"))[0]
    assert os.path.samefile(shard, folder / "shards" / shard.name)
    assert os.path.samefile(index, folder / searchindex.INDEX_SCRIPT)
    assert update_index(live.root, live.pages, live.hand, index, directory_urls=False) is not None
    live.clean()
    with shard.open("r+b") as f:  # in place, as an editor may save
        f.seek(len(shard.read_bytes()) - 4)
        f.write(b"z")
    assert update_index(live.root, live.pages, live.hand, index, directory_urls=False) is None
    # One page changed: updated, one document indexed again.
    live.clean()
    pages[3]["title"] = "zeta retitled"
    live.write(pages, hand)
    assert live.update().startswith("1 documents")
    # A bucket of vectors the update needs is gone: declined.
    folder = searchindex._latest(live.root / ".digest-cache")
    assert folder is not None
    pages[3]["title"] = "zeta retitled again"
    live.write(pages, hand)
    record = json.loads((folder / searchindex.RECORD).read_text(encoding="utf-8"))
    doc_id = next(d[1] for d in record["docs"] if d[0] == "digest/articles/0003")
    (folder / searchindex.VECTORS / searchindex._bucket(doc_id)).unlink()
    assert update_index(live.root, live.pages, live.hand, index, directory_urls=False) is None


def _encoded(freqs: dict[int, int]) -> str:
    """build-index.mjs' postings for ``freqs`` (document id -> frequency)."""
    def b36(n: int) -> str:
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"
        out = ""
        while True:
            n, r = divmod(n, 36)
            out = digits[r] + out
            if not n:
                return out
    parts, previous = [], 0
    for doc in sorted(freqs):
        parts.append(b36(doc - previous) + ("" if freqs[doc] == 1 else "*" + b36(freqs[doc])))
        previous = doc
    return ",".join(parts)


@settings(max_examples=300, deadline=None)
@given(before=st.dictionaries(st.integers(0, 100_000), st.integers(1, 50), max_size=40),
       edits=st.dictionaries(st.integers(0, 100_000), st.none() | st.integers(1, 50), min_size=1, max_size=6),
       reuse=st.lists(st.integers(0, 39), max_size=4))
def test_patched_postings_equal_the_postings_encoded_afresh(before: dict[int, int], edits: dict[int, int | None],
                                                            reuse: list[int]) -> None:
    # Edits of documents already listed, as well as of new ones.
    for k in reuse:
        if before:
            edits[sorted(before)[k % len(before)]] = None if k % 2 else k
    after = {**before, **{d: f for d, f in edits.items() if f is not None}}
    for doc, frequency in edits.items():
        if frequency is None:
            after.pop(doc, None)
    assert searchindex._patch_postings(_encoded(before), edits) == _encoded(after)


def test_a_full_build_reuses_no_index_whose_documents_differ(tmp_path: Path) -> None:
    """A full build takes the last full build's index when Node would be
    given the same input (IndexBuild), but the record and the result list
    hold more than Node's input: what a result shows (a snippet) and each
    document's key, which the next update matches lines by. Either
    changed: indexed afresh, as a clean build would."""
    pages = {i: page(i) for i in range(20)}
    hand = {"index.html": "home"}
    live = Project(tmp_path / "live")
    live.write(pages, hand)
    live.clean()
    pages[3]["snippet"] = "a snippet edited"  # shown in the results, not indexed
    live.write(pages, hand)
    live.clean()
    fresh = Project(tmp_path / "fresh")
    fresh.write(pages, hand)
    fresh.clean()
    assert live.files() == fresh.files() and live.kept() == fresh.kept()
    # The same documents under new keys (a new version of the generator
    # salts every key): the record holds the new keys.
    keyed = {i: {"k": f"{i:032x}", **doc} for i, doc in pages.items()}
    live.write(keyed, hand)
    live.clean()
    shutil.rmtree(fresh.root)
    fresh = Project(tmp_path / "fresh")
    fresh.write(keyed, hand)
    fresh.clean()
    assert live.files() == fresh.files() and live.kept() == fresh.kept()


def test_node_started_ahead_that_fails_says_why(tmp_path: Path) -> None:
    """A Builder whose Node cannot load MiniSearch: the update fails with Node's own message."""
    builder = searchindex.Builder("node", tmp_path / "missing" / "index.js")
    with pytest.raises(BuildFailed, match=r"building the search index failed: (.|\n)*missing"):
        builder.run([b'{"id": 1, "title": "t", "terms": "", "text": "x"}\n'], tmp_path / "out")
    builder.stop()
    assert not (tmp_path / "out").exists()


@given(st.lists(st.sampled_from([b'{"k": "' + b"0123456789abcdef" * 2 + b'", "src": "a"}', b'{"src": "b"}',
                                 b'{"k": "short"}', b"var x = [", b"]", b"", b"{}", b'{"k": "' + b"f" * 32 + b"x"]),
                max_size=12),
       st.lists(st.integers(0, 2), max_size=12), st.booleans())
def test_the_lines_found_in_pages_js_read_at_once_are_those_read_one_by_one(
        lines: list[bytes], commas: list[int], last_break: bool) -> None:
    """read_previous finds each document's line, and its id, in the file
    read at once; _raw_pages, which a full build uses, reads them one at a
    time."""
    text = b"\n".join(line + b"," * (commas[k] if k < len(commas) else 1) for k, line in enumerate(lines))
    text += b"\n" if last_break and lines else b""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pages.js"
        path.write_bytes(text)
        expected = list(searchindex._raw_pages(path))
    spans = list(searchindex._page_spans(text))
    assert [text[a:b] for a, b in spans] == expected
    assert [searchindex._span_id(text, a, b) for a, b in spans] == [searchindex._line_id(x) for x in expected]

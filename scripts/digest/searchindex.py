"""The digest's search index, built with the site by Node.

Material's search plugin leaves the indexing to the browser, on every page
load, which takes seconds at a few thousand articles. Here the generated
pages' text (written by the generator as digest/assets/search/pages.js) and
Material's entries for the hand-written pages become one document per page,
and Node builds a MiniSearch index from them, while MkDocs runs (see
IndexBuild), once for both editions.

The index is then split by the first character of each term: the browser
loads the small header with the result list up front (search/digest_index.js)
and, per query, only the shards its words start with (search/shards/, in the
compact form build-index.mjs describes). At 2,000 articles the whole index is
4.6 MB; a query needs about a tenth of it.
Material's own index file keeps only its configuration, which its search box
still reads.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from digest.fsutil import give_back_memory, tied_to_this_process
from digest.problems import BuildFailed
from digest.render.search import SEARCH_PAGES as PAGES
from digest.render.search import SNIPPET

BUILDER = Path(__file__).resolve().parent / "assets" / "build-index.mjs"
ENGINE = Path("node_modules/minisearch/dist/es/index.js")  # under the project root
SHOWN: Final = ("title", "snippet", "tags")  # a generated document's fields in the result list, with its location
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")


def _plain(text: str) -> str:
    return _WS.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def location(src: str, directory_urls: bool) -> str:
    """The URL (relative to the site) MkDocs gives the page built from ``src``."""
    stem = src[: -len(".md")]
    if not directory_urls:
        return stem + ".html"
    if stem == "index":
        return ""
    return (stem[: -len("index")] if stem.endswith("/index") else stem + "/")


def _key(location: str) -> str:
    """A page's identity in either edition: its address without .html or '/'."""
    stem = location[: -len(".html")] if location.endswith(".html") else location.rstrip("/")
    return stem[: -len("/index")] if stem.endswith("/index") else ("" if stem == "index" else stem)


def shard_of(term: str) -> str:
    """Which shard holds a term. build-index.mjs (shardOf) and the worker
    (searchShard) compute the same; the tests hold all three to it."""
    first = term[0]
    return first if ("a" <= first <= "z" or "0" <= first <= "9") else f"u{ord(first) >> 8:x}"


def decode_shard(text: str) -> list[tuple[str, dict[int, dict[int, int]]]]:
    """A shard's terms as MiniSearch's toJSON() entries ([term, {field: {doc:
    frequency}}]). The format is described in build-index.mjs; the worker
    (loadShard) reads it the same way."""
    entries = []
    for line in text.split("\n"):
        term, *fields = line.split("\t")
        data: dict[int, dict[int, int]] = {}
        for field in fields:
            field_id, _, postings = field.partition(":")
            freqs: dict[int, int] = {}
            doc = 0
            for posting in postings.split(","):
                delta, _, frequency = posting.partition("*")
                doc += int(delta, 36)
                freqs[doc] = int(frequency, 36) if frequency else 1
            data[int(field_id, 36)] = freqs
        entries.append((term, data))
    return entries


def _pages(pages_file: Path) -> Iterator[dict[str, Any]]:
    """The documents of pages.js, one at a time: the generator writes one a
    line (render.search.pages_script), so that all the text is never held
    here at once, as one string or as objects."""
    if not pages_file.exists():
        return
    with pages_file.open("rb") as f:
        for line in f:
            line = line.rstrip(b"\n").rstrip(b",")
            if line.startswith(b"{"):
                yield json.loads(line)


def generated_documents(pages_file: Path, directory_urls: bool) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The generated pages' documents, from the text the generator wrote for
    them (digest/assets/search/pages.js), in index order: what the result
    list shows of each, and Node's input for them (see :func:`_payload`).

    Read a document at a time, the text kept only as Node's input, in UTF-8:
    holding the documents whole through the build, beside MkDocs and Node,
    took 1.2 GB at 10,000 long articles.
    """
    records: list[tuple[str, dict[str, Any], bytes]] = []
    for page in _pages(pages_file):
        where = location(page["src"], directory_urls)
        shown: dict[str, Any] = {"location": where, **{k: page[k] for k in SHOWN if k in page}}
        records.append((_key(where), shown, _fields(page)))
    records.sort(key=lambda r: r[0])
    return [shown for _, shown, _ in records], [_line(i, fields) for i, (_, _, fields) in enumerate(records)]


def hand_written_documents(site: Path, generated: set[str]) -> list[dict[str, Any]]:
    """One document per hand-written page, merged from Material's per-section
    entries (the generated pages at ``generated`` are skipped)."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    merged: dict[str, dict[str, Any]] = {}
    for doc in index["docs"]:
        where = doc["location"].split("#", 1)[0]
        if where in generated:
            continue
        page = merged.setdefault(where, {"location": where, "title": _plain(doc["title"]), "terms": "", "text": "",
                                         "tags": []})
        page["text"] += " " + _plain(doc["text"])
    for page in merged.values():
        page["text"] = page["text"].strip()
        page["snippet"] = page["text"][:SNIPPET]
    return sorted(merged.values(), key=lambda d: _key(d["location"]))


def _fields(doc: dict[str, Any]) -> bytes:
    """What Node indexes of a document, as JSON. Tabs become spaces:
    MiniSearch does not split words at a tab, nobody types one into a search
    box, and the shard format uses them."""
    return json.dumps({"title": doc["title"].replace("\t", " "), "terms": doc["terms"].replace("\t", " "),
                       "text": doc["text"].replace("\t", " ")}, ensure_ascii=False).encode("utf-8")


def _line(number: int, fields: bytes) -> bytes:
    """A line of Node's input: the bytes of ``json.dumps`` of the document
    numbered ``number`` (its id first)."""
    return b'{"id": %d, ' % number + fields[1:] + b"\n"


def _payload(docs: list[dict[str, Any]], first_id: int) -> list[bytes]:
    """Node's input: one JSON document a line (JSON Lines), which Node parses
    and indexes one at a time. As one JSON text, Node held all of it as one
    string and again as objects, and this process as one string too: at
    10,000 long articles (160 MB of text) Node peaked at 2.4 GB, against
    1.5 GB a line at a time. (``json.dumps`` escapes line breaks inside
    strings, and UTF-8 never holds the byte of one inside a character.)"""
    return [_line(first_id + i, _fields(d)) for i, d in enumerate(docs)]


def _hash(lines: list[bytes]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line)
    return h.hexdigest()[:16]


class IndexBuild:
    """The Node builder, started on the generated pages before MkDocs runs.

    Almost every document is a generated page, known before MkDocs starts, so
    Node indexes those while MkDocs builds the site (two cores: the index no
    longer adds its time to the build's). The hand-written pages' text is
    known only once MkDocs has built them; it goes to Node's standard input
    and is added last. The result is cached under both parts' hashes: the
    second edition's build finds it and runs no Node at all.
    """

    def __init__(self, pages_file: Path, project_root: Path, *, directory_urls: bool, node: str = "node") -> None:
        engine = project_root / ENGINE
        if not engine.is_file():
            raise BuildFailed(f"{ENGINE} is missing: run 'make setup' (it runs 'npm ci') first")
        if shutil.which(node) is None:
            raise BuildFailed("Node.js is needed to build the search index: install it (Debian: apt-get install nodejs)")
        self.engine, self.node = engine, node
        self.pages_file, self.directory_urls = pages_file, directory_urls
        self.cache = project_root / ".digest-cache"
        self.generated, payload = generated_documents(pages_file, directory_urls)
        self.first_hash = _hash(payload)
        self.proc: subprocess.Popen[bytes] | None = None
        self.work = self.cache / f"search-{self.first_hash}.building"
        if not any(self.cache.glob(f"search-{self.first_hash}-*/header.json")):
            self._start(payload)
        # else most likely the same index as last time: finish() decides.
        del payload
        give_back_memory()

    def _start(self, payload: list[bytes]) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        source = self.work / "docs.jsonl"
        with source.open("wb") as f:
            f.writelines(payload)
        # Dies with us, like MkDocs: a killed build leaves no Node behind.
        with (self.work / "node.err").open("wb") as err:
            self.proc = subprocess.Popen([self.node, str(BUILDER), str(self.engine), str(source), str(self.work)],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                         preexec_fn=tied_to_this_process())

    def finish(self, site: Path) -> tuple[list[dict[str, Any]], Path]:
        """Add the hand-written pages, wait for Node; the documents in index
        order and the folder holding header.json and shards/."""
        hand = hand_written_documents(site, {d["location"] for d in self.generated})
        docs = self.generated + hand
        extra = _payload(hand, len(self.generated))
        done = self.cache / f"search-{self.first_hash}-{_hash(extra)}"
        if (done / "header.json").exists():
            self.stop()
            return docs, done
        if self.proc is None:  # the cached index was for other hand-written pages
            self._start(generated_documents(self.pages_file, self.directory_urls)[1])
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"".join(extra))
            self.proc.stdin.close()
        except BrokenPipeError:
            pass  # Node failed already; its message follows
        code = self.proc.wait()
        self.proc = None
        if code != 0:
            message = (self.work / "node.err").read_text(encoding="utf-8", errors="replace").strip()
            shutil.rmtree(self.work, ignore_errors=True)
            raise BuildFailed(f"building the search index failed: {message[-2000:]}")
        (self.work / "docs.jsonl").unlink()
        (self.work / "node.err").unlink()
        for old in self.cache.glob("search-*"):  # one edition's build feeds the other; keep the latest only
            if old != self.work:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        self.work.rename(done)
        return docs, done

    def stop(self) -> None:
        """Stop Node if it still runs (MkDocs failed, or the index was cached)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.work, ignore_errors=True)


# How the index's two kinds of file begin: a fixed assignment of one JSON
# value (the worker reads these names). The guard recognises the same shapes.
INDEX_ASSIGN: Final = "self.__digestSearch = "
SHARD_ASSIGN: Final = "(self.__digestShards = self.__digestShards || {{}})[{name}] = "  # name: a JSON string


def write_search_index(site: Path, docs: list[dict[str, Any]], built: Path) -> None:
    """Replace Material's browser-side indexing with the prebuilt, sharded index."""
    shards = sorted(p.stem for p in (built / "shards").glob("*.txt"))
    display = [[d["location"], d["title"], d["snippet"], d.get("tags") or []] for d in docs]
    # Indexes travel as JSON strings: browsers parse JSON faster than script literals.
    (site / "search" / "digest_index.js").write_text(
        INDEX_ASSIGN + "{\"docs\": " + json.dumps(display, ensure_ascii=True) + ", \"header\": "
        + json.dumps((built / "header.json").read_text(encoding="utf-8"), ensure_ascii=True) + ", \"shards\": "
        + json.dumps(shards) + "};\n", encoding="utf-8")
    folder = site / "search" / "shards"
    folder.mkdir()
    for name in shards:
        entries = (built / "shards" / f"{name}.txt").read_text(encoding="utf-8")
        (folder / f"{name}.js").write_text(
            SHARD_ASSIGN.format(name=json.dumps(name)) + json.dumps(entries, ensure_ascii=True) + ";\n",
            encoding="utf-8")
    (site / PAGES).unlink(missing_ok=True)  # its text is in the index now
    material = site / "search" / "search_index.json"
    config = json.loads(material.read_text(encoding="utf-8"))
    config["docs"] = []
    material.write_text(json.dumps(config), encoding="utf-8")
    inline = site / "search" / "search_index.js"
    if inline.exists():  # the offline plugin's copy for file://
        inline.write_text(f"var __index = {json.dumps(config)}", encoding="utf-8")

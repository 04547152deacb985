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

import bisect
import hashlib
import html
import itertools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Final

from digest.fsutil import (
    atomic_write,
    give_back_memory,
    identity,
    link_unlinked,
    tied_to_this_process,
    write_unlinked,
)
from digest.names import CACHE
from digest.problems import BuildFailed
from digest.render.search import KEYED_LINE, SNIPPET
from digest.render.search import SEARCH_PAGES as PAGES

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


def _raw_pages(pages_file: Path) -> Iterator[bytes]:
    """The lines of pages.js that hold a document, as bytes."""
    if not pages_file.exists():
        return
    with pages_file.open("rb") as f:
        for line in f:
            line = line.rstrip(b"\n").rstrip(b",")
            if line.startswith(b"{"):
                yield line


def _pages(pages_file: Path) -> Iterator[tuple[bytes, dict[str, Any]]]:
    """The documents of pages.js, one at a time, with their line: the
    generator writes one a line (render.search.pages_script), so that all the
    text is never held here at once, as one string or as objects."""
    for line in _raw_pages(pages_file):
        yield line, json.loads(line)


def _generated(pages_file: Path, directory_urls: bool) -> list[tuple[str, dict[str, Any], bytes, str]]:
    """Each document of pages.js: its key, what the result list shows, what
    Node indexes (see :func:`_fields`), and the hash of its line."""
    records = []
    for raw, page in _pages(pages_file):
        where = location(page["src"], directory_urls)
        shown: dict[str, Any] = {"location": where, **{k: page[k] for k in SHOWN if k in page}}
        records.append((_key(where), shown, _fields(page), _line_id(raw)))
    return records


def generated_documents(pages_file: Path, directory_urls: bool) -> tuple[list[dict[str, Any]], list[bytes]]:
    """The generated pages' documents, from the text the generator wrote for
    them (digest/assets/search/pages.js), in id order, each with its ``id``
    (:func:`doc_ids`) and what the result list shows of it, and Node's input
    for them (see :func:`_payload`).

    Read a document at a time, the text kept only as Node's input, in UTF-8:
    holding the documents whole through the build, beside MkDocs and Node,
    took 1.2 GB at 10,000 long articles.
    """
    records = _generated(pages_file, directory_urls)
    fields = {key: data for key, _, data, _ in records}
    docs, _ = _with_ids(records, None)
    return docs, [_line(d["id"], fields.pop(d["key"])) for d in docs]


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


def _payload(docs: list[dict[str, Any]]) -> list[bytes]:
    """Node's input: one JSON document a line (JSON Lines), which Node parses
    and indexes one at a time. As one JSON text, Node held all of it as one
    string and again as objects, and this process as one string too: at
    10,000 long articles (160 MB of text) Node peaked at 2.4 GB, against
    1.5 GB a line at a time. (``json.dumps`` escapes line breaks inside
    strings, and UTF-8 never holds the byte of one inside a character.)"""
    return [_line(d["id"], _fields(d)) for d in docs]


def _hash(lines: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line)
    return h.hexdigest()[:16]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _line_id(raw: bytes) -> str:
    """What identifies a line of pages.js: the key of its document, which
    the generator made from everything the line is made of (render.search),
    else the hash of the line (hashing 10,000 lines took 0.1 s)."""
    return _span_id(raw, 0, len(raw))


def _span_id(pages: bytes, start: int, stop: int) -> str:
    """:func:`_line_id` of ``pages[start:stop]``, which it copies only when
    the line carries no key."""
    end = len(KEYED_LINE) + 32
    head = pages[start:min(stop, start + end + 1)]
    if head.startswith(KEYED_LINE) and head[end:end + 1] == b'"':
        return head[len(KEYED_LINE):end].decode("ascii")
    return _digest(pages[start:stop])


def _page_spans(pages: bytes) -> Iterator[tuple[int, int]]:
    """Where each line of pages.js that holds a document begins and ends,
    without its line break and trailing comma (what :func:`_raw_pages`
    yields), in the file read at once."""
    pos, size = 0, len(pages)
    while pos < size:
        end = pages.find(b"\n", pos)
        if end < 0:
            end = size
        stop = end
        while stop > pos and pages[stop - 1] == 0x2C:  # ","
            stop -= 1
        if pages.startswith(b"{", pos):
            yield pos, stop
        pos = end + 1


# Document ids. MiniSearch's ids were the documents' positions, so adding a
# page shifted every later id and changed every shard. Here a document's id
# is a hash of its key, in a space of four ids per generated page (at least
# 65,536, rounded up to a power of two), collisions taking the next free id
# in key order: the same pages always get the same ids, whatever else
# changed, except the few whose chain of collisions a new key joins (those
# are updated like changed pages) and all of them when the space doubles
# (then the index is built afresh). The cost is in the shards' size: larger
# ids and gaps. At 10,000 articles the shards hold 21.8 MB, against 17.2 MB
# with positions as ids and 23.8 MB with sixteen ids a page.
MIN_SPACE: Final = 1 << 16
SPREAD = 4  # ids per generated page (see above); the tests lower it to make collisions common


def id_space(generated: int) -> int:
    space = MIN_SPACE
    while space < SPREAD * generated:
        space <<= 1
    return space


def doc_ids(keys: Iterable[str], space: int, taken: Iterable[int] = ()) -> dict[str, int]:
    """Each key's id in ``space``: its hash, or the next id after it not
    taken, keys taken in sorted order after the ids in ``taken``."""
    used = set(taken)
    ids: dict[str, int] = {}
    keys = sorted(keys)
    if len(used) + len(keys) > space:
        raise BuildFailed(f"more search documents than ids ({space}): hand-written pages outnumber generated ones")
    for key in keys:
        slot = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") & (space - 1)
        while slot in used:
            slot = (slot + 1) & (space - 1)
        used.add(slot)
        ids[key] = slot
    return ids


def _with_ids(generated: list[tuple[str, dict[str, Any], bytes, str]],
              hand: list[dict[str, Any]] | None) -> tuple[list[dict[str, Any]], int]:
    """The documents in id order, generated ones first, each with ``id``,
    ``key`` and ``line`` (the hash of what identifies its content), and the
    id space."""
    space = id_space(len(generated))
    ids = doc_ids([r[0] for r in generated], space)
    docs = sorted(({**shown, "id": ids[key], "key": key, "line": line} for key, shown, _, line in generated),
                  key=lambda d: d["id"])
    if hand is not None:
        docs += _hand_with_ids(hand, space, ids.values())
    return docs, space


def _hand_with_ids(hand: list[dict[str, Any]], space: int, taken: Iterable[int]) -> list[dict[str, Any]]:
    """The hand-written pages' documents in id order, with ``id``, ``key`` and
    ``line`` (the hash of their fields), after the generated pages' ids."""
    ids = doc_ids([_key(d["location"]) for d in hand], space, taken)
    return sorted(({**d, "id": ids[_key(d["location"])], "key": _key(d["location"]), "line": _digest(_fields(d))}
                   for d in hand), key=lambda d: d["id"])


# What a built index's folder holds besides shards/ (each as the editions
# get it, search/shards/<name>.js, which they link: see shard_script):
# each document's term vector (vectors/), the MiniSearch header
# (header.json) and the record of its documents (record.json), which
# update_index() reads. The record is written last: a folder without it
# is not an index.
RECORD: Final = "record.json"
RECORD_VERSION: Final = 4
INDEX_SCRIPT: Final = "digest_index.js"
IDENTITIES: Final = "identities.json"  # see _identities
FIELDS: Final = ("title", "terms", "text")
# The vectors are kept in buckets by document id, the lines of vectors.txt
# (build-index.mjs) in id order: an update reads and writes only the
# buckets of the documents it changes. As one file (99 MB at 10,000
# articles), reading, splitting and writing it again took 0.6 s of every
# update.
VECTORS: Final = "vectors"
BUCKETS: Final = 64


def _bucket(doc_id: int) -> str:
    return f"{doc_id % BUCKETS:02x}.txt"


def _store_vectors(folder: Path, lines: dict[int, bytes], only: Iterable[str] | None = None) -> None:
    """Write the buckets of ``lines`` (every document's vector line, by
    id) into ``folder``: all of them, or those named in ``only``; a bucket
    with no line is not written."""
    buckets: dict[str, list[int]] = {}
    for doc_id in sorted(lines):
        buckets.setdefault(_bucket(doc_id), []).append(doc_id)
    (folder / VECTORS).mkdir(exist_ok=True)
    for name in buckets if only is None else sorted(set(only) & buckets.keys()):
        (folder / VECTORS / name).write_bytes(b"\n".join(lines[i] for i in buckets[name]))


def _read_buckets(folder: Path, names: Iterable[str]) -> dict[int, bytes]:
    """The vector lines, by id, of the named buckets that ``folder`` holds."""
    lines: dict[int, bytes] = {}
    for name in names:
        path = folder / VECTORS / name
        if path.is_file():
            lines.update(_vector_lines(path.read_bytes()))
    return lines


def _lengths(lines: dict[int, bytes]) -> dict[int, list[int]]:
    """Each document's field lengths, from its vector line."""
    lengths: dict[int, list[int]] = {}
    for doc, line in lines.items():
        counts = (line + b"\t").split(b"\t", 2)[1]
        lengths[doc] = [int(n, 36) for n in counts.split(b",")]
    return lengths


def _header(lengths: dict[int, list[int]], space: int) -> str:
    """MiniSearch's serialized index (toJSON) without its terms. The average
    field lengths are plain means (MiniSearch's running average would depend
    on the order the documents came in)."""
    ids = sorted(lengths)
    count = len(ids)
    averages = [sum(lengths[i][f] for i in ids) / count if count else 0 for f in range(len(FIELDS))]
    return json.dumps({
        "documentCount": count, "nextId": space,
        "documentIds": {str(i): i for i in ids},
        "fieldIds": {name: f for f, name in enumerate(FIELDS)},
        "fieldLength": {str(i): lengths[i] for i in ids},
        "averageFieldLength": averages, "storedFields": {}, "dirtCount": 0, "index": [],
        "serializationVersion": 2}, separators=(",", ":"))


def _finish_folder(folder: Path, docs: list[dict[str, Any]], space: int, lengths: dict[int, list[int]],
                   hand: set[str]) -> dict[str, Any]:
    """Write the header (from every document's field ``lengths``) and the
    edition's search/digest_index.js beside the shards and vectors;
    ``hand``: the keys of the hand-written pages. Returns the record, which
    makes the folder an index once written (:func:`_write_record`): at
    once, or (an update) once the hosted edition is live."""
    (folder / "header.json").write_text(_header(lengths, space), encoding="utf-8")
    # As the editions get it (write_search_index): kept here, so that an
    # update tells whether an edition holds this index by comparing bytes
    # (making it again from the record took 0.08 s at 10,000 articles).
    (folder / INDEX_SCRIPT).write_text(_index_script(docs, folder, _shard_names(folder)), encoding="utf-8")
    # What the files are, for telling an edit in place (a fact about this
    # disk, not the index's content: a file of its own, not the record).
    (folder / IDENTITIES).write_text(json.dumps(_identities(folder)), encoding="utf-8")
    return {"version": RECORD_VERSION, "space": space,
            "docs": [[d["key"], d["id"], d["line"], d["key"] in hand,
                      [d["location"], d["title"], d["snippet"], d.get("tags") or []]] for d in docs]}


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    # Escaped to ASCII: the C encoder wrote 6 MB at 10,000 articles in 0.03 s so, 0.05 s otherwise.
    atomic_write(folder / RECORD, json.dumps(record, ensure_ascii=True).encode("ascii"))


def _documents(record: dict[str, Any]) -> dict[str, tuple[int, str, bool, list[Any]]]:
    """A record's documents by key: id, line, hand-written, what the result list shows."""
    return {key: (doc_id, line, hand, shown) for key, doc_id, line, hand, shown in record["docs"]}


def _identities(folder: Path) -> dict[str, list[int]]:
    """The identity (fsutil.identity) of each file of an index's folder
    that the editions link: one written into in place, in the cache or in
    an edition (both are the same file), is then no longer as recorded."""
    names = [INDEX_SCRIPT, *(f"shards/{name}.js" for name in _shard_names(folder))]
    return {name: list(identity(os.stat(folder / name))) for name in names}


def _intact(folder: Path) -> bool:
    """Whether the linked files of an index's folder are as written."""
    try:
        return bool(json.loads((folder / IDENTITIES).read_text(encoding="utf-8")) == _identities(folder))
    except (OSError, ValueError):
        return False


def _latest(cache: Path) -> Path | None:
    found = [p for p in cache.glob("search-*") if (p / RECORD).is_file()]
    return max(found, key=lambda p: (p / RECORD).stat().st_mtime_ns) if found else None


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
        self.cache = project_root / CACHE
        self.generated, payload = generated_documents(pages_file, directory_urls)
        # The index is taken from the cache under this hash (and the
        # hand-written pages'): it covers what Node indexes and, through each
        # line's id, what the record and the result list hold besides (what a
        # result shows, the keys the next update matches lines by).
        self.first_hash = _hash(itertools.chain(payload, (d["line"].encode("ascii") for d in self.generated)))
        self.proc: subprocess.Popen[bytes] | None = None
        self.work = self.cache / f"search-{self.first_hash}.building"
        if not any(self.cache.glob(f"search-{self.first_hash}-*/{RECORD}")):
            self._start(payload)
        # else most likely the same index as last time: finish() decides.
        del payload
        give_back_memory()

    def _start(self, payload: list[bytes]) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        self.proc = run_builder(self.node, self.engine, payload, self.work)

    def finish(self, site: Path) -> Path:
        """Add the hand-written pages, wait for Node; the folder holding the
        index (see _finish_folder)."""
        hand = hand_written_documents(site, {d["location"] for d in self.generated})
        space = id_space(len(self.generated))
        hand = _hand_with_ids(hand, space, (d["id"] for d in self.generated))
        extra = _payload(hand)
        docs = self.generated + [{k: v for k, v in d.items() if k != "text"} for d in hand]
        done = self.cache / f"search-{self.first_hash}-{_hash(extra)}"
        if (done / RECORD).exists() and _intact(done):
            self.stop()
            return done
        if self.proc is None:  # the cached index was for other hand-written pages
            self._start(generated_documents(self.pages_file, self.directory_urls)[1])
        assert self.proc is not None
        finish_builder(self.proc, extra, self.work)
        self.proc = None
        lines = _vector_lines((self.work / "vectors.txt").read_bytes())
        (self.work / "vectors.txt").unlink()
        _script_shards(self.work)
        _store_vectors(self.work, lines)
        _write_record(self.work, _finish_folder(self.work, docs, space, _lengths(lines), {d["key"] for d in hand}))
        del lines
        for old in self.cache.glob("search-*"):  # one edition's build feeds the other; keep the latest only
            if old != self.work:
                shutil.rmtree(old) if old.is_dir() else old.unlink()
        self.work.rename(done)
        return done

    def stop(self) -> None:
        """Stop Node if it still runs (MkDocs failed, or the index was cached)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.work, ignore_errors=True)


def run_builder(node: str, engine: Path, payload: list[bytes], work: Path) -> subprocess.Popen[bytes]:
    """Start build-index.mjs on ``payload`` (more documents follow on its
    standard input: finish_builder), writing into ``work``."""
    source = work / "docs.jsonl"
    with source.open("wb") as f:
        f.writelines(payload)
    # Dies with us, like MkDocs: a killed build leaves no Node behind.
    with (work / "node.err").open("wb") as err:
        return subprocess.Popen([node, str(BUILDER), str(engine), str(source), str(work)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err,
                                preexec_fn=tied_to_this_process())


class Builder:
    """build-index.mjs started before its documents are known (its second
    form): Node starts and loads MiniSearch while MkDocs builds the changed
    pages, instead of after (0.06 s of an edit's update at 10,000
    articles). Used once, by :func:`update_from`; :meth:`stop` ends it
    whether or not it was used."""

    def __init__(self, node: str, engine: Path) -> None:
        self._proc = subprocess.Popen([node, str(BUILDER), str(engine), "-", "-"], stdin=subprocess.PIPE,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      preexec_fn=tied_to_this_process())

    def run(self, payload: list[bytes], work: Path) -> None:
        """Index ``payload`` (Node's input lines) into ``work``."""
        given = json.dumps({"outdir": str(work)}).encode("utf-8") + b"\n" + b"".join(payload)
        try:
            _, err = self._proc.communicate(given)
        except BaseException:
            self.stop()
            raise
        if self._proc.returncode != 0:
            raise _node_failed(err.decode("utf-8", "replace"))

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stderr):
            if stream is not None:
                stream.close()


def start_builder(project_root: Path, node: str = "node") -> Builder | None:
    """A :class:`Builder` for the project, None when it cannot start (the
    update then starts Node itself, and says what is missing)."""
    engine = project_root / ENGINE
    if not engine.is_file():
        return None
    try:
        return Builder(node, engine)
    except OSError:
        return None


def _node_failed(said: str) -> BuildFailed:
    """The error for build-index.mjs ending with a failure: the end of what it said."""
    return BuildFailed(f"building the search index failed: {said.strip()[-2000:]}")


def finish_builder(proc: subprocess.Popen[bytes], extra: list[bytes], work: Path) -> None:
    """Give build-index.mjs its last documents and wait for it."""
    assert proc.stdin is not None
    try:
        proc.stdin.write(b"".join(extra))
        proc.stdin.close()
    except BrokenPipeError:
        pass  # Node failed already; its message follows
    code = proc.wait()
    if code != 0:
        message = (work / "node.err").read_text(encoding="utf-8", errors="replace")
        shutil.rmtree(work, ignore_errors=True)
        raise _node_failed(message)
    (work / "docs.jsonl").unlink()
    (work / "node.err").unlink()


# Updating an index for changed documents, instead of indexing every page
# again: the shards' lines are in an order of their terms alone and the ids
# are stable (doc_ids), so the shards a clean build would write differ from
# the previous ones only in the lines of the terms the changed documents
# hold or held. Node indexes the changed documents alone (their terms, from
# vectors.txt); the old documents' terms come from the previous vectors/.
# tests/test_incremental.py holds the result to a clean build's, byte for byte.

def _utf16(term: str) -> bytes:
    """A term's place in a shard: JavaScript's sort, by UTF-16 code units."""
    return term.encode("utf-16-be")


def _vector(line: bytes) -> dict[tuple[str, int], int]:
    """(term, field) -> frequency, from a line of vectors.txt."""
    out: dict[tuple[str, int], int] = {}
    for part in line.decode("utf-8").split("\t")[2:]:
        field, frequency, term = part.split(":", 2)
        out[(term, int(field, 36))] = int(frequency, 36)
    return out


def _patch_line(line: str | None, term: str, changes: dict[int, dict[int, int | None]]) -> str | None:
    """A shard line with postings set (a frequency) or removed (None), per
    field; None when no posting is left."""
    fields: dict[int, str] = {}
    if line is not None:
        for part in line.split("\t")[1:]:
            name, _, postings = part.partition(":")
            fields[int(name, 36)] = postings
    for field_id, edits in changes.items():
        patched = _patch_postings(fields.get(field_id, ""), edits)
        if patched:
            fields[field_id] = patched
        else:
            fields.pop(field_id, None)
    if not fields:
        return None
    return "\t".join([term, *(f"{_b36(f)}:{fields[f]}" for f in sorted(fields))])


def _patch_postings(postings: str, edits: dict[int, int | None]) -> str:
    """A field's postings (see build-index.mjs) with each document of
    ``edits`` given its frequency, or removed (None). The postings are
    decoded into document ids by C loops (a regular expression, ``int``
    and ``accumulate``), each edited document found by bisection, and only
    the postings whose gap changes are encoded again: a common word's list
    holds thousands (decoding them one by one in Python took 0.25 s of
    an added article's update at 10,000 articles)."""
    parts = postings.split(",") if postings else []
    ids = list(itertools.accumulate(map(int, _GAP.findall(postings), itertools.repeat(36))))
    out: list[str] = []
    emitted = 0  # the id of the last posting in ``out``
    at = 0  # the next posting of ``parts`` to copy

    def copy_to(end: int) -> None:
        """Copy ``parts[at:end]``, the first with its gap from ``emitted``."""
        nonlocal emitted
        if end <= at:
            return
        first = parts[at]
        if emitted == (ids[at - 1] if at else 0):
            out.append(first)
        else:
            star = first.find("*")
            out.append(_b36(ids[at] - emitted) + ("" if star < 0 else first[star:]))
        out.extend(parts[at + 1:end])
        emitted = ids[end - 1]

    for target in sorted(edits):
        found = bisect.bisect_left(ids, target, at)
        copy_to(found)
        at = found + 1 if found < len(ids) and ids[found] == target else found  # its old posting: replaced or removed
        frequency = edits[target]
        if frequency is not None:
            out.append(_b36(target - emitted) + ("" if frequency == 1 else "*" + _b36(frequency)))
            emitted = target
    copy_to(len(parts))
    return ",".join(out)


_GAP: Final = re.compile(r"([0-9a-z]+)(?:\*[0-9a-z]+)?")  # a posting's gap, without its frequency


_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"
_SMALL: list[str] = []  # every number under 36 ** 3, in base 36, made on first use


def _b36(n: int) -> str:
    """JavaScript's n.toString(36) for n >= 0."""
    if not _SMALL:
        _SMALL.extend(a + b + c for a in _DIGITS for b in _DIGITS for c in _DIGITS)
        for k in range(36 * 36):  # without leading zeros
            _SMALL[k] = _SMALL[k].lstrip("0") or "0"
    if n < 46656:
        return _SMALL[n]
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_DIGITS[r])
    return "".join(reversed(out))


def _vector_lines(vectors: bytes) -> dict[int, bytes]:
    lines: dict[int, bytes] = {}
    for line in vectors.split(b"\n"):
        if line:
            lines[int(line.split(b"\t", 1)[0], 36)] = line
    return lines


@dataclass
class Update:
    """An index updated by :func:`update_index`: its folder, as
    IndexBuild.finish gives it, and the shards that changed (written
    again) or are gone."""

    folder: Path
    changed: set[str]
    removed: set[str]
    documents: int  # indexed again
    # Writes the folder's record (and removes the previous index): until
    # then the folder is not the cache's index. Called once the hosted
    # edition is live (encoding and writing the 6 MB record at 10,000
    # articles took 0.08 s), or when the build fails after the update: the
    # folder is this run's index either way.
    record: Callable[[], None]


@dataclass
class Previous:
    """The previous index and the generated pages' documents, as
    :func:`update_index` finds them before it needs the hand-written
    pages: read while MkDocs builds those (:func:`read_previous`)."""

    folder: Path
    old: dict[str, tuple[int, str, bool, list[Any]]]  # key -> id, line, hand-written, what the result list shows
    old_lengths: dict[int, list[int]]
    generated: list[tuple[str, dict[str, Any], bytes, str]]
    new_fields: dict[str, bytes]  # what Node indexes of the documents not seen before, by key
    pages_file: Path
    directory_urls: bool


def update_index(project_root: Path, pages_file: Path, site: Path, live: Path, *, directory_urls: bool,
                 node: str = "node") -> Update | None:
    """The previous index (the latest in .digest-cache) updated for the
    pages whose text changed, or None when there is no usable previous index
    (missing, foreign, or not the one ``live``, the edition's
    search/digest_index.js, was written from) or the id space changed: then
    IndexBuild builds it afresh. ``site`` is where MkDocs built the
    hand-written pages. In two parts, :func:`read_previous` and
    :func:`update_from`, so that the first can run before MkDocs is done."""
    previous = read_previous(project_root, pages_file, live, directory_urls=directory_urls)
    update = update_from(project_root, previous, site, node) if previous is not None else None
    if update is not None:
        update.record()
    return update


def _same_file(a: Path, b: Path) -> bool:
    """Whether two files hold the same bytes: at once when they are one
    file (write_search_index links the edition's to the cache's)."""
    if os.path.samefile(a, b):
        return True
    return a.read_bytes() == b.read_bytes()


def read_previous(project_root: Path, pages_file: Path, live: Path, *, directory_urls: bool) -> Previous | None:
    """:func:`update_index`'s first part, which needs no hand-written page;
    None when there is no usable previous index (see there)."""
    cache = project_root / CACHE
    previous = _latest(cache)
    if previous is None:
        return None
    try:
        known = _known.get(previous)
        if known is not None and known.record == identity(os.stat(previous / RECORD)):
            old, old_lengths, space = known.old, known.lengths, known.space
        else:
            record = json.loads((previous / RECORD).read_text(encoding="utf-8"))
            if record.get("version") != RECORD_VERSION:
                return None
            old = _documents(record)
            space = record["space"]
            header = json.loads((previous / "header.json").read_text(encoding="utf-8"))
            old_lengths = {int(doc): lengths for doc, lengths in header["fieldLength"].items()}
        if not _intact(previous) or not _same_file(live, previous / INDEX_SCRIPT):
            return None
        if not (previous / VECTORS).is_dir():
            return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    # The generated documents: a line of pages.js seen before is the same
    # document (its id, _line_id, is the record's), and is not parsed again.
    by_line = {line: key for key, (_, line, hand, _) in old.items() if not hand}
    generated: list[tuple[str, dict[str, Any], bytes, str]] = []
    new_fields: dict[str, bytes] = {}
    # Read at once: line by line, each read let another thread take the GIL
    # (the staging's), and the 10,000 lines took 0.39 s beside them against
    # 0.05 s alone.
    try:
        pages = pages_file.read_bytes()
    except FileNotFoundError:
        pages = b""
    for start, stop in _page_spans(pages):
        line = _span_id(pages, start, stop)
        key = by_line.get(line)
        if key is not None:
            where, title, snippet, tags = old[key][3]
            generated.append((key, {"location": where, "title": title, "snippet": snippet, "tags": tags}, b"", line))
            continue
        page = json.loads(pages[start:stop])
        where = location(page["src"], directory_urls)
        key = _key(where)
        generated.append((key, {"location": where, **{k: page[k] for k in SHOWN if k in page}}, b"", line))
        new_fields[key] = _fields(page)
    if id_space(len(generated)) != space:
        return None
    return Previous(previous, old, old_lengths, generated, new_fields, pages_file, directory_urls)


def update_from(project_root: Path, before: Previous, site: Path, node: str = "node",
                builder: Builder | None = None) -> Update | None:
    """:func:`update_index`'s second part, from its first: the hand-written
    pages (built by MkDocs in ``site``), Node on the changed documents (in
    ``builder`` when one was started ahead), the shards patched, the new
    index's folder."""
    cache = project_root / CACHE
    previous, old, old_lengths, generated, new_fields = (before.folder, before.old, before.old_lengths,
                                                          before.generated, before.new_fields)
    pages_file, directory_urls = before.pages_file, before.directory_urls
    hand = hand_written_documents(site, {g[1]["location"] for g in generated})
    for d in hand:
        new_fields[_key(d["location"])] = _fields(d)
    docs, space = _with_ids(generated, hand)
    docs = [{k: v for k, v in d.items() if k not in ("terms", "text")} for d in docs]
    # Changed: new content, or a new id (a collision chain moved); gone: no
    # longer a document, or moved to another id.
    now = {d["key"]: d for d in docs}
    changed = [d for d in docs if d["key"] not in old or old[d["key"]][1] != d["line"]
               or old[d["key"]][0] != d["id"]]
    gone = {doc_id for key, (doc_id, line, _, _) in old.items()
            if key not in now or now[key]["id"] != doc_id or now[key]["line"] != line}
    # A page that only moved to another id was not parsed above: its text is
    # read again (a key that joined its chain of collisions moved it).
    moved = {d["line"] for d in changed if d["key"] not in new_fields}
    if moved:
        for raw in _raw_pages(pages_file):
            if _line_id(raw) in moved:
                page = json.loads(raw)
                new_fields[_key(location(page["src"], directory_urls))] = _fields(page)
    # The vectors of the buckets that change: the old documents' terms,
    # and the lines the new buckets keep.
    touched = {_bucket(doc_id) for doc_id in gone} | {_bucket(d["id"]) for d in changed}
    try:
        old_vectors = _read_buckets(previous, touched)
    except OSError:
        return None
    if not gone <= old_vectors.keys():
        return None  # a bucket is missing: the previous index is damaged
    work = cache / f"search-{_digest(json.dumps([[d['key'], d['id'], d['line']] for d in docs]).encode())}.building"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        fresh: dict[int, bytes] = {}
        if changed:
            (builder or Builder(node, project_root / ENGINE)).run([_line(d["id"], new_fields[d["key"]])
                                                                 for d in changed], work)
            fresh = _vector_lines((work / "vectors.txt").read_bytes())
            (work / "vectors.txt").unlink()
            shutil.rmtree(work / "shards")
        # term -> field -> doc -> frequency (None: removed)
        edits: dict[str, dict[int, dict[int, int | None]]] = {}
        for doc_id in gone:
            for (term, field), _ in _vector(old_vectors[doc_id]).items():
                edits.setdefault(term, {}).setdefault(field, {})[doc_id] = None
        for doc_id, vector in fresh.items():
            for (term, field), frequency in _vector(vector).items():
                edits.setdefault(term, {}).setdefault(field, {})[doc_id] = frequency
        # A document whose id stayed: drop the edits that change nothing.
        for doc_id in gone & fresh.keys():
            for (term, field), frequency in _vector(old_vectors[doc_id]).items():
                if edits.get(term, {}).get(field, {}).get(doc_id, -1) == frequency:
                    del edits[term][field][doc_id]
        by_shard: dict[str, dict[str, dict[int, dict[int, int | None]]]] = {}
        for term, fields in edits.items():
            fields = {f: e for f, e in fields.items() if e}
            if fields:
                by_shard.setdefault(shard_of(term), {})[term] = fields
        (work / "shards").mkdir()
        changed_shards: set[str] = set()
        removed_shards: set[str] = set()
        for shard in _shard_names(previous):
            if shard not in by_shard:
                os.link(previous / "shards" / f"{shard}.js", work / "shards" / f"{shard}.js")
        for shard, terms in by_shard.items():
            source = previous / "shards" / f"{shard}.js"
            lines: dict[str, str] = {}
            if source.is_file():
                try:
                    text = shard_text(source.read_bytes(), shard)
                except ValueError:  # damaged: the index is built afresh
                    shutil.rmtree(work, ignore_errors=True)
                    return None
                for line in text.split("\n"):
                    lines[line.split("\t", 1)[0]] = line
            for term, changes in terms.items():
                patched = _patch_line(lines.get(term), term, changes)
                if patched is None:
                    lines.pop(term, None)
                else:
                    lines[term] = patched
            if lines:
                (work / "shards" / f"{shard}.js").write_bytes(
                    shard_script(shard, "\n".join(lines[t] for t in sorted(lines, key=_utf16))))
                changed_shards.add(shard)
            elif source.is_file():
                removed_shards.add(shard)
        (work / VECTORS).mkdir()
        for name in sorted(os.listdir(previous / VECTORS)):
            if name not in touched:
                os.link(previous / VECTORS / name, work / VECTORS / name)
        vectors = {k: v for k, v in old_vectors.items() if k not in gone}
        vectors.update(fresh)
        _store_vectors(work, vectors, touched)
        lengths = {k: v for k, v in old_lengths.items() if k not in gone}
        lengths.update(_lengths(fresh))
        record = _finish_folder(work, docs, space, lengths, {_key(d["location"]) for d in hand})
        done = work.with_name(work.name.removesuffix(".building"))
        shutil.rmtree(done, ignore_errors=True)
        work.rename(done)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Update(done, changed_shards, removed_shards, len(changed), partial(_recorded, cache, done, record, lengths))


@dataclass(frozen=True)
class _Known:
    """What :func:`read_previous` reads from an index's record and header,
    as the process that wrote them knows it (``record``: the record file's
    identity then)."""

    record: tuple[int, int, int]
    old: dict[str, tuple[int, str, bool, list[Any]]]
    lengths: dict[int, list[int]]
    space: int


# The index this process updated last (`digest serve`, the build server):
# the next update takes its record from here while the file is the one
# written (parsing the 6 MB record and the header took 0.06 s at 10,000
# articles, 0.1 s beside MkDocs and the staging).
_known: dict[Path, _Known] = {}


def _recorded(cache: Path, done: Path, record: dict[str, Any], lengths: dict[int, list[int]]) -> None:
    """Make ``done`` the cache's index (its ``record`` written), the others
    gone; and remember it as read_previous would read it back."""
    _write_record(done, record)
    _known.clear()
    _known[done] = _Known(identity(os.stat(done / RECORD)), _documents(record), lengths, record["space"])
    for stale in cache.glob("search-*"):
        if stale != done:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


# How the index's two kinds of file begin: a fixed assignment of one JSON
# value (the worker reads these names). The guard recognises the same shapes.
INDEX_ASSIGN: Final = "self.__digestSearch = "
SHARD_ASSIGN: Final = "(self.__digestShards = self.__digestShards || {{}})[{name}] = "  # name: a JSON string


def _shard_names(built: Path) -> list[str]:
    return sorted(p.stem for p in (built / "shards").glob("*.js"))


def shard_script(name: str, text: str) -> bytes:
    """search/shards/<name>.js for a shard's ``text`` (build-index.mjs's
    compact form): a fixed assignment of one JSON string, escaped to ASCII
    (a page opened from disk may read it in another encoding)."""
    return (SHARD_ASSIGN.format(name=json.dumps(name)) + json.dumps(text, ensure_ascii=True) + ";\n").encode("ascii")


def shard_text(script: bytes, name: str) -> str:
    """The text :func:`shard_script` made ``script`` from; ValueError if it
    is not such a file."""
    head = SHARD_ASSIGN.format(name=json.dumps(name)).encode("ascii")
    if not (script.startswith(head) and script.endswith(b";\n")):
        raise ValueError(f"not a search shard named {name!r}")
    text = json.loads(script[len(head):-2])
    if not isinstance(text, str):
        raise ValueError(f"not a search shard named {name!r}")
    return text


def _script_shards(folder: Path) -> None:
    """build-index.mjs's shards (shards/<name>.txt) in the editions' form."""
    for source in sorted((folder / "shards").glob("*.txt")):
        (folder / "shards" / f"{source.stem}.js").write_bytes(shard_script(source.stem, source.read_text(encoding="utf-8")))
        source.unlink()


def _index_script(docs: list[dict[str, Any]], built: Path, shards: list[str]) -> str:
    """search/digest_index.js: the result list, the header, the shards' names."""
    # The result list, by document id (the worker looks results up by id).
    display = {d["id"]: [d["location"], d["title"], d["snippet"], d.get("tags") or []]
               for d in sorted(docs, key=lambda d: d["id"])}
    # Indexes travel as JSON strings: browsers parse JSON faster than script literals.
    return (INDEX_ASSIGN + "{\"docs\": " + json.dumps(display, ensure_ascii=True) + ", \"header\": "
            + json.dumps((built / "header.json").read_text(encoding="utf-8"), ensure_ascii=True) + ", \"shards\": "
            + json.dumps(shards) + "};\n")


def write_search_index(site: Path, built: Path, only: set[str] | None = None, removed: Iterable[str] = ()) -> list[str]:
    """Replace Material's browser-side indexing with the prebuilt, sharded
    index; with ``only``, write only those shards (the others are the
    previous index's, already in ``site``) and delete ``removed``. The files
    written, relative to ``site``."""
    shards = _shard_names(built)
    written = ["search/digest_index.js", "search/search_index.json"]
    # Linked, not written: the cache's files are the editions' bytes.
    link_unlinked(built / INDEX_SCRIPT, site / "search" / "digest_index.js")
    folder = site / "search" / "shards"
    folder.mkdir(exist_ok=True)
    for name in shards if only is None else sorted(only):
        link_unlinked(built / "shards" / f"{name}.js", folder / f"{name}.js")
        written.append(f"search/shards/{name}.js")
    for name in removed:
        (folder / f"{name}.js").unlink(missing_ok=True)
    (site / PAGES).unlink(missing_ok=True)  # its text is in the index now
    material = site / "search" / "search_index.json"
    config = json.loads(material.read_text(encoding="utf-8"))
    config["docs"] = []
    _replace(material, json.dumps(config))
    inline = site / "search" / "search_index.js"
    if inline.exists():  # the offline plugin's copy for file://
        _replace(inline, f"var __index = {json.dumps(config)}")
        written.append("search/search_index.js")
    return written


def _replace(path: Path, text: str) -> None:
    write_unlinked(path, text.encode("utf-8"))

"""The digest's search index, built once per edition at site-build time.

Material's search plugin leaves the indexing to the browser, on every page
load, which takes seconds at a few thousand articles. Here the generated
pages' text (written by the generator as digest/assets/search/pages.js) and
Material's entries for the hand-written pages become one document per page,
and Node builds a MiniSearch index from them (once for both editions: the
documents are the same, only their addresses differ).

The index is then split by the first character of each term: the browser
loads the small header with the result list up front (search/digest_index.js)
and, per query, only the shards its words start with (search/shards/). At
5,000 articles the whole index is 34 MB; a query needs about a tenth of it.
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
from pathlib import Path
from typing import Any

from digest.problems import BuildFailed
from digest.render.search import SEARCH_PAGES as PAGES
from digest.render.search import SNIPPET

BUILDER = Path(__file__).resolve().parent / "assets" / "build-index.mjs"
ENGINE = Path("node_modules/minisearch/dist/es/index.js")  # under the project root
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
    (decodeShard) reads it the same way."""
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


def page_documents(site: Path, directory_urls: bool) -> list[dict[str, Any]]:
    """One document per page: the generated pages' own text, plus Material's
    per-section entries for the hand-written pages, merged per page."""
    pages_file = site / PAGES
    generated: list[dict[str, Any]] = []
    if pages_file.exists():
        script = pages_file.read_text(encoding="utf-8")
        generated = json.loads(script[script.index("=") + 1:].rstrip().rstrip(";"))
    docs = {location(p["src"], directory_urls): {**p, "location": location(p["src"], directory_urls)}
            for p in generated}
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    merged: dict[str, dict[str, Any]] = {}
    for doc in index["docs"]:
        where = doc["location"].split("#", 1)[0]
        if where in docs:
            continue
        page = merged.setdefault(where, {"location": where, "title": _plain(doc["title"]), "terms": "", "text": "",
                                         "tags": []})
        page["text"] += " " + _plain(doc["text"])
    for page in merged.values():
        page["text"] = page["text"].strip()
        page["snippet"] = page["text"][:SNIPPET]
        docs[page["location"]] = page
    return sorted(docs.values(), key=lambda d: _key(d["location"]))


def _build_index(payload: str, project_root: Path, engine: Path, node: str) -> Path:
    """Run the Node builder (index, then shards), or reuse its output for the
    same documents. Returns the folder holding header.json and shards/."""
    cache = project_root / ".digest-cache"
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]
    done = cache / f"search-{digest}"
    if (done / "header.json").exists():
        return done
    if cache.exists():  # one edition's build feeds the other; keep the latest only
        for old in cache.glob("search-*"):
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    work = cache / f"search-{digest}.building"
    work.mkdir(parents=True)
    source = work / "docs.json"
    source.write_text(payload, encoding="utf-8")
    run = subprocess.run([node, str(BUILDER), str(engine), str(source), str(work)],
                         capture_output=True, text=True, check=False)
    source.unlink()
    if run.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise BuildFailed(f"building the search index failed: {run.stderr.strip()[-2000:]}")
    work.rename(done)
    return done


def write_search_index(site: Path, project_root: Path, *, directory_urls: bool, node: str = "node") -> None:
    """Replace Material's browser-side indexing with a prebuilt, sharded index."""
    engine = project_root / ENGINE
    if not engine.is_file():
        raise BuildFailed(f"{ENGINE} is missing: run 'make setup' (it runs 'npm ci') first")
    if shutil.which(node) is None:
        raise BuildFailed("Node.js is needed to build the search index: install it (Debian: apt-get install nodejs)")
    docs = page_documents(site, directory_urls)
    payload = json.dumps({"docs": [{"id": i, "title": d["title"], "terms": d["terms"], "text": d["text"]}
                                   for i, d in enumerate(docs)]}, ensure_ascii=False)
    built = _build_index(payload, project_root, engine, node)
    del payload
    shards = sorted(p.stem for p in (built / "shards").glob("*.txt"))
    display = [[d["location"], d["title"], d["snippet"], d.get("tags") or []] for d in docs]
    # Indexes travel as JSON strings: browsers parse JSON faster than script literals.
    (site / "search" / "digest_index.js").write_text(
        "self.__digestSearch = {\"docs\": " + json.dumps(display, ensure_ascii=True) + ", \"header\": "
        + json.dumps((built / "header.json").read_text(encoding="utf-8"), ensure_ascii=True) + ", \"shards\": "
        + json.dumps(shards) + "};\n", encoding="utf-8")
    folder = site / "search" / "shards"
    folder.mkdir()
    for name in shards:
        entries = (built / "shards" / f"{name}.txt").read_text(encoding="utf-8")
        (folder / f"{name}.js").write_text(
            f"(self.__digestShards = self.__digestShards || {{}})[{json.dumps(name)}] = "
            + json.dumps(entries, ensure_ascii=True) + ";\n", encoding="utf-8")
    (site / PAGES).unlink(missing_ok=True)  # its text is in the index now
    material = site / "search" / "search_index.json"
    config = json.loads(material.read_text(encoding="utf-8"))
    config["docs"] = []
    material.write_text(json.dumps(config), encoding="utf-8")
    inline = site / "search" / "search_index.js"
    if inline.exists():  # the offline plugin's copy for file://
        inline.write_text(f"var __index = {json.dumps(config)}", encoding="utf-8")

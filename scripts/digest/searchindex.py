"""The digest's search index, built once per edition at site-build time.

Material's search plugin leaves the indexing to the browser, on every page
load, which takes seconds at a few thousand articles. Here the generated
pages' text (written by the generator as digest/assets/search/pages.js) and
Material's entries for the hand-written pages become one document per page,
Node builds a MiniSearch index from them, and the browser only loads it
(search/digest_index.js). Material's own index file keeps only its
configuration, which its search box still reads.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from digest.problems import BuildFailed

BUILDER = Path(__file__).resolve().parent / "assets" / "build-index.mjs"
ENGINE = Path("node_modules/minisearch/dist/es/index.js")  # under the project root
PAGES = "digest/assets/search/pages.js"
SNIPPET = 240
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


def page_documents(site: Path, directory_urls: bool) -> list[dict[str, str]]:
    """One document per page: the generated pages' own text, plus Material's
    per-section entries for the hand-written pages, merged per page."""
    pages_file = site / PAGES
    generated: list[dict[str, str]] = []
    if pages_file.exists():
        script = pages_file.read_text(encoding="utf-8")
        generated = json.loads(script[script.index("=") + 1:].rstrip().rstrip(";"))
    docs = {location(p["src"], directory_urls): {**p, "location": location(p["src"], directory_urls)}
            for p in generated}
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    merged: dict[str, dict[str, str]] = {}
    for doc in index["docs"]:
        where = doc["location"].split("#", 1)[0]
        if where in docs:
            continue
        page = merged.setdefault(where, {"location": where, "title": _plain(doc["title"]), "terms": "", "text": ""})
        page["text"] += " " + _plain(doc["text"])
    for page in merged.values():
        page["text"] = page["text"].strip()
        page["snippet"] = page["text"][:SNIPPET]
        docs[page["location"]] = page
    return [docs[k] for k in sorted(docs)]


def write_search_index(site: Path, project_root: Path, *, directory_urls: bool, node: str = "node") -> None:
    """Replace Material's browser-side indexing with a prebuilt index."""
    engine = project_root / ENGINE
    if not engine.is_file():
        raise BuildFailed(f"{ENGINE} is missing: run 'make setup' (it runs 'npm ci') first")
    if shutil.which(node) is None:
        raise BuildFailed("Node.js is needed to build the search index: install it (Debian: apt-get install nodejs)")
    docs = page_documents(site, directory_urls)
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "docs.json", Path(tmp) / "index.json"
        payload = [{"id": i, "title": d["title"], "terms": d["terms"], "text": d["text"]} for i, d in enumerate(docs)]
        source.write_text(json.dumps({"docs": payload}, ensure_ascii=False), encoding="utf-8")
        run = subprocess.run([node, str(BUILDER), str(engine), str(source), str(target)],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise BuildFailed(f"building the search index failed: {run.stderr.strip()[-2000:]}")
        index = target.read_text(encoding="utf-8")
    display = [[d["location"], d["title"], d["snippet"]] for d in docs]
    # The index travels as a JSON string: browsers parse JSON faster than a script literal.
    script = ("self.__digestSearch = {\"docs\": " + json.dumps(display, ensure_ascii=True)
              + ", \"index\": " + json.dumps(index, ensure_ascii=True) + "};\n")
    (site / "search" / "digest_index.js").write_text(script, encoding="utf-8")
    (site / PAGES).unlink(missing_ok=True)  # its text is in the index now
    material = site / "search" / "search_index.json"
    config = json.loads(material.read_text(encoding="utf-8"))
    config["docs"] = []
    material.write_text(json.dumps(config), encoding="utf-8")
    inline = site / "search" / "search_index.js"
    if inline.exists():  # the offline plugin's copy for file://
        inline.write_text(f"var __index = {json.dumps(config)}", encoding="utf-8")

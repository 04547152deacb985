"""The digest's search index, built once per edition at site-build time.

Material's search plugin writes one document per page section and leaves the
indexing to the browser, on every page load. Here the sections become one
document per page (with aliases and entity names as extra terms), Node builds
a MiniSearch index from them, and the browser only loads it
(search/digest_index.js). Material's own index file is reduced to its
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
TERMS = "digest/assets/search/terms.json"
SNIPPET = 240
_TAG = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")


def _plain(text: str) -> str:
    return _WS.sub(" ", html.unescape(_TAG.sub(" ", text))).strip()


def _source_path(location: str) -> list[str]:
    """Where a page came from (under docs/), for either kind of URL."""
    if location.endswith(".html"):
        return [location[: -len(".html")] + ".md"]
    if not location:
        return ["index.md"]
    stem = location.rstrip("/")
    return [stem + ".md", stem + "/index.md"]


def page_documents(site: Path) -> list[dict[str, str]]:
    """One document per page from Material's per-section index, plus our terms."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    terms_file = site / TERMS
    extra: dict[str, dict[str, str]] = (
        json.loads(terms_file.read_text(encoding="utf-8")) if terms_file.exists() else {})
    pages: dict[str, dict[str, str]] = {}
    for doc in index["docs"]:
        location = doc["location"].split("#", 1)[0]
        page = pages.get(location)
        if page is None:
            page = pages[location] = {"location": location, "title": _plain(doc["title"]), "text": ""}
        page["text"] += " " + _plain(doc["text"])
    out = []
    for location in sorted(pages):
        page = pages[location]
        more = next((extra[p] for p in _source_path(location) if p in extra), {})
        out.append({"location": location, "title": page["title"], "terms": more.get("terms", ""),
                    "text": page["text"].strip(), "snippet": more.get("snippet") or page["text"].strip()[:SNIPPET]})
    return out


def write_search_index(site: Path, project_root: Path, node: str = "node") -> None:
    """Replace Material's browser-side indexing with a prebuilt index."""
    engine = project_root / ENGINE
    if not engine.is_file():
        raise BuildFailed(f"{ENGINE} is missing: run 'make setup' (it runs 'npm ci') first")
    if shutil.which(node) is None:
        raise BuildFailed("Node.js is needed to build the search index: install it (Debian: apt-get install nodejs)")
    docs = page_documents(site)
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
    material = site / "search" / "search_index.json"
    config = json.loads(material.read_text(encoding="utf-8"))
    config["docs"] = []
    material.write_text(json.dumps(config), encoding="utf-8")
    inline = site / "search" / "search_index.js"
    if inline.exists():  # the offline plugin's copy for file://
        inline.write_text(f"var __index = {json.dumps(config)}", encoding="utf-8")

"""The third-party guard: find anything in a built site that a browser would
load from another host (scripts, styles, fonts, images, frames, CSS imports).

Plain ``<a href>`` links stay allowed: a reader may choose to follow a link to
an article's source, but opening a page must not contact anybody.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from digest.fsutil import spawned_pool
from digest.searchindex import INDEX_ASSIGN, SHARD_ASSIGN

EXTERNAL: Final = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//", re.S)
CSS_REF: Final = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*((?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//[^'")\s]+)""", re.I)
JS_REF: Final = re.compile(
    r"""(?:importScripts|fetch|import|Worker|SharedWorker|EventSource|WebSocket|sendBeacon)\s*\(\s*["'`]"""
    r"""((?:https?:|wss?:)?//[^"'`]+)|\.src\s*=\s*["'`]((?:https?:)?//[^"'`]+)""")
# Attributes that make a browser fetch something, by tag ("*" for any tag).
LOADING_ATTRS: Final = {"src", "srcset", "data", "poster", "background", "formaction"}
INERT_LINK_RELS: Final = {"canonical", "alternate", "author", "license", "help", "search", "next", "prev"}


@dataclass(frozen=True)
class Finding:
    file: str
    reference: str
    how: str

    def format(self) -> str:
        return f"{self.file}: {self.how} loads {self.reference}"


# Only a tag with '//' in it can name another host, so the scan looks at
# those tags alone (a full HTML parse of every page took seconds per edition).
_TAG_WITH_HOST: Final = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)\b([^>]*//[^>]*)>")
_ATTR: Final = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""")
_BLOCK: Final = re.compile(r"<(style|script)\b[^>]*>(.*?)</\1\s*>", re.S | re.I)


def _html_findings(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for m in _TAG_WITH_HOST.finditer(text):
        tag = m.group(1).lower()
        values = {a.lower(): html.unescape(b or c or d or "") for a, b, c, d in _ATTR.findall(m.group(2))}
        for name, value in values.items():
            if name in LOADING_ATTRS:
                for part in value.split(","):
                    ref = part.strip().split(" ")[0]
                    if EXTERNAL.match(ref):
                        found.append((f"<{tag} {name}>", ref))
            if name == "style":
                found += [(f"<{tag} style> url()", r) for r in CSS_REF.findall(value)]
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            href = values.get("href", "")
            if EXTERNAL.match(href) and not rels <= INERT_LINK_RELS:
                found.append((f"<link rel={'/'.join(sorted(rels))}>", href))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            target = re.search(r"url\s*=\s*(\S+)", values.get("content", ""), re.I)
            if target and EXTERNAL.match(target.group(1)):
                found.append(("<meta refresh>", target.group(1)))
    for kind, body in _BLOCK.findall(text):
        if kind.lower() == "style":
            found += [("<style> url()/@import", r) for r in CSS_REF.findall(body)]
        else:
            if "//" in body:  # JS_REF needs it; most inline scripts are short configuration
                found += [("inline script", a or b) for a, b in JS_REF.findall(body)]
    return found


# The search index's files (digest/searchindex.py) assign one JSON value and
# do nothing else. Their strings hold article text (titles, bottom lines,
# words), which may quote code such as fetch('https://...'): scanning them as
# scripts would refuse a build for what an article says.
_DATA_SCRIPTS: Final = (re.compile(re.escape(INDEX_ASSIGN)),
                        re.compile(re.escape(SHARD_ASSIGN.format(name="NAME")).replace("NAME", '"[a-z0-9]+"')))


def _only_data(text: str) -> bool:
    """Is this script one of the index's shapes: a fixed assignment of one
    JSON value (which loads nothing), then ';' and a line break?"""
    for prefix in _DATA_SCRIPTS:
        m = prefix.match(text)
        if m and text.endswith(";\n"):
            try:
                json.loads(text[m.end():-2])
            except ValueError:
                return False
            return True
    return False


def scan_text(name: str, text: str) -> list[Finding]:
    """Findings in one file's text, judged by the file's extension."""
    suffix = name.rsplit(".", 1)[-1].lower()
    if suffix == "js" and _only_data(text):
        return []
    if suffix in ("html", "htm"):
        return [Finding(name, ref, how) for how, ref in _html_findings(text)]
    if suffix == "css":
        return [Finding(name, m, "CSS url()/@import") for m in CSS_REF.findall(text)]
    if suffix in ("js", "mjs"):
        return [Finding(name, a or b, "script") for a, b in JS_REF.findall(text)]
    return []


def _scan_files(site: Path, paths: list[Path]) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        rel = path.relative_to(site).as_posix()
        findings += scan_text(rel, path.read_text(encoding="utf-8", errors="replace"))
    return findings


SCAN_BESIDE: Final = 1000  # fewer files are scanned in this process alone: a child takes about 0.3 s to start


def scan_site(site: Path, workers: int = 1, scanned: frozenset[str] = frozenset()) -> list[Finding]:
    """Every third-party load in a built site, sorted by file; with
    ``workers`` > 1, that many processes share the files (this one included).
    Files in ``scanned`` (paths relative to ``site``) were scanned already,
    as MkDocs wrote them (see read_part_reports), and are skipped."""
    paths = sorted(p for p in site.rglob("*")
                   if p.is_file() and p.suffix.lower() in (".html", ".htm", ".css", ".js", ".mjs")
                   and p.relative_to(site).as_posix() not in scanned)
    if workers < 2 or len(paths) < SCAN_BESIDE:
        return sorted(_scan_files(site, paths), key=lambda f: f.file)
    with spawned_pool(workers - 1) as pool:
        beside = [pool.submit(_scan_files, site, paths[k::workers]) for k in range(1, workers)]
        findings = _scan_files(site, paths[0::workers])
        for future in beside:
            findings += future.result()
    return sorted(findings, key=lambda f: f.file)


# Each MkDocs part of `digest build` scans the pages it writes as it writes
# them (overrides/hooks/build_parts.py) and leaves a report in the folder
# this variable names: one JSON file per part, the pages it scanned and what
# it found.
REPORT_VARIABLE: Final = "DIGEST_GUARD_REPORTS"


def write_part_report(folder: Path, part: int, scanned: list[str], findings: list[Finding]) -> None:
    (folder / f"part-{part}.json").write_text(json.dumps({
        "scanned": scanned, "findings": [[f.file, f.reference, f.how] for f in findings]}), encoding="utf-8")


def read_part_reports(folder: Path, parts: int) -> tuple[frozenset[str], list[Finding]]:
    """The pages the parts scanned and their findings. A missing report means
    that part scanned nothing: its pages are scanned afterwards."""
    scanned: set[str] = set()
    findings: list[Finding] = []
    for part in range(parts):
        report = folder / f"part-{part}.json"
        if report.exists():
            data = json.loads(report.read_text(encoding="utf-8"))
            scanned.update(data["scanned"])
            findings += [Finding(*f) for f in data["findings"]]
    return frozenset(scanned), findings

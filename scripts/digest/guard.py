"""The third-party guard: find anything in a built site that a browser would
load from another host (scripts, styles, fonts, images, frames, CSS imports).

Plain ``<a href>`` links stay allowed: a reader may choose to follow a link to
an article's source, but opening a page must not contact anybody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Final

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


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._in_style = False
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        for name, value in values.items():
            if name in LOADING_ATTRS:
                for part in value.split(","):
                    ref = part.strip().split(" ")[0]
                    if EXTERNAL.match(ref):
                        self.found.append((f"<{tag} {name}>", ref))
            if name == "style":
                self.found += [(f"<{tag} style> url()", m) for m in CSS_REF.findall(value)]
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            href = values.get("href", "")
            if EXTERNAL.match(href) and not rels <= INERT_LINK_RELS:
                self.found.append((f"<link rel={'/'.join(sorted(rels))}>", href))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            m = re.search(r"url\s*=\s*(\S+)", values.get("content", ""), re.I)
            if m and EXTERNAL.match(m.group(1)):
                self.found.append(("<meta refresh>", m.group(1)))
        self._in_style = tag == "style"
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.found += [("<style> url()/@import", m) for m in CSS_REF.findall(data)]
        elif self._in_script:
            self.found += [("inline script", a or b) for a, b in JS_REF.findall(data)]


def scan_text(name: str, text: str) -> list[Finding]:
    """Findings in one file's text, judged by the file's extension."""
    suffix = name.rsplit(".", 1)[-1].lower()
    if suffix in ("html", "htm"):
        scanner = _Scanner()
        scanner.feed(text)
        scanner.close()
        return [Finding(name, ref, how) for how, ref in scanner.found]
    if suffix == "css":
        return [Finding(name, m, "CSS url()/@import") for m in CSS_REF.findall(text)]
    if suffix in ("js", "mjs"):
        return [Finding(name, a or b, "script") for a, b in JS_REF.findall(text)]
    return []


def scan_site(site: Path) -> list[Finding]:
    """Every third-party load in a built site, sorted by file."""
    findings: list[Finding] = []
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".html", ".htm", ".css", ".js", ".mjs"):
            rel = path.relative_to(site).as_posix()
            findings += scan_text(rel, path.read_text(encoding="utf-8", errors="replace"))
    return findings

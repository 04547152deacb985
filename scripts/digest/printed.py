"""Printed briefs: a PDF of each of the newest editions (or every one).

The engine is Typst, through its PyPI package: a 20-item brief takes about
0.08 s once the fonts are loaded, against 0.37 s for WeasyPrint on the same
content (docs/development/performance.md). Its template
(assets/brief.typ) receives the brief as one JSON value and places every
value as text, so no seed text is ever read as markup.

A PDF is the same bytes for the same brief: the template, the data, Typst's
version, the fonts installed, and the edition's date as the document's date.
Each is kept in .digest-cache/print/ under a hash of those, so a run
compiles only the briefs whose content changed; deleting the folder changes
nothing but time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from digest import names
from digest.fsutil import atomic_write
from digest.model import Digest
from digest.problems import BuildFailed
from digest.progress import QUIET, Progress
from digest.render.common import brief_path
from digest.render.printed import brief_data

TEMPLATE: Final = Path(__file__).parent / "assets" / "brief.typ"
CACHE: Final = f"{names.CACHE}/print"
# The fonts the brief is set in: the first for Latin, Greek and Cyrillic,
# then one per other script the digest holds, each with the Debian package
# that installs it. Typst falls back through the list glyph by glyph.
BASE_FONT: Final = ("Noto Sans", "fonts-noto-core")
SCRIPT_FONTS: Final = (
    (re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc]"), "Arabic",
     "Noto Naskh Arabic", "fonts-noto-core"),
    (re.compile("[\u0590-\u05ff]"), "Hebrew", "Noto Sans Hebrew", "fonts-noto-core"),
    (re.compile("[\u0900-\u097f]"), "Devanagari", "Noto Sans Devanagari", "fonts-noto-core"),
    (re.compile("[\u0e00-\u0e7f]"), "Thai", "Noto Sans Thai", "fonts-noto-core"),
    (re.compile("[\u1100-\u11ff\u2e80-\u2fdf\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0003134f]"),
     "Chinese, Japanese or Korean", "Noto Sans CJK SC", "fonts-noto-cjk"),
)
PRINT_STEP: Final = "printing briefs"  # the progress step; digest bench reads its time
FONT_FOLDERS: Final = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")


def _font_stamp() -> str:
    """The installed fonts (file, size, time): a font changed changes the PDFs."""
    h = hashlib.sha256()
    for folder in FONT_FOLDERS:
        for here, dirs, files in os.walk(os.path.expanduser(folder)):
            dirs.sort()
            for name in sorted(files):
                st = os.stat(os.path.join(here, name))
                h.update(f"{here}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


def fonts_for(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(family, package, script) of each font the brief's text needs."""
    text = "\n".join(_texts(data))
    return [(BASE_FONT[0], BASE_FONT[1], "Latin")] + [
        (family, package, script) for pattern, script, family, package in SCRIPT_FONTS if pattern.search(text)]


# Typst's font families and compiler, kept by a process that builds again
# and again (`digest serve`, the build server) for its next run: scanning
# the fonts took 0.07 s and making a compiler (it loads them) 0.065 s of
# every run that sets a brief, an edit of the newest edition's articles.
# Keyed by the template's bytes and the fonts' stamp: either changed makes
# a new engine.
_engines: dict[bytes, tuple[set[str], Any]] = {}


class Printer:
    """Makes the PDFs, reusing what the cache holds."""

    def __init__(self, root: Path) -> None:
        self.cache = root / CACHE
        self.template = TEMPLATE.read_bytes()
        self.stamp = f"typst {metadata.version('typst')}\n{_font_stamp()}\n".encode()
        self.used: set[str] = set()
        self.compiled = 0

    def _engine(self) -> tuple[set[str], Any]:
        """The installed font families and a compiler of the template:
        made once for these fonts and this template (see _engines)."""
        key = hashlib.sha256(self.template + self.stamp).digest()
        engine = _engines.get(key)
        if engine is None:
            import typst

            # One compiler for the run and those after it: it loads the fonts once.
            engine = (set(typst.Fonts().families()), typst.Compiler(input=str(TEMPLATE), root=str(TEMPLATE.parent)))
            _engines.clear()  # the fonts or the template changed: the old engine is of no more use
            _engines[key] = engine
        return engine

    def _check_fonts(self, needed: list[tuple[str, str, str]], families: set[str]) -> None:
        missing = [(f, p, s) for f, p, s in needed if f not in families]
        if missing:
            raise BuildFailed("the printed briefs cannot be set: " + "; ".join(
                f"{s} text needs the font '{f}', which is not installed (Debian: apt-get install {p})"
                for f, p, s in missing) + ". 'make setup' installs them.")

    def pdf(self, data: dict[str, Any], date: dt.date) -> bytes:
        needed = fonts_for(data)
        data = {**data, "fonts": [f for f, _, _ in needed]}
        payload = json.dumps(data, ensure_ascii=False, sort_keys=True)
        key = hashlib.sha256(self.template + self.stamp + date.isoformat().encode() + payload.encode()).hexdigest()
        self.used.add(key)
        cached = self.cache / f"{key}.pdf"
        try:
            return cached.read_bytes()
        except OSError:
            pass
        families, compiler = self._engine()
        self._check_fonts(needed, families)
        stamp = int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp())
        try:
            made: bytes = compiler.compile(sys_inputs={"data": payload}, timestamp=stamp)
        except Exception as exc:  # typst.TypstError; a bug of ours, said with the edition
            raise BuildFailed(f"the printed brief of {date.isoformat()} failed: {exc}") from None
        self.compiled += 1
        self.cache.mkdir(parents=True, exist_ok=True)
        atomic_write(cached, made)
        return made

    def prune(self) -> None:
        """Forget the PDFs this run did not use (their briefs changed)."""
        if self.cache.is_dir():
            for path in self.cache.glob("*.pdf"):
                if path.stem not in self.used:
                    path.unlink(missing_ok=True)


def print_briefs(root: Path, digest: Digest, progress: Progress = QUIET) -> dict[str, bytes]:
    """The PDF of each edition the delivery settings name, keyed by its path under docs/."""
    printed = set(digest.delivery.printed)
    wanted = [(date, ids) for date, ids in digest.editions if date in printed]
    if not wanted:
        return {}
    printer = Printer(root)
    out: dict[str, bytes] = {}
    with progress.step(PRINT_STEP, len(wanted)):
        for date, ids in wanted:
            out[brief_path(date)] = printer.pdf(brief_data(digest, date, ids), date)
            progress.advance()
    printer.prune()
    return out

"""Text helpers shared by the model and the renderers: paragraphs, corrections,
quote matching, slugs and Markdown escaping. All pure functions."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

PARAGRAPH_SPLIT: Final = re.compile(r"\n[ \t\f\v\u00a0]*\n")
_WS: Final = re.compile(r"\s+")


@dataclass(frozen=True)
class Fix:
    """One correction applied in the text: what the source said, what it means."""

    original: str
    corrected: str


Segment = str | Fix
Paragraph = tuple[Segment, ...]


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs are separated by a blank line; single newlines are soft wraps."""
    return [p.strip() for p in PARAGRAPH_SPLIT.split(text) if p.strip()]


_SOFT_CHARS: Final = ("\t", "\r", "\n", "\f", "\v")
_SPACES: Final = re.compile(" {2,}")


def soft_wrap(paragraph: str) -> str:
    """A plain-text paragraph as shown: line breaks and runs of white space
    become one space (other characters, no-break spaces included, stay).

    Substring tests and ``replace`` then a literal-space regex: a
    character-class alternation over every paragraph cost seconds at 10,000
    articles, and ``str.translate`` is ten times slower than ``replace`` on
    text that is not ASCII."""
    for c in _SOFT_CHARS:
        if c in paragraph:
            paragraph = paragraph.replace(c, " ")
    return _SPACES.sub(" ", paragraph) if "  " in paragraph else paragraph


def apply_corrections(paragraph: str, corrections: dict[str, str]) -> Paragraph:
    """Split a paragraph into plain text and :class:`Fix` segments.

    One left-to-right pass; where two keys could match at the same place the
    longer one wins, so 'Lham Aliyev' is preferred over a shorter 'Lham'.

    With ``str.find`` rather than a regular expression: the keys differ from
    one annotation to the next, and compiling a pattern for each of 10,000
    articles cost 0.5 s a run (more than Python's pattern cache holds).
    A paragraph holds few of the keys, so the earliest, longest one is found
    among a handful each time.
    """
    # Most paragraphs hold none of the damaged words: a substring test per key.
    keys = [k for k in corrections if k and k in paragraph]
    if not keys:
        return (paragraph,)
    out: list[Segment] = []
    pos = 0
    found = {k: paragraph.find(k) for k in keys}  # each key's next occurrence at or after pos
    while found:
        start, _, k = min((i, -len(k), k) for k, i in found.items())
        if start > pos:
            out.append(paragraph[pos:start])
        out.append(Fix(k, corrections[k]))
        pos = start + len(k)
        for other, i in list(found.items()):
            if i < pos:
                j = paragraph.find(other, pos)
                if j < 0:
                    del found[other]
                else:
                    found[other] = j
    if pos < len(paragraph):
        out.append(paragraph[pos:])
    return tuple(out)


def plain(segments: Iterable[Segment]) -> str:
    """The corrected text of a paragraph."""
    return "".join(s.corrected if isinstance(s, Fix) else s for s in segments)


_QUOTES: Final = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                  "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                  "\u00ab": '"', "\u00bb": '"'}
_QUOTE_RE: Final = re.compile("[" + "".join(_QUOTES) + "]")


def normalize_for_match(text: str) -> str:
    """Ignore white-space differences and typographic quotes when matching quotes.
    (A regular expression, not ``str.translate``: see :func:`soft_wrap`.)"""
    if _QUOTE_RE.search(text):
        text = _QUOTE_RE.sub(lambda m: _QUOTES[m.group()], text)
    return " ".join(text.split())  # the same white space as \s, faster than a regular expression


class QuoteFinder:
    """Finds quotes in one article's paragraphs. Each paragraph is normalised
    at most once, however many quotes are looked up, and only as far as the
    quotes need (normalising every paragraph again for every quote cost
    3.7 s of 22 s at 10,000 articles of 16 paragraphs and three quotes)."""

    def __init__(self, paragraphs: Sequence[str]) -> None:
        self._paragraphs = paragraphs
        self._normal: list[str] = []
        self._joined: tuple[str, list[int]] | None = None

    def find(self, quote_text: str) -> int | None:
        """Index of the paragraph holding the quote (or where it starts), else None."""
        needle = normalize_for_match(quote_text).strip("\"' ")
        if not needle:
            return None
        normal = self._normal
        for i, p in enumerate(self._paragraphs):
            if i == len(normal):
                normal.append(normalize_for_match(p))
            if needle in normal[i]:
                return i
        # A quote may run across a paragraph break: find where it starts.
        if self._joined is None:
            starts = []
            at = 0
            for p in normal:
                starts.append(at)
                at += len(p) + 1
            self._joined = (" ".join(normal) + " ", starts)
        joined, starts = self._joined
        at = joined.find(needle)
        if at < 0:
            return None
        return max(i for i, s in enumerate(starts) if s <= at)


_TRANSLIT: Final = str.maketrans({"ı": "i", "ə": "e", "Ə": "e", "ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o",
                                  "Ø": "o", "đ": "d", "Đ": "d", "ł": "l", "Ł": "l", "þ": "th", "œ": "oe"})


@functools.lru_cache(maxsize=1 << 16)
def casefold_key(name: str) -> str:
    """The identity of a topic, region, entity or source name. Remembered:
    a digest names a few hundred hubs over and over (155,000 calls at
    10,000 articles, 0.2 s of the cross-check made afresh)."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


def slugify(name: str) -> str:
    """An ASCII slug for a hub's file name; names in other scripts get a stable hash."""
    text = unicodedata.normalize("NFKD", name.translate(_TRANSLIT))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:60].strip("-")
    if not slug:
        slug = "x-" + short_hash(casefold_key(name))
    return slug


def short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def first_sentence(text: str, limit: int = 120) -> str:
    """A title for an unreviewed article: its first sentence, cut at a word boundary."""
    first = split_paragraphs(text)[0] if text.strip() else ""
    first = re.sub(r"^#{1,6}\s+", "", first)  # a Markdown heading is a fine title
    first = _WS.sub(" ", first).strip()
    m = re.search(r"(?<=[.!?])\s", first)
    sentence = first[:m.start()] if m else first
    if len(sentence) <= limit:
        return sentence or "(untitled)"
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return (cut if len(cut) > limit // 3 else sentence[:limit]).rstrip(" ,;:-") + "…"


# Characters that are Markdown syntax anywhere in a line. Others ('.', '-',
# '+', '>', digits) only matter at the start of a line and are escaped there:
# every backslash costs Python-Markdown an inline-pattern pass, and plain text
# is mostly periods and hyphens.
_MD_ESCAPE: Final = re.compile(r"([\\`*_{}\[\]#|])")
_LINE_START: Final = re.compile(r"^(\d+)([.)])|^([-+>])")


@lru_cache(maxsize=1 << 16)  # titles and names recur in many lists
def md_text(text: str) -> str:
    """Escape text so Markdown shows it exactly as written, on one line.

    Newlines become spaces (seeds use single newlines as soft wraps), so only
    the first character can start block syntax (a list, a quote, a heading);
    '&' and '<' become entities so no HTML or entity can form either.
    """
    text = _WS.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_ESCAPE.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if m.group(1) else f"\\{m.group(3)}", text)


@lru_cache(maxsize=1 << 16)  # grade and entity titles recur on every page
def html_attr(text: str) -> str:
    """Escape for a double-quoted HTML attribute written inside Markdown."""
    text = _WS.sub(" ", text).strip()
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


_CODE_SPAN: Final = re.compile(r"(`+)(.+?)\1", re.S)
_LINK_TARGET: Final = re.compile(r"\]\(\s*<?([^)\s>]*)")


def md_inline(text: str) -> str:
    """Inline Markdown from an annotation (the assessment), with HTML neutralised.

    Raw HTML is shown as text, links may only go to http(s) or mailto, and
    block syntax cannot start because newlines become spaces.
    """
    result = neutralise_markdown(_WS.sub(" ", text).strip())
    # A block construct at the very start (heading, list, quote, table,
    # reference definition) would change the page's structure.
    if re.match(r"^(\[[^\]]*\]:|[#>]|[-+*](\s|$))", result):
        return "\\" + result
    number = re.match(r"^\d+(?=[.)])", result)
    if number:
        return number.group(0) + "\\" + result[number.end():]
    return result


def neutralise_markdown(text: str) -> str:
    """Markdown with raw HTML shown as text and only http(s)/mailto links.

    Code spans keep their content, since Markdown already shows it literally.
    """
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN.finditer(text):
        out.append(_neutralise(text[pos:m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_neutralise(text[pos:]))
    return "".join(out)


def _neutralise(chunk: str) -> str:
    # Seeds cannot carry images, and an image from another host would be a
    # request from the reader's browser: image syntax stays visible as text.
    chunk = chunk.replace("<", "&lt;").replace("![", "!\\[")

    def check(m: re.Match[str]) -> str:
        scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", m.group(1))
        if scheme and scheme.group(1).lower() not in ("http", "https", "mailto"):
            return "\\]\\(" + m.group(0)[2:]
        return m.group(0)

    return _LINK_TARGET.sub(check, chunk)


_FENCE: Final = re.compile(r"^(`{3,}|~{3,})")


def markdown_blocks(text: str) -> list[str]:
    """Blocks of a Markdown body separated by blank lines, keeping fenced code whole."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE.match(line.lstrip())
        if fence is None and m:
            fence = m.group(1)[0] * 3
        elif fence is not None and line.lstrip().startswith(fence):
            fence = None
        if fence is None and not line.strip():
            if current:
                blocks.append("\n".join(current).rstrip())
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current).rstrip())
    return [b for b in blocks if b.strip()]

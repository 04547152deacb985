"""Damaged text: words that came in broken, each with the correction that fixes it.

Three kinds of damage reach ``seeds/`` from real sources:

- letters lost: a feed or a copy dropped the letters outside ASCII
  (``Kzlelma`` for ``Kızılelma``, ``Lham`` for ``İlham``). A word is reported
  when it equals a known name's word with some of its non-ASCII letters
  removed, compared ignoring case. Known names are the registry's names and
  aliases and the names annotations use;
- mojibake: UTF-8 read as Windows-1252 or Latin-1 (``KÄ±zÄ±lelma``), recognised
  and undone by ``ftfy``;
- replacement characters (U+FFFD, ``Kız�lelma``): a decoder gave up. The known
  name they most likely stand for is proposed when exactly one fits.

Only words are looked at, never their meaning: a lost letter that leaves a
word no known name contains, or a wrong letter that is still a letter, is not
found. Everything here is a pure function of the text and the names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Final

import ahocorasick
import ftfy
from ftfy.badness import is_bad

from digest.connect import is_word

MIN_LETTERS: Final = 4  # a damaged form shorter than this matches too many ordinary words
MAX_DROPPED: Final = 8  # letters outside ASCII in one word: 2**8 damaged forms at most
_WORD: Final = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
# Two characters that UTF-8 decoded as Windows-1252 or Latin-1 produces (a
# lead byte then a continuation byte): only text holding such a pair is given
# to ftfy, which then decides.
_MOJIBAKE: Final = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                              "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
                              "\u203a\u20ac\u2122]")
# A token as ftfy is given it: no surrounding punctuation (mojibake pairs
# hold no ASCII, so an ASCII mark never cuts one).
_TOKEN: Final = re.compile(r"[^\s.,;:!?()\[\]{}\"']+")


@dataclass(frozen=True, order=True)
class Damage:
    """One damaged word: where it starts in the text, as written, its fix."""

    start: int
    found: str
    fixed: str  # "" when nothing known fits
    kind: str  # "lost letters", "mojibake", "replacement character"

    def correction(self) -> str:
        """The ``corrections:`` line that fixes it (YAML, quoted)."""
        return f"{_quote(self.found)}: {_quote(self.fixed)}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def name_words(names: Iterable[str]) -> set[str]:
    """Every word of the known names."""
    return {w for name in names for w in _WORD.findall(name)}


class Detector:
    """Finds damaged words in article texts, given the known names."""

    def __init__(self, names: Iterable[str]) -> None:
        every = name_words(names)
        words = {w for w in every if not w.isascii()}  # only these can lose letters
        self._words = sorted(words)
        lost: dict[str, set[str]] = {}
        intact = {w.lower() for w in every}  # a form that is itself a known word is no damage
        for word in words:
            # Only Latin letters (ı, ğ, ə, ş, é) are lost this way, from a
            # Latin-script name: a name with letters of another script
            # ('Миhago') would leave a different word, not a damaged one.
            at = [i for i, c in enumerate(word) if not c.isascii()]
            if not all(unicodedata.name(word[i], "").startswith("LATIN") for i in at):
                continue
            if len(at) > MAX_DROPPED:
                continue
            for k in range(1, len(at) + 1):
                for dropped in combinations(at, k):
                    form = "".join(c for i, c in enumerate(word) if i not in dropped)
                    if sum(c.isalpha() for c in form) >= MIN_LETTERS and form.lower() not in intact:
                        lost.setdefault(form.lower(), set()).add(word)
        # One automaton over every damaged form: each text is scanned once.
        self._auto: ahocorasick.Automaton | None = None
        if lost:
            auto = ahocorasick.Automaton()
            for form, originals in lost.items():
                # A form two names could have lost letters from is reported
                # only when one of them fits; ambiguous forms are left out.
                if len(originals) == 1:
                    auto.add_word(form, (len(form), next(iter(originals))))
            if len(auto):
                auto.make_automaton()
                self._auto = auto

    def find(self, text: str, ignore: Mapping[str, str] | None = None) -> list[Damage]:
        """Every damaged word in ``text``, in order; words inside a passage
        that is a key of ``ignore`` (the annotation's corrections) are skipped."""
        found = [*self._lost(text), *self._mojibake(text), *self._replaced(text)]
        if not found:
            return []
        # A word inside a corrected passage ('Lham' in 'Lham Aliyev') is fixed already.
        covered = [(at, at + len(k)) for k in ignore or {} if k for at in _occurrences(text, k)]
        seen: set[int] = set()
        out = []
        for d in sorted(found):
            if d.start in seen or any(a <= d.start < b for a, b in covered):
                continue
            seen.add(d.start)
            out.append(d)
        return out

    def _lost(self, text: str) -> Iterator[Damage]:
        if self._auto is None:
            return
        low = text.lower()
        if len(low) != len(text):  # 'İ' lowers to two characters: keep offsets
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        n = len(text)
        for last, (length, original) in self._auto.iter(low):
            start, end = last + 1 - length, last + 1
            if (start > 0 and is_word(text[start - 1])) or (end < n and is_word(text[end])):
                continue
            found = text[start:end]
            yield Damage(start, found, _same_case(found, original), "lost letters")

    def _mojibake(self, text: str) -> Iterator[Damage]:
        if not _MOJIBAKE.search(text):
            return
        for m in _TOKEN.finditer(text):
            token = m.group()
            if _MOJIBAKE.search(token) and is_bad(token):
                fixed = ftfy.fix_encoding(token)
                if fixed != token:
                    yield Damage(m.start(), token, fixed, "mojibake")

    def _replaced(self, text: str) -> Iterator[Damage]:
        if "\ufffd" not in text:
            return
        for m in re.finditer(r"[^\W_]*\ufffd[\w\ufffd]*", text):
            found = m.group()
            # A decoder writes one or two U+FFFD for each character it lost.
            pattern = re.compile("".join("..?" if c == "\ufffd" else re.escape(c) for c in found), re.I)
            fits = sorted({w for w in self._words if pattern.fullmatch(w)})
            yield Damage(m.start(), found, _same_case(found, fits[0]) if len(fits) == 1 else "",
                         "replacement character")


def _occurrences(text: str, key: str) -> Iterator[int]:
    at = text.find(key)
    while at >= 0:
        yield at
        at = text.find(key, at + 1)


def _same_case(found: str, original: str) -> str:
    """The name's word in the case the text used (a headline in capitals)."""
    letters = [c for c in found if c.isalpha()]
    if len(letters) > 1 and all(c.isupper() for c in letters):
        return original.upper()
    return original


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of an offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1

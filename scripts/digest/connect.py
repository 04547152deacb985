"""Connecting the dots: entity mentions, related articles and co-mentions.

Everything here is a pure function of the articles and the entity names, so
the Digest stays deterministic. The costs are kept proportional to the text
and to the overlaps that exist, never to articles x articles:

* mentions use one Aho-Corasick automaton (``pyahocorasick``) over all names
  and aliases, so each article's text is scanned once, whatever the number of
  entities;
* related articles are counted through inverted indexes (entity -> articles,
  kept as bit sets), so an article only ever meets the articles it shares
  something with, and the counting is a few bit-set operations an article.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

import ahocorasick

from digest.text import Paragraph, plain

_V = TypeVar("_V")

RELATED_MAX: Final = 5  # related articles shown on an article page
CO_MAX: Final = 10  # entities shown as "appears with" on a dossier


# Letters whose lower case is not what their capital lowers to: dotless ı
# (KIZILELMA is Kızılelma), final sigma, long s.
_FOLD: Final = str.maketrans({"ı": "i", "ς": "σ", "ſ": "s"})


def _lower(text: str) -> str:
    """Lower case with the same length, so offsets in the lowered text are
    offsets in the original (``'İ'.lower()`` is two characters: kept as is)."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    # Tested first: ``str.translate`` is slow on text that is not ASCII.
    return low.translate(_FOLD) if "ı" in low or "ς" in low or "ſ" in low else low


def is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _acronym(form: str) -> bool:
    letters = [c for c in form if c.isalpha()]
    return bool(letters) and len(letters) <= 4 and all(c.isupper() for c in letters)


def case_matches(found: str, form: str) -> bool:
    """Is ``found`` in a text this name written as ``form``?

    Case-aware rather than case-blind, so that 'US' is not found in 'us',
    'Turkey' not in 'turkey', while 'Roketsan' and 'ROKETSAN' find each other:

    * the same characters always match;
    * a short all-capitals name (an acronym, four letters at most) matches only
      exactly;
    * text in all capitals (a headline) matches any longer name;
    * a name in all capitals matches text that starts with a capital;
    * otherwise each word must start with the same case as in the name.
    """
    if found == form:
        return True
    if _acronym(form):
        return False
    if found.isupper():
        return True
    if form.isupper():
        return found[:1].isupper()
    return all(w1[:1].isupper() == w2[:1].isupper() for w1, w2 in zip(found.split(), form.split(), strict=False))


class Matcher:
    """Finds the known names of entities in text, on word boundaries."""

    def __init__(self, names: Mapping[str, str]) -> None:
        """``names`` maps every spelling (canonical name, alias, a name as an
        annotation wrote it) to its entity key."""
        forms: dict[str, tuple[str, list[str]]] = {}
        for spelling, key in sorted(names.items()):
            spelling = " ".join(spelling.split())
            if not spelling:
                continue
            low = _lower(spelling)
            entry = forms.setdefault(low, (key, []))
            if entry[0] == key and spelling not in entry[1]:
                entry[1].append(spelling)
        self._auto: ahocorasick.Automaton | None = None
        if forms:
            auto = ahocorasick.Automaton()
            for low, (key, spellings) in forms.items():
                auto.add_word(low, (len(low), key, tuple(spellings)))
            auto.make_automaton()
            self._auto = auto

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Mentions as ``(start, end, key)``: leftmost, then longest, never
        overlapping, each on word boundaries and matching case as
        :func:`case_matches` says."""
        if self._auto is None or not text:
            return []
        low = _lower(text)
        found: list[tuple[int, int, str]] = []
        n = len(text)
        for last, (length, key, spellings) in self._auto.iter(low):
            start, end = last + 1 - length, last + 1
            if start > 0 and is_word(text[start - 1]) and is_word(text[start]):
                continue
            if end < n and is_word(text[end]) and is_word(text[end - 1]):
                continue
            piece = text[start:end]
            if any(case_matches(piece, form) for form in spellings):
                found.append((start, end, key))
        if len(found) < 2:
            return found
        found.sort(key=lambda m: (m[0], m[0] - m[1]))
        chosen: list[tuple[int, int, str]] = []
        edge = 0
        for m in found:
            if m[0] >= edge:
                chosen.append(m)
                edge = m[1]
        return chosen


def mentions(matcher: Matcher, paragraphs: Sequence[Paragraph]) -> tuple[tuple[str, ...], tuple[tuple[int, int, int, str], ...]]:
    """The entities an article's text mentions (in order of first mention) and,
    per paragraph, the first mention of each: ``(paragraph, start, end, key)``."""
    seen: dict[str, None] = {}
    links: list[tuple[int, int, int, str]] = []
    for number, paragraph in enumerate(paragraphs, start=1):
        here: set[str] = set()
        for start, end, key in matcher.find(plain(paragraph)):
            seen.setdefault(key, None)
            if key not in here:
                here.add(key)
                links.append((number, start, end, key))
    return tuple(seen), tuple(links)


@dataclass(frozen=True)
class Related:
    """A related article and why it is listed."""

    id: str
    reason: str
    chosen: bool = False  # named by the analyst in ``related``


@dataclass(frozen=True)
class Facets:
    """What an article shares with others, keys by kind."""

    date: dt.date | None
    entities: tuple[str, ...]
    topics: tuple[str, ...]
    regions: tuple[str, ...]


def _reason(shared: Sequence[str], names: Mapping[str, str], limit: int = 4) -> str:
    shown = [names[k] for k in shared[:limit]]
    more = len(shared) - limit
    return "shares " + ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def rank_related(facets: Mapping[str, Facets], chosen: Mapping[str, Sequence[str]],
                 names: Mapping[str, str], only: Collection[str] | None = None) -> dict[str, tuple[Related, ...]]:
    """Up to :data:`RELATED_MAX` related articles per article (with
    ``only``, for those articles alone, among all of them).

    The analyst's ``related`` come first, in their order. The rest are ranked
    by the number of shared annotated entities, then of shared topics and
    regions together, then by closeness in date, then by id (so the order is
    total and the output stable). An article that shares nothing is never
    related. ``names`` maps keys (entity, topic and region keys, prefixed
    ``e:``, ``t:``, ``r:``) to the names shown in the reason.
    """
    ids = list(facets)
    by_entity: dict[str, list[int]] = {}
    by_other: dict[str, list[str]] = {}
    # Topics and regions as one set per article, and dates as day numbers,
    # computed once: the ranking below touches them for every candidate.
    other_sets: dict[str, frozenset[str]] = {}
    days: dict[str, int] = {}
    if only is not None:
        # A few articles ranked among all (rank_added): only their entities,
        # topics and regions are indexed, and the sets and days made for the
        # candidates met (indexing all took 0.1 s at 10,000 articles).
        few = [facets[i] for i in only if i in facets]
        entities = {k for f in few for k in f.entities}
        topics, regions = {k for f in few for k in f.topics}, {k for f in few for k in f.regions}
        other_sets = _OnDemand(lambda ident: _others(facets[ident]))
        days = _OnDemand(lambda ident: _day(facets[ident]))
        for number, (ident, f) in enumerate(facets.items()):
            for k in f.entities:
                if k in entities:
                    by_entity.setdefault(k, []).append(number)
            for k in f.topics:
                if k in topics:
                    by_other.setdefault("t:" + k, []).append(ident)
            for k in f.regions:
                if k in regions:
                    by_other.setdefault("r:" + k, []).append(ident)
    else:
        for number, (ident, f) in enumerate(facets.items()):
            for k in f.entities:
                by_entity.setdefault(k, []).append(number)
            mine = _others(f)
            for k in mine:
                by_other.setdefault(k, []).append(ident)
            other_sets[ident] = mine
            days[ident] = _day(f)
    # Each entity's articles as a bit set (bit n: the n-th article).
    masks = {k: _mask(numbers, len(ids)) for k, numbers in by_entity.items()}
    number_of = {ident: n for n, ident in enumerate(ids)}

    out: dict[str, tuple[Related, ...]] = {}
    for ident, f in facets.items():
        if only is not None and ident not in only:
            continue
        picked: list[Related] = []
        taken = {ident}
        mine = other_sets[ident]
        for other in chosen.get(ident, ()):
            if other in facets and other not in taken:
                why = _shared(f, facets[other], names)
                picked.append(Related(other, "chosen by the analyst" + ("; " + _reason(why, names) if why else ""),
                                      chosen=True))
                taken.add(other)
        want = RELATED_MAX - len(picked)
        if want <= 0:
            out[ident] = tuple(picked)
            continue
        # at_least[c]: the articles sharing at least c of this article's
        # entities, as bit sets, added up one entity at a time. The ranking
        # needs only the level where the ``want`` best candidates are, so
        # the counting costs a few operations on bit sets per article instead
        # of a dictionary update per candidate (about a thousand an article
        # at 10,000 articles, where the candidates are everyone sharing an
        # entity).
        keys = list(dict.fromkeys(f.entities))  # every one has a mask: the masks come from these facets
        at_least = [-1] + [0] * len(keys)
        for i, k in enumerate(keys, start=1):
            for c in range(i, 0, -1):
                at_least[c] |= at_least[c - 1] & masks[k]
        free = ~_mask([number_of[t] for t in taken], len(ids))
        level = next((c for c in range(len(keys), 0, -1) if (at_least[c] & free).bit_count() >= want), 0)
        # The candidates at that level and above, each with its count of
        # shared entities (at least ``want`` of them), or, when fewer than
        # ``want`` share any entity, all those that do.
        counts: dict[str, int] = {}
        at_least.append(0)
        for c in range(len(keys), (level or 1) - 1, -1):
            for n in _bits(at_least[c] & ~at_least[c + 1] & free):  # exactly c shared
                counts[ids[n]] = c
        if level:
            best = _best(want, counts, mine, other_sets, days, days[ident])
        else:
            # Too few share an entity: those sharing a topic or region fill up.
            # Rare, and the only case that walks the (large) topic buckets.
            pool: set[str] = set()
            for k in mine:
                pool.update(by_other[k])
            pool -= taken
            best = _best(want, {c: counts.get(c, 0) for c in pool | counts.keys()}, mine, other_sets, days,
                         days[ident])
        for other in best:
            why = _shared(f, facets[other], names)
            if why:
                picked.append(Related(other, _reason(why, names)))
        out[ident] = tuple(picked)
    return out


def _day(f: Facets) -> int:
    return f.date.toordinal() if f.date else -(1 << 40)  # undated: as far as can be


def _others(f: Facets) -> frozenset[str]:
    return frozenset(["t:" + k for k in f.topics] + ["r:" + k for k in f.regions])


def rank_added(before: Mapping[str, Facets], ranked: Mapping[str, tuple[Related, ...]],
               chosen_before: Mapping[str, Sequence[str]], names_before: Mapping[str, str],
               facets: Mapping[str, Facets], chosen: Mapping[str, Sequence[str]],
               names: Mapping[str, str]) -> dict[str, tuple[Related, ...]] | None:
    """:func:`rank_related` of ``facets``, ``chosen`` and ``names``, made
    from ``ranked``, the ranking of ``before`` (with ``chosen_before`` and
    ``names_before``), when all that changed is articles added (an analyst
    brings one in): those are ranked among all, and each earlier article's
    list takes an added one only where it beats the list's last. None when
    anything else changed (the caller then ranks every article: 1.7 s at
    10,000 articles, against a few hundredths here).

    The ranking is a total order on (shared entities, then shared topics and
    regions, then closeness in date, then id) among the articles that share
    anything (see :func:`_best`), so an earlier list changes only by added
    articles ranked above its last or filling it up."""
    added = [i for i in facets if i not in before]
    fresh = set(added)
    if not added or any(facets.get(i) != f for i, f in before.items()) \
            or any(names.get(k) != v for k, v in names_before.items()) or ranked.keys() != before.keys():
        return None
    for ident in before:
        mine = tuple(chosen.get(ident, ()))
        if mine != tuple(chosen_before.get(ident, ())) or fresh.intersection(mine):
            return None
    out = dict(ranked)
    out.update(rank_related(facets, chosen, names, only=fresh))
    # What the added articles name: an article that names none of it shares
    # nothing with them (most of them; _place for each took 0.15 s at 10,000).
    entities = {k for a in added for k in facets[a].entities}
    topics, regions = {k for a in added for k in facets[a].topics}, {k for a in added for k in facets[a].regions}
    for ident in before:
        f = facets[ident]
        if entities.isdisjoint(f.entities) and topics.isdisjoint(f.topics) and regions.isdisjoint(f.regions):
            continue
        # Each added article that shares anything, by its place in the order.
        candidates = [(*_place(f, facets[a]), a) for a in added]
        candidates = [c for c in candidates if c[0] < 0]
        if not candidates:
            continue
        picked = [r for r in ranked[ident] if r.chosen]
        listed = [r for r in ranked[ident] if not r.chosen]
        want = RELATED_MAX - len(picked)
        if want <= 0:
            continue
        if len(listed) >= want:
            # A full list changes only for an added article placed before its last.
            last = listed[want - 1].id
            candidates = [c for c in candidates if c < (*_place(f, facets[last]), last)]
            if not candidates:
                continue
        order = candidates + [(*_place(f, facets[r.id]), r.id) for r in listed]
        best = [other for _, _, other in sorted(order)[:want]]
        if best == [r.id for r in listed]:
            continue
        kept = {r.id: r for r in listed}
        out[ident] = tuple(picked + [kept.get(other) or Related(other, _reason(_shared(f, facets[other], names), names))
                                     for other in best])
    return out


class _OnDemand(dict[str, _V]):
    """A dict that makes a missing key's value when it is first read."""

    def __init__(self, make: Callable[[str], _V]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, key: str) -> _V:
        value = self[key] = self._make(key)
        return value


def _place(f: Facets, of: Facets) -> tuple[int, int]:
    """Where ``of`` stands among ``f``'s related articles, before its id
    (lower first): shared entities and shared topics and regions as one
    score (as _best counts them), negated, then the distance in days."""
    score = len(set(f.entities) & set(of.entities)) * 1024 + len(_others(f) & _others(of))
    return (-score, abs(_day(f) - _day(of)))


def _shared(f: Facets, of: Facets, names: Mapping[str, str]) -> list[str]:
    """What two articles share, in the order a reason names it (rank_related's ``shared``)."""
    mine = _others(f)
    return [f"e:{k}" for k in f.entities if k in of.entities] + sorted(
        mine & _others(of), key=lambda k: (k[0] != "r", names[k].casefold(), k))


def _mask(numbers: Iterable[int], size: int) -> int:
    """The bit set of ``numbers`` (all below ``size``) as an integer."""
    bits = bytearray((size + 7) // 8)
    for n in numbers:
        bits[n >> 3] |= 1 << (n & 7)
    return int.from_bytes(bits, "little")


_BYTE_BITS: Final = tuple(tuple(b for b in range(8) if byte >> b & 1) for byte in range(256))
_NONZERO: Final = re.compile(rb"[^\x00]")


def _bits(mask: int) -> list[int]:
    """The numbers in a (non-negative) bit set, ascending. The regular
    expression skips the empty bytes in C: the sets are sparse."""
    data = mask.to_bytes((mask.bit_length() + 7) // 8, "little")
    return [m.start() * 8 + b for m in _NONZERO.finditer(data) for b in _BYTE_BITS[data[m.start()]]]


def _best(want: int, counts: Mapping[str, int], mine: frozenset[str], other_sets: Mapping[str, frozenset[str]],
          days: Mapping[str, int], day: int) -> list[str]:
    """The ``want`` most related candidates (``counts``: candidate -> shared
    entities): more shared entities, then more shared topics and regions, then
    closer in date, then by id (a total order).

    Each key is compared only where the ones before it tie at the cut-off, so
    the costlier comparisons run on a few candidates, not on all of them: the
    work stays near the number of candidates (about a thousand an article at
    10,000 articles) instead of a Python sort key for each.
    """
    if not counts:
        return []
    cut = heapq.nlargest(want, counts.values())[-1]
    group = [c for c, n in counts.items() if n >= cut]
    # Shared entities and shared topics and regions as one number (far fewer
    # than 1,024 topics and regions are ever shared).
    scores = {c: counts[c] * 1024 + len(mine & other_sets[c]) for c in group}
    scores = {c: v for c, v in scores.items() if v > 0}
    if not scores:
        return []
    cut = heapq.nlargest(want, scores.values())[-1]
    finalists = [c for c, v in scores.items() if v >= cut]
    finalists.sort(key=lambda c: (-scores[c], abs(day - days[c]), c))
    return finalists[:want]


def co_mentions(appearances: Mapping[str, Iterable[str]]) -> dict[str, tuple[tuple[str, int], ...]]:
    """For each entity, the entities it appears with in the most articles
    (annotated or mentioned), most first, ties by key; at most :data:`CO_MAX`.

    The pairs are counted per entity, by ``Counter.update`` over the entities
    of each of its articles: the same counts as a loop over every pair, but
    the counting runs in C. The pairs grow with the square of the entities an
    article names (20 or 30 in a long article); the Python loop over them
    took 3 s at 10,000 such articles.
    """
    present = {ident: set(keys) for ident, keys in appearances.items()}
    articles_of: dict[str, list[str]] = {}
    for ident, keys in present.items():
        for k in keys:
            articles_of.setdefault(k, []).append(ident)
    return {k: appears_with(k, (present[ident] for ident in ids)) for k, ids in articles_of.items()}


def appears_with(key: str, appearances: Iterable[Collection[str]]) -> tuple[tuple[str, int], ...]:
    """:func:`co_mentions` of the entity ``key``, from the entities of each
    article it appears in (each collection holding each entity once)."""
    counter: Counter[str] = Counter()
    for keys in appearances:
        counter.update(keys)
    del counter[key]  # an entity does not appear "with" itself
    return tuple(heapq.nsmallest(CO_MAX, counter.items(), key=lambda kv: (-kv[1], kv[0])))

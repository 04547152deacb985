"""Pages the last run wrote that this run need not render again.

After one edit at 10,000 articles, rendering every article page took 2 to
3 s, and hashing the results to learn that all but a few were unchanged
took more. Each article page is instead given a key: a hash of everything
its Markdown is made from (the article with its text's hash in place of the
text, the names and slugs of the hubs it links, the titles and dates of
its related articles, every article's label when any is marked, the
generator's version). docs/digest/'s manifest records the key beside
each file's size, time and hash; a page whose key is unchanged, in a file
that still has its recorded size and time, is kept as the last run wrote it.

The key is an optimisation, like the memo: a key that missed an input
would keep a stale page, which is why the incremental property test
compares every step with a clean build, and why the generator's version is
part of every key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import marshal
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from digest.fsutil import Splice
from digest.model import Article, Correction, Digest, Hub
from digest.render.common import HUB_FOLDERS


class Kept:
    """A page kept as the last run wrote it (docs/digest/ holds its bytes)."""

    _instance: Kept | None = None

    def __new__(cls) -> Kept:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "KEPT"


KEPT: Final = Kept()
Page = str | bytes | Kept  # a rendered page, or KEPT

# Every field but the text, which is stood for by its hash (text_key): the
# repr of 10,000 articles' paragraphs cost 0.9 s, the rest 0.3 s.
_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Article) if f.name != "paragraphs")
_GET_FIELDS: Final = operator.attrgetter(*_FIELDS)
def plain_corrections(fixes: tuple[Correction, ...]) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """An article's corrections as plain values (for :func:`plain_fingerprint`)."""
    return tuple((c.original, c.corrected, c.paragraphs) for c in fixes)


def _day(date: dt.date | None) -> int:
    return date.toordinal() if date else 0


# The fields whose values marshal cannot write, as plain values. Any other
# field is written as it is: one holding something else (a new field of
# another type) makes marshal raise, so a key never leaves a field out.
_CONVERT: Final[dict[str, Callable[[Any], Any]]] = {
    "date": _day,
    "published": _day,
    "quotes": lambda quotes: tuple((q.text, q.by, q.paragraph) for q in quotes),
    "corrections": plain_corrections,
    "ranked": lambda ranked: tuple((r.id, r.reason, r.chosen) for r in ranked),
}
_AS_PLAIN: Final = {_FIELDS.index(name): convert for name, convert in _CONVERT.items()}  # by field position


_HUB_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Hub) if f.name not in ("articles", "mentioned"))


def fingerprint(value: object) -> str:
    """A hash of ``value``'s repr: a key, or a part of one that many keys
    share (made once, it spares each of them the repr of the whole)."""
    return hashlib.blake2b(repr(value).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def plain_fingerprint(value: Any) -> str:
    """:func:`fingerprint` of a value made of tuples, strings, numbers,
    booleans and None only, in half the time: marshal's format 2 writes
    no references, so equal values give equal bytes (a later format
    refers back to an object met before, which depends on which objects
    happen to be the same). Anything else raises ValueError."""
    return hashlib.blake2b(marshal.dumps(value, 2), digest_size=16).hexdigest()


def _plain_article(article: Article) -> tuple[object, ...]:
    values = list(_GET_FIELDS(article))
    for i, convert in _AS_PLAIN.items():
        values[i] = convert(values[i])
    return tuple(values)


def _hub(hub: Hub | None) -> tuple[str, str, str, str] | None:
    return None if hub is None else (hub.kind, hub.name, hub.slug, hub.entity_kind)


def _labels(digest: Digest) -> dict[str, str]:
    return {a.id: a.tlp for a in digest.articles.values() if a.tlp}


@dataclass(frozen=True)
class Changes:
    """What differs between the model the last run's pages were made from
    and this run's, for :class:`Reuse` to make again only the keys that
    can differ: the articles whose values differ (added and removed ones
    included), the hubs whose values differ (their lists of articles
    included), the editions whose pages' inputs besides their articles
    differ (articles, neighbours, brief, printed or not), whether the
    newest-first list of reviewed articles (the site-wide feed's) differs,
    and the entities whose aliases differ."""

    articles: frozenset[str]
    hubs: frozenset[tuple[str, str]] = frozenset()  # (kind, key)
    dates: frozenset[dt.date] = frozenset()
    reviewed: bool = False
    # Entities whose aliases differ: an article's search document lists
    # the spellings of the entities it names (digest.render.search).
    spelled: frozenset[str] = frozenset()


def _editions(digest: Digest) -> dict[dt.date, tuple[object, ...]]:
    """What an edition's page is made from besides its articles' own values."""
    dates = [date for date, _ in digest.editions]
    return {date: (ids, dates[i - 1] if i > 0 else None, dates[i + 1] if i + 1 < len(dates) else None,
                   date in digest.delivery.printed, digest.briefs.get(date))
            for i, (date, ids) in enumerate(digest.editions)}


def changes(before: Digest, after: Digest) -> Changes | None:
    """The :class:`Changes` from ``before`` to ``after`` (models of the
    same settings); None when a change reaches pages that read none of
    what changed, so that every key must be made: a hub shown differently
    where articles link it (its name, slug or kind), an article's marking
    (a hub's page is labelled by all its articles, not only those it
    lists), the audience or the delivery settings (but for which editions
    are printed, compared edition by edition). Comparing two models
    of 10,000 articles took 0.08 s after an article was added."""
    # Which editions are printed is compared edition by edition (_editions).
    if before.audience != after.audience or \
            dataclasses.replace(before.delivery, printed=()) != dataclasses.replace(after.delivery, printed=()):
        return None
    old_labels, new_labels = _labels(before), _labels(after)
    if any(old_labels.get(i, "") != new_labels.get(i, "") for i in old_labels.keys() | new_labels.keys()
           if i in before.articles and i in after.articles):
        return None
    hubs: set[tuple[str, str]] = set()
    for kind in HUB_FOLDERS:
        old, new = before.hubs(kind), after.hubs(kind)
        for key in old.keys() | new.keys():
            a, b = old.get(key), new.get(key)
            if a is b:  # kept as it was (model.patch, model.add): a dataclass's == compares every field
                continue
            if a is not None and b is not None and _hub(a) != _hub(b):
                return None
            if a != b:
                hubs.add((kind, key))
    old_entities, new_entities = before.entities, after.entities
    spelled = frozenset(k for k in old_entities.keys() & new_entities.keys()
                        if old_entities[k].aliases != new_entities[k].aliases)
    was = before.articles
    articles = {i for i, a in after.articles.items() if was.get(i) is not a and was.get(i) != a}
    articles.update(before.articles.keys() - after.articles.keys())
    old_editions, new_editions = _editions(before), _editions(after)
    dates = frozenset(d for d in old_editions.keys() | new_editions.keys() if old_editions.get(d) != new_editions.get(d))
    return Changes(frozenset(articles), frozenset(hubs), dates, before.reviewed != after.reviewed, spelled)


@dataclass
class Reuse:
    """What decides which pages are kept: ``salt`` (the generator's version
    and the settings every page depends on), ``previous`` (each keyed page
    the last run wrote and that is still as it wrote it, with its key);
    ``keys`` collects this run's keys for the manifest."""

    salt: str
    previous: Mapping[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    _context: str = ""
    _listings: dict[str, str] = field(default_factory=dict)  # per article, once a run
    _hubs: dict[tuple[str, str], str] = field(default_factory=dict)  # per hub, once a run
    _heads: dict[str, str] = field(default_factory=dict)  # an article as a related link shows it, once a run
    # When the model differs from the one the last run's pages were made
    # from by ``changes``, and ``affected``, the pages whose keys read the
    # articles changed in the last run (its ``reads``):
    # every other article, edition, hub page, feed and chart the last run
    # wrote, and whose hub or edition did not change, keeps its key and its
    # bytes, its key not made again (making them all took 0.8 s at 10,000
    # articles). None: every key is made.
    changes: Changes | None = None
    affected: frozenset[str] = frozenset()
    # When not None, the articles each page whose key was made read (path ->
    # ids), for the next run's ``affected``.
    reads: dict[str, tuple[str, ...]] | None = None
    # The search documents' keys by page: the last run's and this run's
    # (digest.render.search), for the same purpose.
    lines_before: Mapping[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)
    # Pages whose bytes are mostly a file the last run wrote (pages.js
    # patched), for the writer to copy those parts (fsutil.Splice).
    splices: dict[str, Splice] = field(default_factory=dict)

    def start(self, digest: Digest) -> None:
        """What every page of ``digest`` depends on besides its own inputs:
        the audience and, when any article is marked, every article's label
        (digest.render.marking labels a page by the articles it links, read
        off the page, so a label change renders every page again; rare)."""
        labels = sorted((a.id, a.tlp) for a in digest.articles.values()) if \
            any(a.tlp for a in digest.articles.values()) else []
        self._listings.clear()
        self._hubs.clear()
        self._heads.clear()
        self._context = hashlib.blake2b(repr((self.salt, digest.audience, labels)).encode(), digest_size=16).hexdigest()

    def keep(self, path: str, inputs: object, *more: str) -> bool:
        """Record the key of the page at ``path`` (and of the files ``more``
        made from the same inputs), made from ``inputs`` (a value whose repr
        holds everything the page is made from besides what :meth:`start`
        took in); True when none of them need be made."""
        if not self._context:
            return False
        return self._record(fingerprint((self._context, inputs)), path, *more)

    def hub_changed(self, hub: Hub) -> bool:
        """Whether ``hub`` is not known to be as the last run's pages saw it."""
        return self.changes is None or (hub.kind, hub.key) in self.changes.hubs

    def reviewed_changed(self) -> bool:
        """Whether the newest-first list of reviewed articles is not known to be the last run's."""
        return self.changes is None or self.changes.reviewed

    def _as_before(self, *names: str) -> bool:
        """When ``changes`` is known: whether the page ``names[0]`` (and the
        files ``names[1:]`` made with it) read none of the articles changed
        and are as the last run wrote them, when their keys are that run's.
        (A page kept reads what it read then: the reads are not recorded.)"""
        if self.changes is None or names[0] in self.affected or any(n not in self.previous for n in names):
            return False
        for name in names:
            self.keys[name] = self.previous[name]
        return True

    def as_before(self, names: tuple[str, ...], reads: Iterable[str], *, fresh: bool = False) -> bool:
        """For a file made from the articles ``reads`` and no other (with
        the files ``names[1:]``): :meth:`_as_before`, unless ``fresh`` (what
        else it is made from changed), else recording what it reads. A
        caller that says True makes nothing; else it goes on to
        :meth:`keep`."""
        if not fresh and self._as_before(*names):
            return True
        self._read(names[0], reads)
        return False

    def _read(self, path: str, ids: Iterable[str]) -> None:
        """Record that the key of ``path`` read the articles ``ids``."""
        if self.reads is not None:
            self.reads[path] = tuple(ids)

    def _record(self, key: str, *names: str) -> bool:
        kept = True
        for name in names:
            self.keys[name] = key
            kept = kept and self.previous.get(name) == key
        return kept

    def article(self, digest: Digest, article: Article, path: str) -> bool:
        """:meth:`keep` for an article's page."""
        if not article.text_key or not self._context:
            return False  # built without its text's hash (a library call): always rendered
        if self._as_before(path):
            return True
        self._read(path, (article.id, *(r.id for r in article.ranked)))
        # As plain values, each hub's and each related article's made once
        # a run: the repr of every article's hubs, dates and related
        # articles took 0.9 s at 10,000 articles, this 0.45 s.
        hub, head = self._hub_shown, self._head
        entity_keys = sorted({*article.entities, *article.mentions, *(link[3] for link in article.links)})
        return self._record(plain_fingerprint((
            self._context, _plain_article(article),
            hub(digest.sources, "source", article.source),
            tuple(hub(digest.topics, "topic", k) for k in article.topics),
            tuple(hub(digest.regions, "region", k) for k in article.regions),
            tuple((k, hub(digest.entities, "entity", k)) for k in entity_keys),
            tuple(head(digest, r.id) for r in article.ranked),
        )), path)

    def _hub_shown(self, hubs: Mapping[str, Hub], kind: str, key: str) -> str:
        """What an article page shows of a hub it links (its :func:`_hub`), as a string."""
        known = self._hubs.get((kind, key))
        if known is None:
            known = self._hubs[kind, key] = repr(_hub(hubs.get(key)))
        return known

    def _head(self, digest: Digest, ident: str) -> str:
        """What a related link shows of an article: its id, title and date."""
        known = self._heads.get(ident)
        if known is None:
            o = digest.articles[ident]
            known = self._heads[ident] = repr((o.id, o.title, _day(o.date)))
        return known

    def hub(self, digest: Digest, hub: Hub, number: int, path: str, size: int) -> bool:
        """:meth:`keep` for page ``number`` of a hub, ``size`` articles a
        list: the hub, what each article listed on the page shows, and for
        an entity's first page every article's date (its chart and first
        and last seen) and the names of the entities it appears with."""
        if not self.hub_changed(hub) and self._as_before(path):
            return True
        first = (number - 1) * size
        shown = (*hub.articles[first:first + size], *hub.mentioned[first:first + size])
        self._read(path, (*hub.articles, *hub.mentioned) if hub.kind == "entity" and number == 1 else shown)
        # The hub without its lists of ids (thousands, for a large topic, on
        # each of its pages): a page shows its own part of them and their counts.
        fields = tuple(getattr(hub, name) for name in _HUB_FIELDS)
        inputs: tuple[object, ...] = (fields, len(hub.articles), len(hub.mentioned), number,
                                      tuple(self._listed(digest, i) for i in shown))
        if hub.kind == "entity" and number == 1:
            # Dates as day numbers: the repr of thousands of date objects
            # (an entity in every third article) cost more than the rest.
            inputs += (tuple(_day(digest.articles[i].date) for i in (*hub.articles, *hub.mentioned)),
                       tuple(_hub(digest.entities.get(k)) for k, _ in hub.appears_with))
        return self.keep(path, inputs)

    def edition(self, digest: Digest, date: dt.date, ids: tuple[str, ...], newer: dt.date | None,
                older: dt.date | None, path: str) -> bool:
        """:meth:`keep` for an edition's page (render.editions.render_edition):
        its date and neighbours, whether it has a printed brief, what each of
        its articles shows in a list, and its brief's hubs and counts."""
        if self.changes is not None and date not in self.changes.dates and self._as_before(path):
            return True
        self._read(path, ids)
        brief = digest.briefs.get(date)
        hubs: tuple[object, ...] = ()
        if brief is not None:
            hubs = (tuple(_hub(digest.entities.get(k)) for k in brief.first_seen),
                    tuple((_hub(digest.topics.get(k)), n, before) for k, n, before in brief.rising))
        return self.keep(path, (_day(date), _day(newer), _day(older), date in digest.delivery.printed, hubs,
                                tuple(self._listed(digest, i) for i in ids)))

    def _listed(self, digest: Digest, ident: str) -> str:
        """What a list of articles shows of one (digest.render.common's
        item and line_item), as a hash: made once a run, where a hub's
        pages list each article again (the repr of every listed summary,
        page by page, cost 0.5 s at 10,000 articles)."""
        known = self._listings.get(ident)
        if known is not None:
            return known
        o = digest.articles[ident]
        listed = fingerprint((o.id, o.title, o.date, o.summary, o.reliability, o.credibility, o.importance,
                              _hub(digest.sources.get(o.source))))
        self._listings[ident] = listed
        return listed

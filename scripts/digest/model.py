"""Stage 3: the Digest, a frozen, sorted, cross-referenced model of the corpus.

Cross-file rules live here: quotes must occur in the text, corrections should,
``related`` ids must exist, aliases resolve to their canonical entity, and
names that differ only in case share one hub.
"""

from __future__ import annotations

import bisect
import datetime as dt
import difflib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from digest.connect import Facets, Matcher, Related, appears_with, co_mentions, mentions, rank_added, rank_related
from digest.damage import Damage, Detector, position
from digest.fsutil import beside
from digest.load import ArticleFile, RawCorpus
from digest.memo import MISS, Memo
from digest.memo import key as memo_key
from digest.problems import Problem, Severity
from digest.schema import ENTITY_KINDS
from digest.text import (
    Paragraph,
    QuoteFinder,
    apply_corrections,
    casefold_key,
    first_sentence,
    markdown_blocks,
    plain,
    short_hash,
    slugify,
    soft_wrap,
    split_paragraphs,
)
from digest.validate import Annotation, Checked

IMPORTANCE_RANK: Final = {"high": 0, "medium": 1, "low": 2}
KIND_LABELS: Final = {"people": "People", "organizations": "Organizations", "equipment": "Equipment",
                      "places": "Places", "other": "Other"}


@dataclass(frozen=True)
class Hub:
    """A topic, region, entity or source: a name with a page of its own."""

    kind: str  # topic | region | entity | source
    key: str
    name: str
    slug: str
    entity_kind: str = ""  # for entities: people, organizations, ...
    aliases: tuple[str, ...] = ()
    description: str = ""
    url: str = ""
    country: str = ""
    reliability: str = ""
    note: str = ""
    articles: tuple[str, ...] = ()  # ids, newest first (for entities: the articles that annotate it)
    mentioned: tuple[str, ...] = ()  # entities: articles whose text mentions it but that do not annotate it
    first_seen: dt.date | None = None  # entities: earliest digest date of any article above
    last_seen: dt.date | None = None
    appears_with: tuple[tuple[str, int], ...] = ()  # entities: (entity key, articles together), most first

    @property
    def appearances(self) -> int:
        """How many articles annotate or mention it."""
        return len(self.articles) + len(self.mentioned)


@dataclass(frozen=True)
class Quote:
    text: str
    by: str
    paragraph: int  # 1-based paragraph number


@dataclass(frozen=True)
class Correction:
    original: str
    corrected: str
    paragraphs: tuple[int, ...]  # 1-based paragraph numbers where it was applied


@dataclass(frozen=True)
class Article:
    id: str
    seed: str  # path of the article file, as shown to people
    format: str  # txt | md
    title: str
    reviewed: bool
    paragraphs: tuple[Paragraph, ...]
    date: dt.date | None = None
    source: str = ""  # key of the source hub
    source_url: str = ""
    published: dt.date | None = None
    author: str = ""
    reliability: str = ""
    summary: str = ""
    key_points: tuple[str, ...] = ()
    assessment: str = ""
    confidence: str = ""
    credibility: int | None = None
    importance: str = "medium"
    topics: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()  # entity hub keys, in annotation order
    quotes: tuple[Quote, ...] = ()
    corrections: tuple[Correction, ...] = ()
    related: tuple[str, ...] = ()
    language: str = "en"
    draft: bool = False
    mentions: tuple[str, ...] = ()  # entity keys found in the text, in order of first mention
    links: tuple[tuple[int, int, int, str], ...] = ()  # (paragraph, start, end, entity key) to link
    ranked: tuple[Related, ...] = ()  # related articles to show: the analyst's first, then ranked
    tlp: str = ""  # its TLP label (its own, or the project's default); "" when unmarked
    # A hash of the seed's bytes and format, from which (with ``corrections``)
    # ``paragraphs`` are made: a page's key stands for its text with this
    # (digest.render.reuse). "" when not known.
    text_key: str = ""

    @property
    def appearing(self) -> tuple[str, ...]:
        """Entity keys the article annotates or mentions, each once."""
        return tuple(dict.fromkeys((*self.entities, *self.mentions)))

    @property
    def grade(self) -> str:
        """The Admiralty grade, e.g. ``C3``; a missing part shows as ``X``."""
        return (self.reliability or "X") + (str(self.credibility) if self.credibility else "X")


@dataclass(frozen=True)
class Brief:
    """What an edition brings that the earlier ones did not."""

    first_seen: tuple[str, ...]  # entity keys annotated for the first time
    rising: tuple[tuple[str, int, int], ...]  # (topic key, articles now, most in the previous editions)


BRIEF_WINDOW: Final = 7  # editions a topic's count is compared with
RANK_BESIDE: Final = 2000  # reviewed articles from which related ones are ranked in a child process (a fork costs about 0.1 s)


def briefs(editions: tuple[tuple[dt.date, tuple[str, ...]], ...],
           articles: dict[str, Article]) -> dict[dt.date, Brief]:
    """For each edition after the first: entities never annotated before, and
    topics with more articles than in any of the previous seven editions."""
    out: dict[dt.date, Brief] = {}
    seen: set[str] = set()
    history: list[dict[str, int]] = []
    for date, ids in reversed(editions):  # oldest first
        counts: dict[str, int] = {}
        new: list[str] = []
        for ident in ids:
            for key in articles[ident].entities:
                if key not in seen and key not in new:
                    new.append(key)
            for key in articles[ident].topics:
                counts[key] = counts.get(key, 0) + 1
        if history:
            recent = history[-BRIEF_WINDOW:]
            rising = sorted(((k, n, max(h.get(k, 0) for h in recent)) for k, n in counts.items()
                             if n >= 2 and n > max(h.get(k, 0) for h in recent)), key=lambda r: (-r[1], r[0]))
            out[date] = Brief(tuple(new), tuple(rising))
        seen.update(new)
        history.append(counts)
    return out


@dataclass(frozen=True)
class Delivery:
    """How an edition reaches readers besides its pages (set from the
    configuration before rendering): feeds, which need the site's address,
    and printed briefs of some editions."""

    site_url: str = ""  # ending in "/"; "" when the site has none: then no feeds
    site_name: str = "Briefing Digest"
    feed_items: int = 50
    printed: tuple[dt.date, ...] = ()  # the editions that have a printed brief (PDF)


@dataclass(frozen=True)
class Digest:
    articles: dict[str, Article]
    reviewed: tuple[str, ...]  # newest first
    unreviewed: tuple[str, ...]
    editions: tuple[tuple[dt.date, tuple[str, ...]], ...]  # newest first, items by importance
    topics: dict[str, Hub]
    regions: dict[str, Hub]
    entities: dict[str, Hub]
    sources: dict[str, Hub]
    briefs: dict[dt.date, Brief] = field(default_factory=dict)
    # Words of each article's text that look damaged (digest.damage), for
    # `digest suggest`; the pages never show them.
    damaged: dict[str, tuple[Damage, ...]] = field(default_factory=dict, compare=False)
    audience: str = ""  # the TLP label this edition is for; "" for the full edition
    dropped_related: int = 0  # related links to withheld articles left out (said in the build's output)
    delivery: Delivery = field(default_factory=Delivery)

    def hubs(self, kind: str) -> dict[str, Hub]:
        return {"topic": self.topics, "region": self.regions, "entity": self.entities,
                "source": self.sources}[kind]


@dataclass
class _Names:
    """Collects names of one kind; the first spelling met is the one shown."""

    kind: str
    shown: dict[str, str] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Insertion-ordered sets: a list's ``in`` made this quadratic in a hub's size.
    members: dict[str, dict[str, None]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, name: str, article: str | None = None) -> str:
        key = casefold_key(name)
        self.shown.setdefault(key, name)
        if article is not None:
            self.members[key][article] = None
        return key


def _newest_first(a: Article) -> tuple[int, int, str]:
    return (-(a.date.toordinal() if a.date else 0), IMPORTANCE_RANK[a.importance], a.id)


def _slugs(keys: Iterable[str], shown: dict[str, str]) -> dict[str, str]:
    """A distinct slug per key; later keys whose slug is taken get a hash suffix."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for key in sorted(keys):
        slug = slugify(shown[key])
        if slug in used or slug == "index":
            slug = f"{slug}-{short_hash(key, 6)}"
        used.add(slug)
        out[key] = slug
    return out


@dataclass
class Texts:
    """Each article's paragraphs, split and corrected, by the key of its
    bytes and corrections, as a process that builds again and again keeps
    them (digest serve: pipeline.Warm): splitting and correcting every text
    took 0.45 s of each rebuild at 10,000 articles. ``used``: this build's,
    for the next."""

    known: dict[bytes, tuple[Paragraph, ...]] = field(default_factory=dict)
    used: dict[bytes, tuple[Paragraph, ...]] = field(default_factory=dict)


def build(raw: RawCorpus, checked: Checked, *, drafts: bool = False, memo: Memo | None = None,
          withheld: frozenset[str] = frozenset(), default_tlp: str | None = None,
          audience: str | None = None, texts: Texts | None = None) -> tuple[Digest, list[Problem]]:
    """Cross-check the corpus and build the :class:`Digest`, in steps:
    :func:`_registries` (canonical names and aliases), each article checked
    against its text (corrections, quotes, related ids) below,
    :func:`_mentions` while related articles are ranked beside it,
    :func:`_damage`, and :func:`_assemble` (editions and hubs).

    Where each correction and quote is found, and the entities each text
    mentions, are taken from ``memo`` when an earlier run worked them out for
    the same bytes (and kept there for the next run).

    For an audience's edition, ``raw`` and ``checked`` hold only what it may
    see (digest.audience.restrict); ``withheld`` names the articles left out,
    so that a related link to one is dropped rather than an error."""
    problems: list[Problem] = []
    memo = memo or Memo.off()
    texts = texts or Texts()
    text_keys: dict[str, bytes] = {}  # article id -> the key of its corrected text

    report = _reporter(problems)

    sources, entities, alias_to_key, spellings = _registries(checked, problems)

    known_ids = set(raw.articles) | withheld
    dropped = 0  # related links to withheld articles, left out of the page
    built: list[Article] = []
    entity_kind: dict[str, str] = {k: (v.get("kind") or "") for k, v in entities.extra.items()}
    topics, regions = _Names("topic"), _Names("region")

    # Oldest first, so that "the first spelling written" is well defined.
    def order(ident: str) -> tuple[str, str]:
        ann = checked.annotations.get(ident)
        date = ann.values.get("date") if ann else None
        return (date.isoformat() if isinstance(date, dt.date) else "9999", ident)

    for ident in sorted(raw.articles, key=order):
        seed = raw.articles[ident]
        ann = checked.annotations.get(ident)
        corrections: dict[str, str] = (ann.values.get("corrections") or {}) if ann is not None else {}
        text_key, paragraphs = _paragraphs(seed, corrections, texts)
        # No hash (an ArticleFile made by hand): no key, the page is always rendered.
        source_key = memo_key(seed.digest, seed.format).hex() if seed.digest or not seed.text else ""
        if ann is None:
            if paragraphs:
                built.append(Article(id=ident, seed=seed.rel, format=seed.format,
                                     title=first_sentence(seed.text), reviewed=False, paragraphs=paragraphs,
                                     tlp=default_tlp or "", text_key=source_key))
            continue
        text_keys[ident] = text_key
        article, withheld_links = _annotated(ident, ann, seed, paragraphs, text_key, source_key, memo=memo,
                                             known_ids=known_ids, withheld=withheld, report=report, drafts=drafts,
                                             default_tlp=default_tlp, names=(sources, entities, topics, regions),
                                             alias_to_key=alias_to_key, spellings=spellings, entity_kind=entity_kind)
        dropped += withheld_links
        if article is not None:
            built.append(article)

    published = {a.id for a in built}
    # A related article left out (a draft) is dropped from the link list, not an error.
    built = [_keep_related(a, published) for a in built]
    # Related articles depend on the annotations alone, not on the mentions
    # found in the text: at scale they are ranked in a child process while
    # this one finds the mentions (each about 1.7 s at 10,000 articles).
    names = _rank_names(entities, topics, regions)
    facets = {a.id: Facets(a.date, a.entities, a.topics, a.regions) for a in built if a.reviewed}
    chosen = {a.id: a.related for a in built}
    # The ranking is a function of these three alone: after an edit that
    # leaves every article's facets as they were (a title, a summary, a
    # quote, a text), the last run's ranking is the ranking (2.3 s at
    # 10,000 articles).
    rank_key = _ranking_key(facets, chosen, names)
    remembered = memo.recall("related", rank_key)
    if remembered is MISS:
        # Articles added since (an analyst brought one in): the last
        # ranking updated for them, not all ranked again.
        remembered = _rank_added(memo, facets, chosen, names)

    def rank() -> dict[str, tuple[Related, ...]]:
        return rank_related(facets, chosen, names) if remembered is MISS else remembered

    with beside(rank, wanted=remembered is MISS and len(facets) >= RANK_BESIDE) as ranking:
        known = memo_key(repr(sorted(spellings.items())))
        mentioned = _mentions(built, raw, text_keys, spellings, known, entities, memo)
        damaged = _damage(raw, checked, spellings, known, memo, problems)
        ranked = ranking()
    _remember_ranking(memo, rank_key, facets, chosen, names, ranked)

    digest = _assemble(built, ranked, damaged, mentioned, entity_kind, (sources, entities, topics, regions),
                       audience=audience or "", dropped=dropped)
    return digest, problems


def _paragraphs(seed: ArticleFile, corrections: dict[str, str], texts: Texts) -> tuple[bytes, tuple[Paragraph, ...]]:
    """An article's paragraphs, split and corrected (from ``texts`` when
    known there), and their key (:func:`corrected_key`)."""
    text_key = corrected_key(seed, corrections)
    kept = texts.known.get(text_key) if seed.digest else None  # no hash (made by hand): no key
    if kept is None:
        blocks = ([soft_wrap(b) for b in split_paragraphs(seed.text)] if seed.format == "txt" else
                  markdown_blocks(seed.text))
        paragraphs = tuple(apply_corrections(b, corrections) for b in blocks)
    else:
        paragraphs = kept
    if seed.digest:
        texts.used[text_key] = paragraphs
    return text_key, paragraphs


def _annotated(ident: str, ann: Annotation, seed: ArticleFile, paragraphs: tuple[Paragraph, ...], text_key: bytes,
               source_key: str, *, memo: Memo, known_ids: set[str], withheld: frozenset[str], report: Report,
               drafts: bool, default_tlp: str | None, names: tuple[_Names, _Names, _Names, _Names],
               alias_to_key: dict[str, str], spellings: dict[str, str],
               entity_kind: dict[str, str]) -> tuple[Article | None, int]:
    """An annotated article of :func:`build` (and :func:`add`): checked
    against its text and the other ids, its names added to ``names``
    (sources, entities, topics, regions; ``spellings`` and ``entity_kind``
    too); the Article, None when it is not shown (incomplete, or a draft),
    and how many related links were dropped as withheld."""
    sources, entities, topics, regions = names
    v = ann.values
    fixes, quotes, related, withheld_links = _cross_check(ann, seed, paragraphs, text_key, memo, known_ids,
                                                          withheld, report)
    if not ann.complete or (v.get("draft") and not drafts):
        return None, withheld_links
    missing = [k for k in ("source", "summary") if not v.get(k)]  # a draft may leave them out until shown
    for key in missing:
        report(ann, key, f"'{key}' is required to show this draft",
               f"write the {'outlet after' if key == 'source' else 'bottom line up front after'} '{key}:', "
               "or build without --drafts")
    if missing:
        return None, withheld_links
    src = v["source"]
    skey = sources.add(src["name"], ident)
    registry_src = sources.extra.get(skey, {})
    ent_keys: list[str] = []
    for kind in ENTITY_KINDS:
        for name in (v.get("entities") or {}).get(kind) or []:
            key = _entity_key(name, alias_to_key)
            entities.add(entities.shown.get(key, name), ident)  # the first spelling met is the one shown
            spellings.setdefault(name, key)
            if not entity_kind.get(key):
                entity_kind[key] = kind
            if key not in ent_keys:
                ent_keys.append(key)
    return Article(
        id=ident, seed=seed.rel, format=seed.format, reviewed=True,
        paragraphs=paragraphs, date=v["date"], source=skey, source_url=src.get("url") or "",
        published=src.get("published"), author=src.get("author") or "",
        reliability=src.get("reliability") or registry_src.get("reliability") or "",
        importance=v.get("importance") or "medium",
        topics=tuple(dict.fromkeys(topics.add(t, ident) for t in v.get("topics") or ())),
        regions=tuple(dict.fromkeys(regions.add(r, ident) for r in v.get("regions") or ())),
        entities=tuple(ent_keys), corrections=tuple(fixes), **_own(v, quotes),
        related=tuple(related), language=v.get("language") or "en", draft=bool(v.get("draft")),
        tlp=v.get("tlp") or default_tlp or "", text_key=source_key,
    ), withheld_links


# The last ranking's inputs, under a fixed key of the "related" table: its
# key, the facets (as plain tuples: the memo holds plain data), the
# analysts' picks and the names.
LAST_RANKING: Final = b"last ranking"


def _rank_added(memo: Memo, facets: dict[str, Facets], chosen: dict[str, tuple[str, ...]],
                names: dict[str, str]) -> Any:
    """connect.rank_added from the last run's ranking, or MISS when there
    is none, or more than articles added changed. At 10,000 articles,
    ranking every article took 1.7 s (in a child, beside the mentions)."""
    last = memo.peek("related", LAST_RANKING)
    try:
        old_key, old_facets, old_chosen, old_names = last
        before = {i: Facets(*f) for i, f in old_facets.items()}
    except (TypeError, ValueError, AttributeError):  # none, or not of this shape
        return MISS
    ranked = memo.peek("related", old_key) if isinstance(old_key, bytes) else MISS
    if not isinstance(ranked, dict):
        return MISS
    found = rank_added(before, ranked, old_chosen, old_names, facets, chosen, names)
    return MISS if found is None else found


Report = Callable[..., None]  # (annotation, where, message, hint="", severity=ERROR)


def _reporter(problems: list[Problem]) -> Report:
    """A ``report`` that adds a problem at an annotation's field (its path:line:col) to ``problems``."""
    def report(ann: Annotation, where: str, message: str, hint: str = "",
               severity: Severity = Severity.ERROR) -> None:
        line, col = ann.at(where)
        problems.append(Problem(ann.rel, line, col, where, message, hint, severity))
    return report

# The annotation fields that make only their article's own Article fields
# (shown on its page, its listings, its related links, its feed entry and
# its search document): an edit of these alone changes no hub, edition,
# ranking or mention, which is what lets :func:`patch` replace one article
# in a Digest instead of building it again.
OWN_FIELDS: Final = frozenset({"title", "summary", "key_points", "assessment", "confidence", "credibility", "quotes"})


def _own(v: dict[str, Any], quotes: list[Quote]) -> dict[str, Any]:
    """The Article fields made from :data:`OWN_FIELDS` (``quotes``: those found in the text)."""
    return {"title": v["title"], "summary": v["summary"], "key_points": tuple(v.get("key_points") or ()),
            "assessment": v.get("assessment") or "", "confidence": v.get("confidence") or "",
            "credibility": v.get("credibility"), "quotes": tuple(quotes)}


def placement_key(text_key: bytes, values: dict[str, Any]) -> bytes:
    """The memo's key for where an annotation's corrections and quotes are
    in its text (``text_key``: the text's, with the corrections applied)."""
    return memo_key(text_key, repr([q["text"] for q in values.get("quotes") or []]))


def corrected_key(seed: ArticleFile, corrections: dict[str, str]) -> bytes:
    """The key of an article's text with its corrections applied (of its paragraphs)."""
    return memo_key(seed.digest, seed.format, repr(sorted(corrections.items())))


def _cross_check(ann: Annotation, seed: ArticleFile, paragraphs: tuple[Paragraph, ...], text_key: bytes, memo: Memo,
                 known_ids: set[str], withheld: frozenset[str],
                 report: Report) -> tuple[list[Correction], list[Quote], list[str], int]:
    """One annotation against its article's text and the other ids: its
    corrections (each with the paragraphs it applies to), the quotes found,
    the related ids kept and how many were dropped as withheld; what does
    not fit is reported. Where each correction and quote is, is taken from
    ``memo`` when an earlier run worked it out for the same text."""
    v = ann.values
    corrections: dict[str, str] = v.get("corrections") or {}
    ident = ann.id
    placed_key = placement_key(text_key, v)
    placed = memo.recall("placed", placed_key)
    if placed is MISS:
        placed = _place(paragraphs, corrections, [q["text"] for q in v.get("quotes") or []])
        memo.keep("placed", placed_key, placed)
    fixes = []
    for (original, corrected), where in zip(corrections.items(), placed[0], strict=True):
        if not where and seed.text:
            report(ann, f"corrections.{original}", f"'{original}' does not occur in {seed.rel}",
                   "check the spelling against the article, or remove this correction", Severity.WARNING)
        fixes.append(Correction(original, corrected, where))
    quotes = []
    for i, (q, at) in enumerate(zip(v.get("quotes") or [], placed[1], strict=True)):
        if at is None:
            if seed.text:
                report(ann, f"quotes[{i}].text", f"the quote {q['text'][:60]!r} does not occur in {seed.rel}",
                       "copy the quote verbatim from the article "
                       "(corrections are applied first; spaces and typographic quotes may differ)")
            continue
        quotes.append(Quote(q["text"], q.get("by") or "", at + 1))
    related: list[str] = []
    dropped = 0
    for i, other in enumerate(v.get("related") or []):
        if other not in known_ids:
            close = difflib.get_close_matches(other, sorted(known_ids), n=1)
            report(ann, f"related[{i}]", f"no article has the id '{other}'",
                   f"did you mean '{close[0]}'?" if close else "use the file name of an article in seeds/, without its extension")
        elif other == ident:
            report(ann, f"related[{i}]", "an article cannot be related to itself", "remove this id")
        elif other in withheld:
            dropped += 1
        elif other not in related:
            related.append(other)
    return fixes, quotes, related, dropped


def patch(before: Digest, changed: Mapping[str, Annotation], raw: RawCorpus, *, memo: Memo,
          withheld: frozenset[str]) -> tuple[Digest, list[Problem]] | None:
    """``before`` with the articles of ``changed`` made again from their
    annotations, which differ from those ``before`` was built from in
    :data:`OWN_FIELDS` only (the caller has checked that, and that every
    other input is the same): what :func:`build` would make of the same
    inputs, at the cost of the changed articles alone. The problems are
    those of the changed annotations (what :func:`build` reports at their
    paths). None when an article is not one ``before`` shows as reviewed."""
    problems: list[Problem] = []

    report = _reporter(problems)

    articles = dict(before.articles)
    known_ids = set(raw.articles) | withheld
    for ident, ann in changed.items():
        old, seed = articles.get(ident), raw.articles.get(ident)
        if old is None or seed is None or not old.reviewed or not seed.digest:
            return None
        corrections: dict[str, str] = ann.values.get("corrections") or {}
        text_key = corrected_key(seed, corrections)
        fixes, quotes, _related, _dropped = _cross_check(ann, seed, old.paragraphs, text_key, memo, known_ids,
                                                         withheld, report)
        if tuple(fixes) != old.corrections:  # the same text and corrections place them alike; else build
            return None
        articles[ident] = _with(old, **_own(ann.values, quotes))
    return replace(before, articles=articles), problems


def add(before: Digest, added: Mapping[str, Annotation], raw: RawCorpus, checked: Checked,
        annotations: Mapping[str, Annotation], *, memo: Memo, withheld: frozenset[str], default_tlp: str | None,
        texts: Texts | None = None) -> tuple[Digest, list[Problem]] | None:
    """``before`` with the articles ``added`` brought in: what :func:`build`
    would make of the same inputs, at the cost of the added articles, the
    hubs they join and the editions they are in (an analyst brings one in:
    building the model again took 1.3 s at 10,000 articles, from the memo).

    The caller has checked that the articles of ``before`` (built from
    ``annotations``), the registries and the options are unchanged, and that
    each added annotation is complete, not a draft, and has a title, source
    and summary. None when the result would depend on more than that, and
    build must decide: an added article writes an entity's name in a way no
    article did (every text's mentions change), or writes a name an earlier
    article writes otherwise, or gives an entity another kind (which one is
    shown depends on which article is older).

    The problems are the added annotations' (the others' are those of the
    build that made ``before``)."""
    problems: list[Problem] = []
    report = _reporter(problems)
    texts = texts or Texts()
    sources, entities, alias_to_key, spellings = _registries(checked, [])
    topics, regions = _Names("topic"), _Names("region")
    named = {"source": sources, "entity": entities, "topic": topics, "region": regions}
    registered = {"source": set(sources.shown), "entity": set(entities.shown), "topic": set(), "region": set()}
    entity_kind = {k: (v.get("kind") or "") for k, v in entities.extra.items()}
    kinded = {k for k, v in entity_kind.items() if v}  # the registry's kinds: no article changes them
    for kind, each in named.items():
        for key, was in before.hubs(kind).items():
            each.shown.setdefault(key, was.name)
            if kind == "entity" and not entity_kind.get(key):
                entity_kind[key] = was.entity_kind
    # build's spellings: the registries' and each name a shown article annotates.
    for ident in before.reviewed:
        for hub_kind, name, _ in _written(annotations[ident].values):
            if hub_kind == "entity":
                spellings.setdefault(name, _entity_key(name, alias_to_key))
    spelled = len(spellings)
    old_names = _rank_names(entities, topics, regions)

    known_ids = set(raw.articles) | withheld
    dropped = 0
    new: list[Article] = []
    text_keys: dict[str, bytes] = {}
    for ident in sorted(added, key=lambda i: (added[i].values["date"].isoformat(), i)):
        ann, seed = added[ident], raw.articles[ident]
        v = ann.values
        for kind, name, entity in _written(v):
            key = _entity_key(name, alias_to_key) if kind == "entity" else casefold_key(name)
            # A name shown as another article writes it: which is shown is the older article's.
            if key not in registered[kind] and named[kind].shown.get(key, name) != name:
                return None
            # So is an entity's kind, unless the registry gives it.
            if kind == "entity" and key not in kinded and entity_kind.get(key, entity) not in ("", entity):
                return None
        text_key, paragraphs = _paragraphs(seed, v.get("corrections") or {}, texts)
        text_keys[ident] = text_key
        article, withheld_links = _annotated(ident, ann, seed, paragraphs, text_key,
                                             memo_key(seed.digest, seed.format).hex(), memo=memo,
                                             known_ids=known_ids, withheld=withheld, report=report, drafts=False,
                                             default_tlp=default_tlp, names=(sources, entities, topics, regions),
                                             alias_to_key=alias_to_key, spellings=spellings, entity_kind=entity_kind)
        if article is None:
            return None
        dropped += withheld_links
        new.append(article)
    if len(spellings) != spelled:  # a new way to write an entity: every text may mention it
        return None

    published = set(before.reviewed) | {a.id for a in new}
    new = [_keep_related(a, published) for a in new]
    known = memo_key(repr(sorted(spellings.items())))
    mentioned = _mentions(new, raw, text_keys, spellings, known, entities, memo)
    damaged = _damage(raw, checked, spellings, known, memo, problems, only=[a.id for a in new])

    articles = dict(before.articles)
    articles.update((a.id, a) for a in new)
    # build's order: oldest first, then by id; articles without an annotation last.
    order = sorted(articles.values(), key=lambda a: (a.date.isoformat() if a.reviewed and a.date else "9999", a.id))
    facets = {a.id: Facets(a.date, a.entities, a.topics, a.regions) for a in order if a.reviewed}
    chosen = {a.id: a.related for a in order}
    names = _rank_names(entities, topics, regions)
    ranked = rank_added({i: facets[i] for i in before.reviewed}, {i: before.articles[i].ranked for i in before.reviewed},
                        {i: a.related for i, a in before.articles.items()}, old_names, facets, chosen, names)
    if ranked is None:
        return None
    articles = {a.id: a if a.ranked is ranked.get(a.id, ()) or a.ranked == ranked.get(a.id, ())
                else _with(a, ranked=ranked.get(a.id, ())) for a in order}

    reviewed = list(before.reviewed)
    for a in new:
        bisect.insort(reviewed, a.id, key=lambda i: _newest_first(articles[i]))
    editions = _editions(tuple(reviewed), articles)
    rank = {ident: i for i, ident in enumerate((*reviewed, *before.unreviewed))}
    seen: dict[str, frozenset[str]] = {}

    def present(ident: str) -> frozenset[str]:
        if ident not in seen:
            seen[ident] = frozenset(articles[ident].appearing)
        return seen[ident]

    hubs: dict[str, dict[str, Hub]] = {}
    for kind, names_of in named.items():
        old = before.hubs(kind)
        also = mentioned if kind == "entity" else {}
        touched = set(names_of.members) | set(also)
        keys = old.keys() | touched
        slugs = _slugs(keys, names_of.shown) if keys != old.keys() else {k: h.slug for k, h in old.items()}
        out: dict[str, Hub] = {}
        for key in sorted(keys, key=lambda k: (names_of.shown[k].casefold(), k)):
            hub = old.get(key)
            if key not in touched:
                assert hub is not None
                out[key] = hub if hub.slug == slugs[key] else replace(hub, slug=slugs[key])
                continue
            ids = tuple(sorted({*(hub.articles if hub else ()), *names_of.members.get(key, ())}, key=rank.__getitem__))
            only = tuple(sorted({*(hub.mentioned if hub else ()), *also.get(key, ())}, key=rank.__getitem__))
            together = appears_with(key, map(present, (*ids, *only))) if kind == "entity" else ()
            out[key] = _hub(names_of, key, slugs[key], ids, only, articles, entity_kind, together)
        hubs[kind] = out
    return Digest(articles=articles, reviewed=tuple(reviewed), unreviewed=before.unreviewed, editions=editions,
                  topics=hubs["topic"], regions=hubs["region"], entities=hubs["entity"], sources=hubs["source"],
                  briefs=briefs(editions, articles), damaged=dict(sorted({**before.damaged, **damaged}.items())),
                  audience=before.audience, dropped_related=before.dropped_related + dropped,
                  delivery=before.delivery), problems


def _written(values: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """The names a shown annotation writes: the kind of hub each names,
    the name, and for an entity the kind it is listed under ("" else)."""
    yield "source", values["source"]["name"], ""
    for kind in ENTITY_KINDS:
        for name in (values.get("entities") or {}).get(kind) or []:
            yield "entity", name, kind
    for name in values.get("topics") or ():
        yield "topic", name, ""
    for name in values.get("regions") or ():
        yield "region", name, ""


def _entity_key(name: str, alias_to_key: Mapping[str, str]) -> str:
    """The key of the entity ``name`` writes: its registry entry's, through
    an alias, or its own (as :func:`_annotated` makes it)."""
    return alias_to_key.get(casefold_key(name)) or casefold_key(name)


def _rank_names(entities: _Names, topics: _Names, regions: _Names) -> dict[str, str]:
    """The names the related articles' reasons show, by facet ("e:", "t:", "r:" and the key)."""
    names = {f"e:{k}": v for k, v in entities.shown.items()}
    names.update({f"t:{k}": v for k, v in topics.shown.items()})
    names.update({f"r:{k}": v for k, v in regions.shown.items()})
    return names


def _ranking_key(facets: dict[str, Facets], chosen: dict[str, tuple[str, ...]], names: dict[str, str]) -> bytes:
    """The memo's key for the ranking of ``facets``, ``chosen`` and ``names``."""
    # The facets' order is part of the key: ties are broken by id, but the
    # key need not rely on it.
    return memo_key(repr(list(facets.items())), repr(sorted(chosen.items())), repr(sorted(names.items())))


def _remember_ranking(memo: Memo, rank_key: bytes, facets: dict[str, Facets], chosen: dict[str, tuple[str, ...]],
                      names: dict[str, str], ranked: dict[str, tuple[Related, ...]]) -> None:
    """Keep ``ranked`` in the memo under ``rank_key``, and its inputs as
    the last ranking's (for :func:`_rank_added` of the next run)."""
    plain = {i: (f.date, f.entities, f.topics, f.regions) for i, f in facets.items()}
    memo.keep("related", rank_key, ranked)
    memo.keep("related", LAST_RANKING, (rank_key, plain, chosen, names))


def _registries(checked: Checked, problems: list[Problem]) -> tuple[_Names, _Names, dict[str, str], dict[str, str]]:
    """Step 1 of :func:`build`: the outlets and entities of the registries,
    which decide canonical names and aliases; the aliases' keys, and every
    way an entity is written (for finding mentions)."""
    sources = _Names("source")
    src_rel, src_marks = checked.registry_marks.get("sources", ("seeds/sources.yml", {}))
    for name, details in checked.sources.items():
        key = casefold_key(name)
        if key in sources.shown:
            line, col = src_marks.get(name, (1, 1))
            problems.append(Problem(src_rel, line, col, name,
                                    f"'{name}' and '{sources.shown[key]}' are the same outlet (names are compared ignoring case)",
                                    "keep one entry"))
            continue
        sources.add(name)
        sources.extra[key] = details

    entities = _Names("entity")
    alias_to_key: dict[str, str] = {}
    spellings: dict[str, str] = {}  # every way an entity is written -> its key, for finding mentions
    ent_rel, ent_marks = checked.registry_marks.get("entities", ("seeds/entities.yml", {}))
    for name, details in checked.entities.items():
        key = casefold_key(name)
        line, col = ent_marks.get(name, (1, 1))
        if key in alias_to_key:
            problems.append(Problem(ent_rel, line, col, name,
                                    f"'{name}' is already registered (as an entity or an alias of "
                                    f"'{entities.shown[alias_to_key[key]]}')", "keep one entry, compared ignoring case"))
            continue
        entities.add(name)
        entities.extra[key] = details
        alias_to_key[key] = key
        spellings[name] = key
        for i, alias in enumerate(details.get("aliases") or []):
            akey = casefold_key(alias)
            if akey in alias_to_key and alias_to_key[akey] != key:
                aline, acol = ent_marks.get(f"{name}.aliases[{i}]", (line, col))
                problems.append(Problem(ent_rel, aline, acol, f"{name}.aliases[{i}]",
                                        f"alias '{alias}' already names '{entities.shown[alias_to_key[akey]]}'",
                                        "an alias can belong to one entity only"))
                continue
            alias_to_key[akey] = key
            spellings[alias] = key

    return sources, entities, alias_to_key, spellings


def _mentions(built: list[Article], raw: RawCorpus, text_keys: dict[str, bytes], spellings: dict[str, str],
              known: bytes, entities: _Names, memo: Memo) -> dict[str, dict[str, None]]:
    """A step of :func:`build`: the entities each article's text mentions
    (from the memo when its text and the known spellings are unchanged),
    set on the articles in ``built``; returns, per entity, the articles that
    mention it without annotating it."""
    matcher: Matcher | None = None  # built only when an article's mentions are not remembered
    mentioned: dict[str, dict[str, None]] = defaultdict(dict)
    for i, art in enumerate(built):
        k = memo_key(text_keys.get(art.id) or memo_key(raw.articles[art.id].digest, art.format), known)
        remembered = memo.recall("mentions", k)
        if remembered is MISS:
            matcher = matcher or Matcher(spellings)
            remembered = mentions(matcher, art.paragraphs)
            memo.keep("mentions", k, remembered)
        found, links = remembered
        if found:
            built[i] = _with(art, mentions=found, links=links)
            for key in found:
                if art.id not in entities.members.get(key, {}):
                    mentioned[key][art.id] = None
    return mentioned


def _with(article: Article, **changes: Any) -> Article:
    """``dataclasses.replace`` for an Article, without running its
    ``__init__`` again: replace took 0.5 s for 20,000 calls at 10,000
    articles. Article has no ``__post_init__`` (checked by
    tests/test_connect.py), so the copy is the article replace makes."""
    copied = object.__new__(Article)
    copied.__dict__.update(article.__dict__)
    copied.__dict__.update(changes)
    return copied


def _assemble(built: list[Article], ranked: dict[str, tuple[Related, ...]], damaged: dict[str, tuple[Damage, ...]],
              mentioned: dict[str, dict[str, None]], entity_kind: dict[str, str],
              names: tuple[_Names, _Names, _Names, _Names], *, audience: str, dropped: int) -> Digest:
    """Last step of :func:`build`: editions, hubs and the Digest, from the
    articles built and connected."""
    sources, entities, topics, regions = names
    articles = {a.id: a for a in built}
    newest = sorted(articles.values(), key=_newest_first)
    reviewed = tuple(a.id for a in newest if a.reviewed)
    unreviewed = tuple(a.id for a in sorted(articles.values(), key=lambda a: a.id) if not a.reviewed)
    editions = _editions(reviewed, articles)

    # Reviewed articles newest first, then unreviewed ones (no date) by id.
    rank = {ident: i for i, ident in enumerate(reviewed + unreviewed)}
    together = co_mentions({a.id: a.appearing for a in articles.values()})

    def hubs(names: _Names, also: dict[str, dict[str, None]] | None = None) -> dict[str, Hub]:
        also = also or {}
        keys = set(names.members) | set(also)
        slugs = _slugs(keys, names.shown)
        out = {}
        for key in sorted(keys, key=lambda k: (names.shown[k].casefold(), k)):
            ids = tuple(sorted((i for i in names.members.get(key, ()) if i in rank), key=rank.__getitem__))
            only = tuple(sorted((i for i in also.get(key, ()) if i in rank), key=rank.__getitem__))
            if ids or only:
                out[key] = _hub(names, key, slugs[key], ids, only, articles, entity_kind, together.get(key, ()))
        return out

    entity_hubs = hubs(entities, mentioned)
    topic_hubs, region_hubs = hubs(topics), hubs(regions)
    articles = {k: _with(a, ranked=ranked[k]) if ranked.get(k) else a for k, a in articles.items()}
    return Digest(articles=articles, reviewed=reviewed, unreviewed=unreviewed, editions=editions,
                    topics=topic_hubs, regions=region_hubs, entities=entity_hubs, sources=hubs(sources),
                    briefs=briefs(editions, articles), damaged=damaged, audience=audience,
                    dropped_related=dropped)


def _editions(reviewed: tuple[str, ...],
              articles: Mapping[str, Article]) -> tuple[tuple[dt.date, tuple[str, ...]], ...]:
    """The editions, newest first, each with its articles in the order of ``reviewed``."""
    by_date: dict[dt.date, list[str]] = defaultdict(list)
    for ident in reviewed:
        date = articles[ident].date
        assert date is not None
        by_date[date].append(ident)
    return tuple((d, tuple(ids)) for d, ids in sorted(by_date.items(), reverse=True))


def _hub(names: _Names, key: str, slug: str, ids: tuple[str, ...], only: tuple[str, ...],
         articles: Mapping[str, Article], entity_kind: Mapping[str, str],
         together: tuple[tuple[str, int], ...]) -> Hub:
    """The hub ``key`` of ``names``' kind: ``ids`` annotate it, ``only`` mention it (entities)."""
    extra = names.extra.get(key, {})
    dates = [d for d in (articles[i].date for i in (*ids, *only)) if d is not None]
    entity = names.kind == "entity"
    return Hub(kind=names.kind, key=key, name=names.shown[key], slug=slug, articles=ids,
               entity_kind=entity_kind.get(key, "") if entity else "",
               aliases=tuple(extra.get("aliases") or ()), description=extra.get("description") or "",
               url=extra.get("url") or "", country=extra.get("country") or "",
               reliability=extra.get("reliability") or "", note=extra.get("note") or "",
               mentioned=only, first_seen=min(dates, default=None), last_seen=max(dates, default=None),
               appears_with=together if entity else ())


_DAMAGE_SAYS: Final = {
    "lost letters": "'{found}' looks damaged: it is '{fixed}' with letters lost",
    "mojibake": "'{found}' looks like mojibake (UTF-8 read in another encoding) of '{fixed}'",
    "replacement character": "'{found}' holds a replacement character (U+FFFD); it most likely stands for '{fixed}'",
}


def _damage(raw: RawCorpus, checked: Checked, spellings: dict[str, str], known: bytes, memo: Memo,
            problems: list[Problem], only: Iterable[str] | None = None) -> dict[str, tuple[Damage, ...]]:
    """Warn, at the article's path:line:col, about each word that looks
    damaged, with the corrections: line that fixes it; the findings by id
    (of the articles ``only``, or of all)."""
    detector: Detector | None = None  # built only when an article is not remembered
    out: dict[str, tuple[Damage, ...]] = {}
    for ident in sorted(raw.articles if only is None else only):
        seed = raw.articles[ident]
        if not seed.text:
            continue
        ann = checked.annotations.get(ident)
        corrections: dict[str, str] = (ann.values.get("corrections") or {}) if ann else {}
        k = memo_key(seed.digest, repr(sorted(corrections)), known)
        found = memo.recall("damage", k)
        if found is MISS:
            detector = detector or Detector(spellings)
            found = tuple(detector.find(seed.text, corrections))
            memo.keep("damage", k, found)
        if not found:
            continue
        out[ident] = found
        annotation = ann.rel if ann else f"seeds/{ident}.yml"
        times = Counter(d.found for d in found)
        for d in found:
            if times[d.found] == 0:
                continue  # reported at its first occurrence
            line, col = position(seed.text, d.start)
            more = f" ({times[d.found]} times)" if times[d.found] > 1 else ""
            times[d.found] = 0
            if d.fixed:
                message = _DAMAGE_SAYS[d.kind].format(found=d.found, fixed=d.fixed) + more
                hint = f"add this line under corrections: in {annotation}: {d.correction()}"
            else:
                message = f"'{d.found}' holds a replacement character (U+FFFD) and no known name fits it{more}"
                hint = (f"look the word up in the original source and add it under corrections: in {annotation}, "
                        f"for example {Damage(d.start, d.found, '...', d.kind).correction()}")
            problems.append(Problem(seed.rel, line, col, "text", message, hint, Severity.WARNING))
    return out


def _place(paragraphs: tuple[Paragraph, ...], corrections: dict[str, str],
           quotes: list[str]) -> tuple[tuple[tuple[int, ...], ...], tuple[int | None, ...]]:
    """The paragraphs (1-based) where each correction applies, and the
    paragraph (0-based) where each quote is found, or None."""
    where = tuple(tuple(i + 1 for i, p in enumerate(paragraphs) if any(getattr(s, "original", None) == original for s in p))
                  for original in corrections)
    finder = QuoteFinder([plain(p) for p in paragraphs])
    return where, tuple(finder.find(q) for q in quotes)


def _keep_related(article: Article, published: set[str]) -> Article:
    kept = tuple(r for r in article.related if r in published)
    if kept == article.related:
        return article
    return replace(article, related=kept)

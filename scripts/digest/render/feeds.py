"""Feeds: Atom 1.0 and JSON Feed 1.1 for the whole digest and for every
topic, region, entity and source hub, newest first.

Feeds are read away from the site, so every address in them is absolute:
they are made only when the configuration gives the site's address
(``site_url``). The Atom files are written with the standard library's XML
writer (it escapes every text and attribute; feedgen measured slower and
adds lxml's tree for no gain here), the JSON ones with ``json``. Each
article's entry is made once and shared by every feed that lists it: at
10,000 articles there are thousands of feeds of up to 50 entries.

The offline edition has no use for feeds; the hook generated_pages.py and
site.py leave digest/feeds/ out of it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterable
from itertools import islice
from typing import Final
from xml.sax.saxutils import XMLGenerator
from xml.sax.xmlreader import AttributesImpl

from digest.model import Article, Digest, Hub
from digest.names import FEEDS, ROOT
from digest.render.common import HUB_FOLDERS, HUB_TITLES, article_path, grade_title, hub_path
from digest.render.reuse import KEPT, Page, Reuse, fingerprint

ALL: Final = f"{FEEDS}/index"  # the whole digest's feeds, without their suffix
ATOM: Final = ".xml"
JSON_FEED: Final = ".json"
ATOM_NS: Final = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION: Final = "https://jsonfeed.org/version/1.1"
EMPTY_SITEMAP: Final = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>\n')
# XML 1.0 cannot hold these characters at all, escaped or not.
_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def feed_base(hub: Hub) -> str:
    """A hub's feeds under docs/, without their suffix."""
    return f"{FEEDS}/{HUB_FOLDERS[hub.kind]}/{hub.slug}"


def _page_url(site_url: str, page: str) -> str:
    """The address of a generated page (no directory URLs: see mkdocs.yml)."""
    if page == "index.md":
        return site_url
    return site_url + (page[:-3] + ".html" if page.endswith(".md") else page)


def _stamp(date: dt.date | None) -> str:
    return f"{(date or dt.date(1970, 1, 1)).isoformat()}T00:00:00Z"


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", " ".join(text.split()))


class _Xml:
    """The standard library's XML writer, a tag at a time."""

    def __init__(self) -> None:
        self.out = io.StringIO()
        self.x = XMLGenerator(self.out, encoding="utf-8", short_empty_elements=True)

    def open(self, tag: str, **attrs: str) -> None:
        self.x.startElement(tag, AttributesImpl({k: _clean(v) for k, v in attrs.items()}))

    def close(self, tag: str) -> None:
        self.x.endElement(tag)

    def empty(self, tag: str, **attrs: str) -> None:
        self.open(tag, **attrs)
        self.close(tag)

    def text(self, tag: str, text: str, **attrs: str) -> None:
        self.open(tag, **attrs)
        self.x.characters(_clean(text))
        self.close(tag)


class _Entries:
    """Each article's Atom entry and JSON Feed item, made once."""

    def __init__(self, digest: Digest) -> None:
        self.digest = digest
        self.site_url = digest.delivery.site_url
        self.digest_name = digest.delivery.site_name
        self._atom: dict[str, str] = {}
        self._json: dict[str, str] = {}

    def categories(self, article: Article) -> list[tuple[str, str]]:
        """(scheme, label) of the article's source, topics, regions and entities."""
        d = self.digest
        out: list[tuple[str, str]] = []
        for kind, keys in (("source", (article.source,)), ("topic", article.topics), ("region", article.regions),
                           ("entity", article.entities)):
            hubs = d.hubs(kind)
            out += [(HUB_TITLES[kind].lower(), hubs[k].name) for k in keys if k in hubs]
        return out

    def inputs(self, article: Article) -> tuple[object, ...]:
        """Everything the article's entry shows (for digest.render.reuse)."""
        return (article.id, article.title, article.date, article.author, article.summary, article.reliability,
                article.credibility, article.importance, article.tlp, self.source_line(article),
                tuple(self.categories(article)))

    def source_line(self, article: Article) -> str:
        source = self.digest.sources.get(article.source)
        name = source.name if source else "Unknown source"
        return f"{name} · grade {article.grade} ({grade_title(article.grade).lower()})"

    def atom(self, article: Article) -> str:
        if article.id not in self._atom:
            x = _Xml()
            url = _page_url(self.site_url, article_path(article.id))
            x.open("entry")
            x.text("id", url)
            x.text("title", article.title)
            x.empty("link", rel="alternate", type="text/html", href=url)
            x.text("published", _stamp(article.date))
            x.text("updated", _stamp(article.date))
            if article.author:
                x.open("author")
                x.text("name", article.author)
                x.close("author")
            for scheme, label in self.categories(article):
                x.empty("category", term=label, scheme=self.site_url + f"{ROOT}/{scheme}/")
            if article.tlp:
                x.empty("category", term=f"TLP:{article.tlp}", scheme="https://www.first.org/tlp/")
            x.text("summary", article.summary or article.title, type="text")
            x.text("content", f"{self.source_line(article)}. {article.summary}".strip(), type="text")
            x.close("entry")
            self._atom[article.id] = x.out.getvalue()
        return self._atom[article.id]

    def json_item(self, article: Article) -> str:
        if article.id not in self._json:
            url = _page_url(self.site_url, article_path(article.id))
            source = self.digest.sources.get(article.source)
            item: dict[str, object] = {
                "id": url, "url": url, "title": " ".join(article.title.split()),
                "summary": article.summary or article.title,
                "content_text": f"{self.source_line(article)}. {article.summary}".strip(),
                "date_published": _stamp(article.date),
                "tags": [label for _, label in self.categories(article)],
            }
            if article.author:
                item["authors"] = [{"name": article.author}]
            # JSON Feed's extension form: a key starting with "_" (section 5).
            item["_briefing_digest"] = {"source": source.name if source else "", "grade": article.grade,
                                        "importance": article.importance, "tlp": article.tlp or None}
            self._json[article.id] = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        return self._json[article.id]


def _newest(digest: Digest, ids: Iterable[str], limit: int) -> list[Article]:
    """The first ``limit`` dated articles of ``ids``, which the model keeps
    newest first, then by importance (``Digest.reviewed``, ``Hub.articles``).
    Stops at ``limit``: listing all of them first took 0.15 s of every build
    at 10,000 articles (440 feeds, hubs of hundreds of articles each)."""
    return list(islice((a for a in (digest.articles[i] for i in ids) if a.date), limit))


def _atom_feed(entries: _Entries, base: str, page: str, title: str, articles: list[Article]) -> bytes:
    site_url = entries.site_url
    x = _Xml()
    x.x.startDocument()
    x.open("feed", xmlns=ATOM_NS)
    x.text("id", site_url + base + ATOM)
    x.text("title", title)
    x.text("updated", _stamp(articles[0].date if articles else None))
    x.empty("link", rel="self", type="application/atom+xml", href=site_url + base + ATOM)
    x.empty("link", rel="alternate", type="text/html", href=_page_url(site_url, page))
    x.open("author")
    x.text("name", entries.digest_name)
    x.close("author")
    x.text("generator", "Briefing Digest")
    x.x.ignorableWhitespace("\n")
    for article in articles:
        x.x.ignorableWhitespace(entries.atom(article) + "\n")
    x.close("feed")
    x.x.endDocument()
    return x.out.getvalue().encode("utf-8") + b"\n"


def _json_feed(entries: _Entries, base: str, page: str, title: str, articles: list[Article]) -> bytes:
    site_url = entries.site_url
    head = {"version": JSON_FEED_VERSION, "title": " ".join(title.split()),
            "home_page_url": _page_url(site_url, page), "feed_url": site_url + base + JSON_FEED,
            "authors": [{"name": entries.digest_name}]}
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]  # without its closing brace
    return f'{text},"items":[{",".join(entries.json_item(a) for a in articles)}]}}\n'.encode()


def render_feeds(digest: Digest, reuse: Reuse | None = None) -> dict[str, Page]:
    """Every feed, keyed by its path under docs/; none without ``site_url``.
    With ``reuse``, a feed made from the same entries as the last run's is
    KEPT (digest.render.reuse): its key holds what each entry shows."""
    if not digest.delivery.site_url:
        return {}
    entries = _Entries(digest)
    site_name = digest.delivery.site_name
    limit = digest.delivery.feed_items
    out: dict[str, Page] = {}
    # What an entry shows, per article, as a hash: many feeds share an entry.
    shown: dict[str, str] = {}

    def feed(base: str, page: str, title: str, ids: tuple[str, ...], fresh: bool) -> None:
        articles = _newest(digest, ids, limit)
        if reuse is not None:
            # What it read: the ids up to its last entry (an undated article
            # passed over there would be listed once dated).
            read = ids if not articles or len(articles) < limit else ids[:ids.index(articles[-1].id) + 1]
            if reuse.as_before((base + ATOM, base + JSON_FEED), read, fresh=fresh):
                out[base + ATOM] = out[base + JSON_FEED] = KEPT
                return
            inputs = (base, page, title, tuple(shown.get(a.id) or shown.setdefault(a.id, fingerprint(entries.inputs(a)))
                                               for a in articles))
            if reuse.keep(base + ATOM, inputs, base + JSON_FEED):
                out[base + ATOM] = out[base + JSON_FEED] = KEPT
                return
        out[base + ATOM] = _atom_feed(entries, base, page, title, articles)
        out[base + JSON_FEED] = _json_feed(entries, base, page, title, articles)

    feed(ALL, "index.md", site_name, digest.reviewed, reuse is not None and reuse.reviewed_changed())
    for kind in HUB_FOLDERS:
        for hub in digest.hubs(kind).values():
            feed(feed_base(hub), hub_path(hub), f"{site_name}: {hub.name}", hub.articles,
                 reuse is not None and reuse.hub_changed(hub))
    # Material for MkDocs reads every <link rel="alternate"> as a version of
    # the site in another language and fetches a sitemap.xml beside it (on
    # every page, with or without instant navigation): an empty one in each
    # feed folder spares each page a 404 in the reader's console.
    for folder in sorted({path.rpartition("/")[0] for path in out}):
        out[f"{folder}/sitemap.xml"] = EMPTY_SITEMAP
    return out

"""Hubs and dossiers: the index of each kind of hub, a hub's pages (in
pages of HUB_PAGE_SIZE articles), and what an entity's page adds: first
and last seen, who it appears with, and its chart of appearances."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from digest.model import KIND_LABELS, Digest, Hub
from digest.render import charts
from digest.render.common import (
    CHARTS,
    GRADES,
    HUB_TITLES,
    RELIABILITY,
    a,
    edition_path,
    esc,
    external,
    head,
    hub_index_path,
    hub_page_path,
    hub_path,
    img,
    item,
    line_item,
    para,
    plural,
    ul,
)
from digest.render.feeds import feed_base


def _count(n: int) -> str:
    return f"({plural(n, 'article')})"


def render_hub_index(digest: Digest, kind: str) -> str:
    page = hub_index_path(kind)
    hubs = digest.hubs(kind)
    out = head(HUB_TITLES[kind])
    if not hubs:
        out += para("None yet.")

    def entry(h: Hub) -> str:
        if kind == "entity":
            extra = f", mentioned in {len(h.mentioned):,} more" if h.mentioned else ""
            return f"<li>{a(page, hub_path(h), h.name)} (annotated in {len(h.articles):,}{extra})</li>"
        return f"<li>{a(page, hub_path(h), h.name)} {_count(len(h.articles))}</li>"

    if kind == "entity":
        for ekind, label in KIND_LABELS.items():
            group = [h for h in hubs.values() if (h.entity_kind or "other") == ekind]
            if group:
                out += [f"## {label}", "", *ul([entry(h) for h in group])]
    else:
        out += ul([entry(h) for h in hubs.values()])
    return "\n".join(out)


def _kind_label(hub: Hub) -> str:
    if hub.kind != "entity":
        return {"topic": "Topic", "region": "Region", "source": "Source"}[hub.kind]
    return {"people": "Person", "organizations": "Organization", "equipment": "Equipment", "places": "Place"}.get(
        hub.entity_kind, "Entity")


def entity_chart_path(hub: Hub) -> str:
    return f"{CHARTS}/entities/{hub.slug}.svg"


def _month_key(d: dt.date) -> str:
    return d.strftime("%Y-%m")


def _months_back(last: dt.date, n: int) -> list[str]:
    """The ``n`` months ending with ``last``'s month, oldest first."""
    y, m = last.year, last.month
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


TIMELINE_MONTHS = 24  # months shown by an entity's appearance chart


def entity_timeline(digest: Digest, hub: Hub) -> list[tuple[str, int]]:
    """Articles naming or mentioning the entity, per month, up to its last
    appearance (at most :data:`TIMELINE_MONTHS`, months without any included)."""
    # Counted by day first: a month key made for each of an entity's
    # thousands of articles took 0.3 s for the whole digest at 10,000.
    days = Counter(digest.articles[i].date for i in (*hub.articles, *hub.mentioned))
    counts: Counter[str] = Counter()
    for day, n in days.items():
        if day:
            counts[_month_key(day)] += n
    if not hub.last_seen or not hub.first_seen:
        return []
    keys = _months_back(hub.last_seen, TIMELINE_MONTHS)
    first = _month_key(hub.first_seen)
    return [(k, counts.get(k, 0)) for k in keys if k >= first]


EntityChart = tuple[str, str, list[tuple[str, int]]]  # path, title, months and counts
ENTITY_CHART_SIZE = (640, 200)  # width, height: the chart's and its <img>'s


def entity_chart(digest: Digest, hub: Hub) -> EntityChart | None:
    """What an entity's chart shows; :func:`draw_entity_charts` draws it."""
    rows = entity_timeline(digest, hub)
    return (entity_chart_path(hub), f"{hub.name}: articles per month", rows) if rows else None


def draw_entity_charts(wanted: list[EntityChart]) -> dict[str, bytes]:
    """The entity charts' SVG files. Plain data in, bytes out, so that it can
    run in another process."""
    width, height = ENTITY_CHART_SIZE
    return {path: charts.bars(path, title, [k for k, _ in rows], [("articles", [n for _, n in rows])],
                              width=width, height=height, label_every=1 if len(rows) <= 12 else 3)
            for path, title, rows in wanted}


def render_hub(digest: Digest, hub: Hub) -> str:
    page = hub_path(hub)
    feeds = feed_base(hub) if digest.delivery.site_url else ""
    out = [*head(hub.name, feeds), *para(f"{a(page, hub_index_path(hub.kind), HUB_TITLES[hub.kind])} · {_kind_label(hub)}")]
    if hub.description:
        out += para(esc(hub.description))
    if hub.aliases:
        out += para("<strong>Also written</strong> " + ", ".join(esc(x) for x in hub.aliases))
    if hub.kind == "source":
        details = []
        if hub.url:
            details.append(f"<strong>Website</strong> {external(hub.url, hub.url)}")
        if hub.country:
            details.append(f"<strong>Country</strong> {esc(hub.country)}")
        rating = hub.reliability or "X"
        details.append(f"<strong>Reliability</strong> {a(page, GRADES + '#source-reliability', rating, RELIABILITY[rating])} "
                       f"({RELIABILITY[rating].lower()})")
        out += para(" · ".join(details))
        if hub.note:
            out += para(esc(hub.note))
    if hub.kind == "entity":
        out += _dossier(digest, hub)
    out += _hub_articles(digest, hub, 1)
    return "\n".join(out)


def _dossier(digest: Digest, hub: Hub) -> list[str]:
    """What an entity page adds: when it was seen, with whom, and a chart."""
    page = hub_path(hub)
    facts = []
    if hub.first_seen and hub.last_seen:
        facts.append(f"<strong>First seen</strong> {a(page, edition_path(hub.first_seen), hub.first_seen.isoformat())}")
        facts.append(f"<strong>Last seen</strong> {a(page, edition_path(hub.last_seen), hub.last_seen.isoformat())}")
    facts.append(f"<strong>Annotated in</strong> {plural(len(hub.articles), 'article')}")
    facts.append(f"<strong>Only mentioned in</strong> {plural(len(hub.mentioned), 'article')}")
    out = para(" · ".join(facts))
    rows = entity_timeline(digest, hub)
    if rows:
        alt = f"Bar chart of articles per month naming or mentioning {hub.name}: " + ", ".join(
            f"{k}: {n}" for k, n in rows)
        out += ["## Appearances", "", *img(page, entity_chart_path(hub), alt, *ENTITY_CHART_SIZE)]
    if hub.appears_with:
        items = [f"<li>{a(page, hub_path(digest.entities[k]), digest.entities[k].name)} · {plural(n, 'article')} together</li>"
                 for k, n in hub.appears_with if k in digest.entities]
        out += ["## Appears most often with", "", *ul(items, cls="bd-ranked")]
    return out


HUB_PAGE_SIZE = 100  # articles per list per hub page; a hub never becomes one endless page


def hub_pages(hub: Hub) -> int:
    longest = max(len(hub.articles), len(hub.mentioned))
    return max(1, -(-longest // HUB_PAGE_SIZE))


def _chunk(ids: tuple[str, ...], number: int) -> tuple[int, tuple[str, ...]]:
    first = (number - 1) * HUB_PAGE_SIZE
    return first, ids[first:first + HUB_PAGE_SIZE]


def _hub_articles(digest: Digest, hub: Hub, number: int) -> list[str]:
    page = hub_page_path(hub, number)
    pages = hub_pages(hub)
    out = para(_pager(page, hub, number, pages)) if pages > 1 else []
    lists = [("Articles", hub.articles)]
    if hub.kind == "entity":
        lists = [("Annotated in", hub.articles)] + ([("Mentioned in", hub.mentioned)] if hub.mentioned else [])
    for label, ids in lists:
        first, chunk = _chunk(ids, number)
        n = len(ids)
        heading = f"{label} ({n:,})" if pages == 1 or n <= HUB_PAGE_SIZE else \
            f"{label}: {first + 1:,}–{first + len(chunk):,} of {n:,}"
        if number > 1 and not chunk:
            continue
        if hub.kind == "entity":
            # A dossier shows each article's bottom line; other hubs stay one line per article.
            items = [item(page, digest, digest.articles[i], with_date=True) for i in chunk]
        else:
            items = [line_item(page, digest, digest.articles[i]) for i in chunk]
        out += [f"## {heading}", "", *ul(items)]
    if pages > 1:
        out += para(_pager(page, hub, number, pages))
    return out


def _pager(page: str, hub: Hub, number: int, pages: int) -> str:
    links = [a(page, hub_page_path(hub, k), str(k)) if k != number else f"<strong>{k}</strong>" for k in range(1, pages + 1)]
    return "Pages: " + " ".join(links)


def render_hub_page(digest: Digest, hub: Hub, number: int) -> str:
    """Page ``number`` (2 and up) of a long hub."""
    page = hub_page_path(hub, number)
    out = [*head(f"{hub.name}, page {number}"), *para(f"{a(page, hub_path(hub), hub.name)} · {HUB_TITLES[hub.kind]}")]
    return "\n".join(out + _hub_articles(digest, hub, number))

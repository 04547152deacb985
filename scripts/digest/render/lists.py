"""Pages that list articles: home, editions, hubs and dossiers, unreviewed,
timeline and overview; and the grades page."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import groupby

from digest.model import BRIEF_WINDOW, KIND_LABELS, Digest, Hub
from digest.render import charts
from digest.render.common import (
    CONFIDENCE,
    CREDIBILITY,
    EDITIONS,
    GRADES,
    HOME,
    HUB_TITLES,
    OVERVIEW,
    RELIABILITY,
    TIMELINE,
    UNREVIEWED,
    a,
    admonition,
    article_path,
    brief_path,
    edition_path,
    esc,
    external,
    head,
    hub_index_path,
    hub_page_path,
    hub_path,
    item,
    line_item,
    link,
    month_path,
    para,
    plural,
    ul,
)
from digest.render.feeds import feed_base
from digest.text import html_attr

HOME_EDITIONS = 7  # the home page shows this many newest editions
CHARTS = "digest/charts"


def render_home(digest: Digest) -> str:
    """The snippet docs/index.md includes; links are relative to docs/index.md."""
    page = HOME
    out: list[str] = []
    if not digest.editions:
        out += ["No reviewed articles yet. Add articles and annotations to `seeds/` and run `make site`.", ""]
    for date, ids in digest.editions[:HOME_EDITIONS]:
        out += [f"## {a(page, edition_path(date), date.strftime('%A, %d %B %Y'))}", ""]
        out += ul([item(page, digest, digest.articles[i]) for i in ids])
    if len(digest.editions) > HOME_EDITIONS:
        out += para(f"Older editions: see {a(page, EDITIONS, 'all editions')}, the {a(page, TIMELINE, 'timeline')} "
                    f"and the {a(page, OVERVIEW, 'overview')}.")
    if digest.unreviewed:
        n = len(digest.unreviewed)
        out += para(f"{plural(n, 'article')} awaiting review: {a(page, UNREVIEWED, 'Unreviewed')}.")
    return "\n".join(out)


def months(digest: Digest) -> list[tuple[str, list[tuple[dt.date, tuple[str, ...]]]]]:
    """Editions rolled up by month ('2026-11'), newest first."""
    return [(key, list(group)) for key, group in groupby(digest.editions, key=lambda e: e[0].strftime("%Y-%m"))]


def render_editions_index(digest: Digest) -> str:
    """One line per month, so the index grows by twelve lines a year."""
    page = EDITIONS
    out = [*head("Editions"), *para(f"Every month of the digest, newest first. See also the {a(page, TIMELINE, 'timeline')}.")]
    items = []
    for key, group in months(digest):
        n = sum(len(ids) for _, ids in group)
        label = group[0][0].strftime("%B %Y")
        items.append(f"<li>{a(page, month_path(key), label)}: {plural(len(group), 'edition')}, {plural(n, 'article')}</li>")
    return "\n".join([*out, *ul(items)])


def render_month(digest: Digest, key: str, group: list[tuple[dt.date, tuple[str, ...]]]) -> str:
    page = month_path(key)
    out = [*head(f"Editions of {group[0][0].strftime('%B %Y')}"), *para(a(page, EDITIONS, "All months"))]
    items = [f"<li>{a(page, edition_path(date), date.strftime('%A, %d %B %Y'))}: {plural(len(ids), 'article')}</li>"
             for date, ids in group]
    return "\n".join([*out, *ul(items)])


def render_edition(digest: Digest, date: dt.date, ids: tuple[str, ...], newer: dt.date | None,
                   older: dt.date | None) -> str:
    page = edition_path(date)
    out = head(f"Edition of {date.strftime('%A, %d %B %Y')}")
    nav = []
    if older:
        nav.append(f"← {a(page, edition_path(older), older.isoformat())}")
    nav.append(a(page, month_path(date.strftime("%Y-%m")), date.strftime("%B %Y")))
    if newer:
        nav.append(f"{a(page, edition_path(newer), newer.isoformat())} →")
    out += para(" · ".join(nav))
    if date in digest.delivery.printed:
        out += para(f'{a(page, brief_path(date), "Printed brief (PDF)")}, to read on paper or offline', "digest-print")
    out += _brief(page, digest, date)
    for importance, group in groupby(ids, key=lambda i: digest.articles[i].importance):
        out += [f"## {importance.capitalize()} importance", ""]
        out += ul([item(page, digest, digest.articles[i]) for i in group])
    return "\n".join(out)


def _brief(page: str, digest: Digest, date: dt.date) -> list[str]:
    """The edition's opening: entities seen for the first time, topics that rose."""
    brief = digest.briefs.get(date)
    if brief is None or not (brief.first_seen or brief.rising):
        return []
    lines = []
    names = [a(page, hub_path(digest.entities[k]), digest.entities[k].name) for k in brief.first_seen
             if k in digest.entities]
    if names:
        lines.append("<strong>First seen:</strong> " + ", ".join(names))
    rising = [f"{a(page, hub_path(digest.topics[k]), digest.topics[k].name)} ({n} articles; at most {before} "
              f"in each of the previous {BRIEF_WINDOW} editions)" for k, n, before in brief.rising if k in digest.topics]
    if rising:
        lines.append("<strong>Topics up:</strong> " + "; ".join(rising))
    return admonition("info", "New since the previous editions", lines) if lines else []


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
    counts = Counter(_month_key(d) for d in (digest.articles[i].date for i in (*hub.articles, *hub.mentioned)) if d)
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
        out += ["## Appearances", "", *_img(page, entity_chart_path(hub), alt, *ENTITY_CHART_SIZE)]
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


def render_unreviewed(digest: Digest) -> str:
    page = UNREVIEWED
    out = [*head("Unreviewed"), "Articles in `seeds/` that have no annotation yet. They are published so that",
           "nothing is lost; their titles are their first sentences.", ""]
    if not digest.unreviewed:
        out += para("Every article has been reviewed.")
    out += ul([f"<li>{a(page, article_path(i), digest.articles[i].title)} (<code>{esc(i)}</code>)</li>"
               for i in digest.unreviewed])
    return "\n".join(out)


TIMELINE_HIGH = 10  # high-importance articles listed per month on the timeline


def _top(counter: Counter[str], names: dict[str, Hub], n: int) -> list[tuple[str, int]]:
    return sorted(((k, c) for k, c in counter.items() if k in names), key=lambda kc: (-kc[1], names[kc[0]].name.casefold(), kc[0]))[:n]


def render_timeline(digest: Digest) -> str:
    """Month by month, newest first: volume, the entities and topics most in
    the news, and the high-importance articles."""
    page = TIMELINE
    out = [*head("Timeline"), *para(
        "Each month of the digest, newest first: how many articles, who and what was most in the news, and the "
        f"articles of high importance. Charts are on the {a(page, OVERVIEW, 'overview')}.")]
    if not digest.editions:
        out += para("No reviewed articles yet.")
    for key, group in months(digest):
        ids = [i for _, day in group for i in day]
        arts = [digest.articles[i] for i in ids]
        out += [f"## {group[0][0].strftime('%B %Y')}", ""]
        out += para(f"{plural(len(ids), 'article')} in {plural(len(group), 'edition')} · "
                    f"{a(page, month_path(key), 'the editions of the month')}")
        ents = _top(Counter(k for art in arts for k in art.appearing), digest.entities, 8)
        if ents:
            out += para("<strong>Most seen</strong> " + " ".join(
                a(page, hub_path(digest.entities[k]), f"{digest.entities[k].name} ({n})", cls="md-tag") for k, n in ents))
        tops = _top(Counter(k for art in arts for k in art.topics), digest.topics, 8)
        if tops:
            out += para("<strong>Topics</strong> " + " ".join(
                a(page, hub_path(digest.topics[k]), f"{digest.topics[k].name} ({n})", cls="md-tag") for k, n in tops))
        high = [art for art in arts if art.importance == "high"]
        if high:
            items = [f"<li>{art.date.isoformat() if art.date else ''} · {a(page, article_path(art.id), art.title)}</li>"
                     for art in high[:TIMELINE_HIGH]]
            if len(high) > TIMELINE_HIGH:
                items.append(f"<li>and {plural(len(high) - TIMELINE_HIGH, 'more high-importance article')}: see "
                             f"{a(page, month_path(key), 'the editions of the month')}</li>")
            out += ul(items)
    return "\n".join(out)


WEEKS = 26  # weeks in the overview's weekly chart
WINDOW_DAYS = 30  # "the last 30 days", counted back from the newest edition
NETWORK_SIZE = 12  # entities in the co-mention network


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A data table (HTML) under a chart: the chart's text alternative."""
    head_row = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return [f"<details class=\"bd-data\"><summary>The data as a table</summary><table><thead><tr>{head_row}</tr></thead>"
            f"<tbody>{body}</tbody></table></details>", ""]


def _img(page: str, path: str, alt: str, width: int, height: int) -> list[str]:
    return [f'<p><img class="bd-chart" src="{link(page, path)}" alt="{html_attr(alt)}" width="{width}" height="{height}"></p>', ""]


def overview(digest: Digest) -> tuple[str, dict[str, bytes]]:
    """The overview page and its charts."""
    page = OVERVIEW
    out = head("Overview")
    files: dict[str, bytes] = {}
    reviewed = [digest.articles[i] for i in digest.reviewed]
    if not reviewed:
        return "\n".join([*out, *para("No reviewed articles yet.")]), files
    newest = max(art.date for art in reviewed if art.date)
    out += para(f"{plural(len(reviewed), 'reviewed article')} in {plural(len(digest.editions), 'edition')}, the newest of "
                f"{a(page, edition_path(newest), newest.isoformat())}. “Last 30 days” counts back from that edition. "
                f"Month by month: the {a(page, TIMELINE, 'timeline')}.")

    # Articles per week (weeks start on Monday) by importance.
    monday = newest - dt.timedelta(days=newest.weekday())
    weeks = [monday - dt.timedelta(weeks=k) for k in range(WEEKS - 1, -1, -1)]
    per: dict[tuple[dt.date, str], int] = Counter()
    for art in reviewed:
        if art.date and art.date >= weeks[0]:
            per[(art.date - dt.timedelta(days=art.date.weekday()), art.importance)] += 1
    levels = ("high", "medium", "low")
    path = f"{CHARTS}/overview-weekly.svg"
    files[path] = charts.bars(path, "Articles per week by importance", [w.isoformat() for w in weeks],
                              [(lv, [per.get((w, lv), 0) for w in weeks]) for lv in levels], stacked=True,
                              height=280, colours=charts.IMPORTANCE_COLOURS, label_every=4)
    total = sum(per.values())
    out += ["## Articles per week", "",
            *_img(page, path, f"Stacked bar chart of articles per week by importance over the last {WEEKS} weeks "
                  f"({plural(total, 'article')}); the table below gives every value.", 720, 280),
            *_table(["Week of", "High", "Medium", "Low"],
                    [[w.isoformat(), *(str(per.get((w, lv), 0)) for lv in levels)] for w in reversed(weeks)])]

    since = newest - dt.timedelta(days=WINDOW_DAYS - 1)
    recent = [art for art in reviewed if art.date and art.date >= since]
    for kind, label, counter in (
            ("entity", "entities", Counter(k for art in recent for k in art.appearing)),
            ("topic", "topics", Counter(k for art in recent for k in art.topics))):
        hubs = digest.hubs(kind)
        rows = _top(counter, hubs, 10)
        path = f"{CHARTS}/overview-top-{label}.svg"
        title = f"Top {label}, last {WINDOW_DAYS} days"
        out += [f"## Top {label} of the last {WINDOW_DAYS} days", ""]
        if not rows:
            out += para("None.")
            continue
        files[path] = charts.ranking(path, title, [(hubs[k].name, n) for k, n in rows])
        out += [*_img(page, path, f"{title}: " + ", ".join(f"{hubs[k].name} {n}" for k, n in rows),
                      720, charts.ranking_height(len(rows))),
                *_table(["", "Articles"], [[a(page, hub_path(hubs[k]), hubs[k].name), str(n)] for k, n in rows])]

    # The co-mention network of the entities seen in most articles.
    size = Counter({k: h.appearances for k, h in digest.entities.items()})
    top = [k for k, _ in _top(size, digest.entities, NETWORK_SIZE)]
    index = {k: i for i, k in enumerate(top)}
    edges = sorted({(min(index[k], index[o]), max(index[k], index[o]), n)
                    for k in top for o, n in digest.entities[k].appears_with if o in index})
    out += ["## Who appears with whom", ""]
    if len(top) < 2 or not edges:
        out += para("Not enough entities seen together yet.")
    else:
        path = f"{CHARTS}/overview-network.svg"
        files[path] = charts.network(path, f"Co-mentions of the {len(top)} most-seen entities",
                                     [(digest.entities[k].name, size[k]) for k in top], edges)
        pairs = sorted(edges, key=lambda e: (-e[2], e[0], e[1]))
        out += [*_img(page, path, f"Network of the {len(top)} entities seen in most articles; a line joins two "
                      "entities seen in the same article, thicker for more articles. Strongest links: " + ", ".join(
                          f"{digest.entities[top[i]].name} and {digest.entities[top[j]].name} ({n})" for i, j, n in pairs[:5]),
                      640, 640),
                *_table(["Entities", "Articles together"],
                        [[f"{a(page, hub_path(digest.entities[top[i]]), digest.entities[top[i]].name)} and "
                          f"{a(page, hub_path(digest.entities[top[j]]), digest.entities[top[j]].name)}", str(n)]
                         for i, j, n in pairs])]
    return "\n".join(out), files


def render_grades(digest: Digest) -> str:
    del digest  # the scale is fixed; the argument keeps every renderer's shape
    out = [*head("Grades and confidence"),
           "Every article carries an **Admiralty grade** that rates the source and the information",
           "separately, and may carry an analyst's **confidence** in the assessment.", "",
           "## Admiralty grade", "",
           "A letter for the source's reliability and a digit for the information's credibility,",
           "for example **C3**: a fairly reliable source, information possibly true. A part that",
           "was not rated shows as **X**.", "", "### Source reliability", "",
           "| Letter | Meaning |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in RELIABILITY.items()]
    out += ["", "### Information credibility", "", "| Digit | Meaning |", "| --- | --- |"]
    out += [f"| {k} | {v} |" for k, v in CREDIBILITY.items()]
    out += ["", "## Confidence", "",
            "How sure the analyst is of the assessment, not of the source:", ""]
    for word, meaning in CONFIDENCE.items():
        out += [f"### {word.capitalize()} {{ #confidence-{word} }}", "", f"{meaning.capitalize()}.", ""]
    out += ["## Importance", "", "How much the item matters to readers of the digest: **high**, **medium**",
            "(the default) or **low**. Editions list items by importance.", ""]
    return "\n".join(out)


__all__ = [
    "GRADES",
    "overview",
    "render_edition",
    "render_editions_index",
    "render_grades",
    "render_home",
    "render_hub",
    "render_hub_index",
    "render_timeline",
    "render_unreviewed",
]

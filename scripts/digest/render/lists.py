"""Pages that list articles: home, editions, hubs, unreviewed; and the grades page."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from digest.model import BRIEF_WINDOW, KIND_LABELS, Digest, Hub
from digest.render.common import (
    CONFIDENCE,
    CREDIBILITY,
    EDITIONS,
    GRADES,
    HOME,
    HUB_TITLES,
    RELIABILITY,
    UNREVIEWED,
    a,
    article_path,
    edition_path,
    external,
    head,
    hub_index_path,
    hub_page_path,
    hub_path,
    item,
    line_item,
    link,
    month_path,
)
from digest.text import md_text

HOME_EDITIONS = 7  # the home page shows this many newest editions


def render_home(digest: Digest) -> str:
    """The snippet docs/index.md includes; links are relative to docs/index.md."""
    page = HOME
    out: list[str] = []
    if not digest.editions:
        out += ["No reviewed articles yet. Add articles and annotations to `seeds/` and run `make site`.", ""]
    for date, ids in digest.editions[:HOME_EDITIONS]:
        out += [f"## {a(page, edition_path(date), date.strftime('%A, %d %B %Y'))}", ""]
        out += [item(page, digest, digest.articles[i]) for i in ids] + [""]
    if len(digest.editions) > HOME_EDITIONS:
        out += [f"Older editions: see {a(page, EDITIONS, 'all editions')}.", ""]
    if digest.unreviewed:
        n = len(digest.unreviewed)
        out += [f"{n} article{'s' if n != 1 else ''} awaiting review: {a(page, UNREVIEWED, 'Unreviewed')}.", ""]
    return "\n".join(out)


def months(digest: Digest) -> list[tuple[str, list[tuple[dt.date, tuple[str, ...]]]]]:
    """Editions rolled up by month ('2026-11'), newest first."""
    return [(key, list(group)) for key, group in groupby(digest.editions, key=lambda e: e[0].strftime("%Y-%m"))]


def render_editions_index(digest: Digest) -> str:
    """One line per month, so the index grows by twelve lines a year."""
    page = EDITIONS
    out = [*head("Editions"), "Every month of the digest, newest first.", ""]
    for key, group in months(digest):
        n = sum(len(ids) for _, ids in group)
        label = group[0][0].strftime("%B %Y")
        out.append(f"- {a(page, month_path(key), label)}: {len(group)} editions, {n} article{'s' if n != 1 else ''}")
    return "\n".join([*out, ""])


def render_month(digest: Digest, key: str, group: list[tuple[dt.date, tuple[str, ...]]]) -> str:
    page = month_path(key)
    out = [*head(f"Editions of {group[0][0].strftime('%B %Y')}"), a(page, EDITIONS, "All months"), ""]
    for date, ids in group:
        n = len(ids)
        out.append(f"- {a(page, edition_path(date), date.strftime('%A, %d %B %Y'))}: {n} article{'s' if n != 1 else ''}")
    return "\n".join([*out, ""])


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
    out += [" · ".join(nav), ""]
    out += _brief(page, digest, date)
    for importance, group in groupby(ids, key=lambda i: digest.articles[i].importance):
        out += [f"## {importance.capitalize()} importance", ""]
        out += [item(page, digest, digest.articles[i]) for i in group] + [""]
    return "\n".join(out)


def _brief(page: str, digest: Digest, date: dt.date) -> list[str]:
    """The edition's opening: entities seen for the first time, topics that rose."""
    brief = digest.briefs.get(date)
    if brief is None or not (brief.first_seen or brief.rising):
        return []
    out = ['!!! info "New since the previous editions"', ""]
    names = [a(page, hub_path(digest.entities[k]), digest.entities[k].name) for k in brief.first_seen
             if k in digest.entities]
    if names:
        out += ["    **First seen:** " + ", ".join(names), ""]
    rising = [f"{a(page, hub_path(digest.topics[k]), digest.topics[k].name)} ({n} articles; at most {before} "
              f"in each of the previous {BRIEF_WINDOW} editions)" for k, n, before in brief.rising if k in digest.topics]
    if rising:
        out += ["    **Topics up:** " + "; ".join(rising), ""]
    return out


def render_hub_index(digest: Digest, kind: str) -> str:
    page = hub_index_path(kind)
    hubs = digest.hubs(kind)
    out = head(HUB_TITLES[kind])
    if not hubs:
        out += ["None yet.", ""]

    def entry(h: Hub) -> str:
        n = len(h.articles)
        return f"- {a(page, hub_path(h), h.name)} ({n} article{'s' if n != 1 else ''})"

    if kind == "entity":
        for ekind, label in KIND_LABELS.items():
            group = [h for h in hubs.values() if (h.entity_kind or "other") == ekind]
            if group:
                out += [f"## {label}", ""] + [entry(h) for h in group] + [""]
    else:
        out += [entry(h) for h in hubs.values()] + [""]
    return "\n".join(out)


def render_hub(digest: Digest, hub: Hub) -> str:
    page = hub_path(hub)
    label = {"topic": "Topic", "region": "Region", "source": "Source"}.get(hub.kind) or \
        KIND_LABELS.get(hub.entity_kind or "other", "Entity").rstrip("s").replace("Peopl", "Person")
    out = [*head(hub.name), f"{a(page, hub_index_path(hub.kind), HUB_TITLES[hub.kind])} · {label}", ""]
    if hub.description:
        out += [md_text(hub.description), ""]
    if hub.aliases:
        out += ["**Also written** " + ", ".join(md_text(x) for x in hub.aliases), ""]
    if hub.kind == "source":
        details = []
        if hub.url:
            details.append(f"**Website** {external(hub.url, hub.url)}")
        if hub.country:
            details.append(f"**Country** {md_text(hub.country)}")
        rating = hub.reliability or "X"
        target = link(page, GRADES + "#source-reliability")
        details.append(f'**Reliability** [{rating}]({target} "{RELIABILITY[rating]}") ({RELIABILITY[rating].lower()})')
        out += [" · ".join(details), ""]
        if hub.note:
            out += [md_text(hub.note), ""]
    out += _hub_articles(digest, hub, 1)
    return "\n".join(out)


HUB_PAGE_SIZE = 100  # articles per hub page; a hub never becomes one endless page


def hub_pages(hub: Hub) -> int:
    return max(1, -(-len(hub.articles) // HUB_PAGE_SIZE))


def _hub_articles(digest: Digest, hub: Hub, number: int) -> list[str]:
    page = hub_page_path(hub, number)
    n, pages = len(hub.articles), hub_pages(hub)
    first = (number - 1) * HUB_PAGE_SIZE
    chunk = hub.articles[first:first + HUB_PAGE_SIZE]
    out = [f"## Articles ({n})" if pages == 1 else f"## Articles {first + 1}–{first + len(chunk)} of {n}", ""]
    if pages > 1:
        out += [_pager(page, hub, number, pages), ""]
    out += [line_item(page, digest, digest.articles[i]) for i in chunk] + [""]
    if pages > 1:
        out += [_pager(page, hub, number, pages), ""]
    return out


def _pager(page: str, hub: Hub, number: int, pages: int) -> str:
    links = [a(page, hub_page_path(hub, k), str(k)) if k != number else f"**{k}**" for k in range(1, pages + 1)]
    return "Pages: " + " ".join(links)


def render_hub_page(digest: Digest, hub: Hub, number: int) -> str:
    """Page ``number`` (2 and up) of a long hub."""
    page = hub_page_path(hub, number)
    out = [*head(f"{hub.name}, page {number}"), f"{a(page, hub_path(hub), hub.name)} · {HUB_TITLES[hub.kind]}", ""]
    return "\n".join(out + _hub_articles(digest, hub, number))


def render_unreviewed(digest: Digest) -> str:
    page = UNREVIEWED
    out = [*head("Unreviewed"), "Articles in `seeds/` that have no annotation yet. They are published so that",
           "nothing is lost; their titles are their first sentences.", ""]
    if not digest.unreviewed:
        out += ["Every article has been reviewed.", ""]
    out += [f"- {a(page, article_path(i), digest.articles[i].title)} (`{i}`)" for i in digest.unreviewed]
    return "\n".join([*out, ""])


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
    "render_edition",
    "render_editions_index",
    "render_grades",
    "render_home",
    "render_hub",
    "render_hub_index",
    "render_unreviewed",
]

"""Home page and editions: the newest editions on the home page, the
index of months, each month, each edition (with what is new in it), and
the unreviewed articles."""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from digest.model import BRIEF_WINDOW, Digest
from digest.render.common import (
    EDITIONS,
    HOME,
    OVERVIEW,
    TIMELINE,
    UNREVIEWED,
    a,
    admonition,
    article_path,
    brief_path,
    edition_path,
    esc,
    head,
    hub_path,
    item,
    month_path,
    para,
    plural,
    ul,
)

HOME_EDITIONS = 7  # the home page shows this many newest editions


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


def render_unreviewed(digest: Digest) -> str:
    page = UNREVIEWED
    out = [*head("Unreviewed"), "Articles in `seeds/` that have no annotation yet. They are published so that",
           "nothing is lost; their titles are their first sentences.", ""]
    if not digest.unreviewed:
        out += para("Every article has been reviewed.")
    out += ul([f"<li>{a(page, article_path(i), digest.articles[i].title)} (<code>{esc(i)}</code>)</li>"
               for i in digest.unreviewed])
    return "\n".join(out)



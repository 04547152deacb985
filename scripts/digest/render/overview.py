"""Timeline, overview and grades: the months with their busiest entities
and high-importance items, the overview's charts and tables, and the page
that explains grades and confidence."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from digest.model import Digest, Hub
from digest.render import charts
from digest.render.common import (
    CHARTS,
    CONFIDENCE,
    CREDIBILITY,
    OVERVIEW,
    RELIABILITY,
    TIMELINE,
    a,
    article_path,
    edition_path,
    head,
    hub_path,
    img,
    month_path,
    para,
    plural,
    table,
    ul,
)
from digest.render.editions import months

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
            *img(page, path, f"Stacked bar chart of articles per week by importance over the last {WEEKS} weeks "
                  f"({plural(total, 'article')}); the table below gives every value.", 720, 280),
            *table(["Week of", "High", "Medium", "Low"],
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
        out += [*img(page, path, f"{title}: " + ", ".join(f"{hubs[k].name} {n}" for k, n in rows),
                      720, charts.ranking_height(len(rows))),
                *table(["", "Articles"], [[a(page, hub_path(hubs[k]), hubs[k].name), str(n)] for k, n in rows])]

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
        out += [*img(page, path, f"Network of the {len(top)} entities seen in most articles; a line joins two "
                      "entities seen in the same article, thicker for more articles. Strongest links: " + ", ".join(
                          f"{digest.entities[top[i]].name} and {digest.entities[top[j]].name} ({n})" for i, j, n in pairs[:5]),
                      640, 640),
                *table(["Entities", "Articles together"],
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


__all__ = ["overview", "render_grades", "render_timeline"]

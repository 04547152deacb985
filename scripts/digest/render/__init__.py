"""Stage 4: pure renderers, Digest -> {path under docs/digest/: Markdown}.

No clock, no file system, no global state: the same Digest always gives the
same bytes. (The entity charts may be drawn in a child process, from plain
data; the bytes are the same.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from digest.fsutil import spawned_pool, usable_cores
from digest.model import Digest
from digest.names import ROOT
from digest.progress import QUIET, Progress
from digest.render.article import render_article
from digest.render.common import (
    EDITIONS,
    GRADES,
    HUB_FOLDERS,
    OVERVIEW,
    TIMELINE,
    UNREVIEWED,
    article_path,
    edition_path,
    hub_index_path,
    hub_page_path,
    hub_path,
    month_path,
)
from digest.render.editions import months, render_edition, render_editions_index, render_home, render_month, render_unreviewed
from digest.render.hubs import (
    HUB_PAGE_SIZE,
    draw_entity_charts,
    entity_chart,
    entity_chart_path,
    hub_pages,
    render_hub,
    render_hub_index,
    render_hub_page,
)
from digest.render.marking import audience_note, mark_pages
from digest.render.overview import overview, render_grades, render_timeline
from digest.render.reuse import KEPT, Page, Reuse

HOME_SNIPPET = f"{ROOT}/home.md"
CHARTS_BESIDE: Final = 40  # fewer charts are drawn in this process: a child takes about 0.3 s to start


def render_all(digest: Digest, progress: Progress = QUIET, *, encoded: bool = False,
               reuse: Reuse | None = None) -> dict[str, Page]:
    """Every generated page (Markdown) and chart (SVG), keyed by its path
    relative to ``docs/``; with ``encoded``, every page as UTF-8 bytes.
    With ``reuse``, a page the last run wrote from the same inputs is
    :data:`KEPT` instead of rendered (digest.render.reuse).

    Encoded, each page is held as bytes from the moment it is rendered:
    nearly every page has a character beyond Latin-1 (a typographic quote, a
    name), which makes Python hold the whole page at two bytes a character.
    At 10,000 long articles (630 MB of Markdown) that was 400 MB more at the
    peak of the run.
    """
    pages: dict[str, Page] = {}
    if reuse is not None:
        reuse.start(digest)
    progress.start("rendering pages", len(digest.articles) + sum(len(digest.hubs(k)) for k in HUB_FOLDERS))

    def put(path: str, text: Page) -> None:
        # Two pages on one path would silently lose one of them.
        if path in pages:
            raise ValueError(f"two pages render to {path}")
        pages[path] = text.encode("utf-8") if encoded and isinstance(text, str) else text

    # pygal takes about 10 ms a chart: the entity charts are drawn in another
    # process (spawned: a fresh interpreter, not a copy of this large one)
    # while this one renders the pages, unless they are too few to be worth
    # one or only one core is available.
    wanted = []
    for hub in digest.hubs("entity").values():
        # A chart is a function of what it shows: its entity's articles' dates.
        path = entity_chart_path(hub)
        if reuse is not None and reuse.as_before((path,), (*hub.articles, *hub.mentioned), fresh=reuse.hub_changed(hub)):
            put(path, KEPT)
            continue
        chart = entity_chart(digest, hub)
        if chart is None:
            continue
        if reuse is not None and reuse.keep(chart[0], chart[1:]):
            put(chart[0], KEPT)
            continue
        wanted.append(chart)
    if len(wanted) >= CHARTS_BESIDE and usable_cores() > 1:
        with spawned_pool(1) as pool:
            drawn = pool.submit(draw_entity_charts, wanted)
            _render_pages(digest, put, progress, reuse)
            svgs = drawn.result()
    else:
        _render_pages(digest, put, progress, reuse)
        svgs = draw_entity_charts(wanted)
    for path, data in svgs.items():
        put(path, data)
    progress.done()
    return mark_pages(digest, dict(sorted(pages.items())))


def _render_pages(digest: Digest, put: Callable[[str, Page], None], progress: Progress, reuse: Reuse | None) -> None:
    put(HOME_SNIPPET, audience_note(digest) + render_home(digest))
    put(EDITIONS, render_editions_index(digest))
    put(GRADES, render_grades(digest))
    put(UNREVIEWED, render_unreviewed(digest))
    put(TIMELINE, render_timeline(digest))
    text, files = overview(digest)
    put(OVERVIEW, text)
    for path, data in files.items():
        put(path, data)
    dates = [d for d, _ in digest.editions]
    for i, (date, ids) in enumerate(digest.editions):
        newer = dates[i - 1] if i > 0 else None
        older = dates[i + 1] if i + 1 < len(dates) else None
        path = edition_path(date)
        put(path, KEPT if reuse is not None and reuse.edition(digest, date, ids, newer, older, path) else
            render_edition(digest, date, ids, newer, older))
    for article in digest.articles.values():
        path = article_path(article.id)
        put(path, KEPT if reuse is not None and reuse.article(digest, article, path) else render_article(digest, article))
        progress.advance()
    for key, group in months(digest):
        put(month_path(key), render_month(digest, key, group))
    for kind in HUB_FOLDERS:
        put(hub_index_path(kind), render_hub_index(digest, kind))
        for hub in digest.hubs(kind).values():
            path = hub_path(hub)
            put(path, KEPT if reuse is not None and reuse.hub(digest, hub, 1, path, HUB_PAGE_SIZE) else
                render_hub(digest, hub))
            for number in range(2, hub_pages(hub) + 1):
                path = hub_page_path(hub, number)
                put(path, KEPT if reuse is not None and reuse.hub(digest, hub, number, path, HUB_PAGE_SIZE) else
                    render_hub_page(digest, hub, number))
            progress.advance()

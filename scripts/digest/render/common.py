"""Helpers every renderer shares: paths, links, chips and rating labels.

Paths are relative to ``docs/``. Page bodies are raw HTML blocks between
Markdown headings: Python-Markdown passes raw HTML through untouched, while
every Markdown link or emphasis costs it inline-pattern passes (measured on
1,000 articles: 17.3 s to build with Markdown lists and links, 9.0 s with the
same content as HTML). Both editions set ``use_directory_urls: false``, so one
relative ``.html`` link is right in either edition without any rewriting.
Headings stay Markdown so that the table of contents and permalinks work.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
import re
from functools import cache, lru_cache
from typing import Final

from digest.model import Article, Digest, Hub
from digest.names import ROOT
from digest.text import html_attr, md_text

HOME: Final = "index.md"  # the hand-written home page that includes home.md
HUB_FOLDERS: Final = {"topic": "topics", "region": "regions", "entity": "entities", "source": "sources"}
HUB_TITLES: Final = {"topic": "Topics", "region": "Regions", "entity": "Entities", "source": "Sources"}
GRADES: Final = f"{ROOT}/grades.md"
UNREVIEWED: Final = f"{ROOT}/unreviewed.md"
EDITIONS: Final = f"{ROOT}/editions/index.md"
TIMELINE: Final = f"{ROOT}/timeline.md"
OVERVIEW: Final = f"{ROOT}/overview.md"
CHARTS: Final = f"{ROOT}/charts"  # the SVG charts (render/charts.py draws them)


def head(title: str, feeds: str = "") -> list[str]:
    """A page's front matter and heading.

    MkDocs copies a page's title into ``<title>`` and the search index without
    escaping, so the title is given in front matter already HTML-escaped: a
    title such as ``</title><script>`` stays text everywhere.
    """
    safe = html.escape(" ".join(title.split()), quote=False)
    # Generated pages are searched through the digest's prebuilt index, so
    # Material's search plugin need not parse them: under MkDocs the hook
    # overrides/hooks/generated_pages.py leaves them out of it. Not said here,
    # so that Zensical (which runs no hooks) indexes them for its own search.
    # ``feeds``: the page's feeds under docs/ without their suffix, which
    # overrides/main.html names in the hosted edition's <head> and as a
    # subscribe link (the generator makes the path, never a seed's text).
    return ["---", f"title: {json.dumps(safe, ensure_ascii=False)}", *([f"feeds: {feeds}"] if feeds else []),
            "---", "", f"# {md_text(title)}", ""]


BRIEFS: Final = f"{ROOT}/briefs"  # the printed briefs (digest/printed.py): one PDF per edition that has one


def brief_path(date: dt.date) -> str:
    return f"{BRIEFS}/{date.isoformat()}.pdf"


def article_path(ident: str) -> str:
    return f"{ROOT}/articles/{ident}.md"


def month_path(key: str) -> str:
    """The page listing one month's editions; key is '2026-11'."""
    return f"{ROOT}/editions/{key}.md"


def edition_path(date: dt.date) -> str:
    return f"{ROOT}/editions/{date.isoformat()}.md"


def hub_path(hub: Hub) -> str:
    return f"{ROOT}/{HUB_FOLDERS[hub.kind]}/{hub.slug}.md"


def hub_index_path(kind: str) -> str:
    return f"{ROOT}/{HUB_FOLDERS[kind]}/index.md"


@cache
def _dir_prefix(from_dir: str, to_dir: str) -> str:
    rel = posixpath.relpath(to_dir or ".", from_dir or ".")
    return "" if rel == "." else rel + "/"


def link(page: str, target: str) -> str:
    """The relative URL from one page to another (both paths under docs/,
    the target a ``.md`` path with an optional ``#anchor``), as built."""
    path, _, anchor = target.partition("#")
    if not path:
        return f"#{anchor}"
    to_dir, _, name = path.rpartition("/")
    if name.endswith(".md"):
        name = name[: -len(".md")] + ".html"
    rel = _dir_prefix(page.rpartition("/")[0], to_dir) + name
    return rel + (f"#{anchor}" if anchor else "")


@lru_cache(maxsize=1 << 16)  # titles and names recur in many lists
def esc(text: str) -> str:
    """Text for an HTML element, on one line, shown exactly as written."""
    if "\n" in text or "\r" in text or "\t" in text or "  " in text:
        text = " ".join(text.split())
    return html.escape(text, quote=False)


def a(page: str, target: str, text: str, title: str = "", cls: str = "") -> str:
    """An HTML link from ``page`` to another generated page, its text escaped."""
    c = f' class="{cls}"' if cls else ""
    t = f' title="{html_attr(title)}"' if title else ""
    return f'<a href="{link(page, target)}"{c}{t}>{esc(text)}</a>'


def ul(items: list[str], cls: str = "") -> list[str]:
    """A raw HTML list block, one item per line and no blank line inside."""
    c = f' class="{cls}"' if cls else ""
    return [f"<ul{c}>", *items, "</ul>", ""] if items else []


def para(inner: str, cls: str = "") -> list[str]:
    """A raw HTML paragraph block (``inner`` is HTML already)."""
    c = f' class="{cls}"' if cls else ""
    return [f"<p{c}>{inner}</p>", ""]


def admonition(kind: str, title: str, paragraphs: list[str]) -> list[str]:
    """Material's admonition, as the HTML its Markdown extension makes."""
    body = "".join(f"<p>{x}</p>" for x in paragraphs)
    return [f'<div class="admonition {kind}"><p class="admonition-title">{esc(title)}</p>{body}</div>', ""]


def chips(page: str, digest: Digest, kind: str, keys: tuple[str, ...]) -> str:
    hubs = digest.hubs(kind)
    return " ".join(a(page, hub_path(hubs[k]), hubs[k].name, cls="md-tag") for k in keys if k in hubs)


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


RELIABILITY: Final = {
    "A": "Completely reliable", "B": "Usually reliable", "C": "Fairly reliable",
    "D": "Not usually reliable", "E": "Unreliable", "F": "Reliability cannot be judged",
    "X": "Reliability not rated",
}
CREDIBILITY: Final = {
    "1": "Confirmed by other sources", "2": "Probably true", "3": "Possibly true",
    "4": "Doubtful", "5": "Improbable", "6": "Truth cannot be judged", "X": "Credibility not rated",
}
CONFIDENCE: Final = {
    "high": "well-corroborated information from reliable sources; the judgement could still be wrong",
    "moderate": "credible sources and plausible reasoning, but not enough corroboration for high confidence",
    "low": "scant, questionable or fragmented information; the judgement is tentative",
}


def grade_title(grade: str) -> str:
    return f"{RELIABILITY[grade[0]]}; {CREDIBILITY[grade[1]].lower()}"


def grade_link(page: str, grade: str) -> str:
    return a(page, GRADES + "#admiralty-grade", grade, title=grade_title(grade))


def confidence_link(page: str, word: str) -> str:
    return a(page, GRADES + "#confidence-" + word, word, title=f"{word.capitalize()} confidence")


def source_line(page: str, digest: Digest, article: Article) -> str:
    """'Azernews · C3 · high importance' for lists of articles."""
    parts = []
    if article.source in digest.sources:
        hub = digest.sources[article.source]
        parts.append(a(page, hub_path(hub), hub.name))
    parts.append(grade_link(page, article.grade))
    parts.append(f"{article.importance} importance")
    return " · ".join(parts)


def line_item(page: str, digest: Digest, article: Article) -> str:
    """An article on one line, for long lists: title, date, source and grade."""
    date = article.date.isoformat() if article.date else "unreviewed"
    source = digest.sources[article.source].name if article.source in digest.sources else ""
    return (f"<li>{a(page, article_path(article.id), article.title)} · {date} · {esc(source)} · "
            f"{grade_link(page, article.grade)}</li>")


def hub_page_path(hub: Hub, number: int) -> str:
    """Page 1 of a hub is its own page; later pages live in a folder beside it."""
    first = hub_path(hub)
    return first if number == 1 else f"{first[: -len('.md')]}/{number}.md"


def item(page: str, digest: Digest, article: Article, *, with_date: bool = False) -> str:
    """An article in a list: linked title, source line, bottom line."""
    date = f"{article.date.isoformat()} · " if with_date and article.date else ""
    out = (f"<li><strong>{a(page, article_path(article.id), article.title)}</strong>"
           f"<br>{date}{source_line(page, digest, article)}")
    if article.summary:
        out += f"<br>{esc(article.summary)}"
    return out + "</li>"


# What a URL may not hold as it is (the URL Standard's "valid URL string"):
# white space and controls, these ASCII signs, and a % that does not begin a
# percent-encoded byte. Browsers encode them when they follow the link; the
# page says it with them encoded, as the Nu HTML Checker requires.
_NOT_IN_URL = re.compile(r'[\x00-\x20"<>`{|}\\^\x7f]|%(?![0-9A-Fa-f]{2})')


def url_text(url: str) -> str:
    """``url`` with what may not stand in a URL percent-encoded; letters of
    any script stay (an address may be an IRI)."""
    return _NOT_IN_URL.sub(lambda m: f"%{ord(m.group()):02X}", url)


def external(url: str, text: str) -> str:
    """A link out of the digest (the schema lets only http(s) URLs in)."""
    return f'<a href="{html_attr(url_text(url))}">{esc(text)}</a>'


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """A data table (HTML) under a chart: the chart's text alternative."""
    head_row = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return [f"<details class=\"bd-data\"><summary>The data as a table</summary><table><thead><tr>{head_row}</tr></thead>"
            f"<tbody>{body}</tbody></table></details>", ""]


def img(page: str, path: str, alt: str, width: int, height: int) -> list[str]:
    return [f'<p><img class="bd-chart" src="{link(page, path)}" alt="{html_attr(alt)}" width="{width}" height="{height}"></p>', ""]


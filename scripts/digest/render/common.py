"""Helpers every renderer shares: paths, links, chips and rating labels.

Paths are relative to ``docs/``; links are written as relative ``.md`` links so
MkDocs resolves them for either edition (directory URLs or ``.html`` files).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import posixpath
from functools import cache
from typing import Final

from digest.model import Article, Digest, Hub
from digest.text import md_text, md_url

ROOT: Final = "digest"  # the folder under docs/ that the generator owns
HOME: Final = "index.md"  # the hand-written home page that includes home.md
HUB_FOLDERS: Final = {"topic": "topics", "region": "regions", "entity": "entities", "source": "sources"}
HUB_TITLES: Final = {"topic": "Topics", "region": "Regions", "entity": "Entities", "source": "Sources"}
GRADES: Final = f"{ROOT}/grades.md"
UNREVIEWED: Final = f"{ROOT}/unreviewed.md"
EDITIONS: Final = f"{ROOT}/editions/index.md"


def head(title: str) -> list[str]:
    """A page's front matter and heading.

    MkDocs copies a page's title into ``<title>`` and the search index without
    escaping, so the title is given in front matter already HTML-escaped: a
    title such as ``</title><script>`` stays text everywhere.
    """
    safe = html.escape(" ".join(title.split()), quote=False)
    # Generated pages are searched through the digest's prebuilt index, so
    # Material's search plugin need not parse them (see render/search.py).
    return ["---", f"title: {json.dumps(safe, ensure_ascii=False)}", "search:", "  exclude: true", "---", "",
            f"# {md_text(title)}", ""]


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
    """A relative link from one page (path under docs/) to another."""
    path, _, anchor = target.partition("#")
    if not path:
        return f"#{anchor}"
    to_dir, _, name = path.rpartition("/")
    rel = _dir_prefix(page.rpartition("/")[0], to_dir) + name
    return rel + (f"#{anchor}" if anchor else "")


def a(page: str, target: str, text: str, title: str = "") -> str:
    """A Markdown link with escaped text."""
    t = f' "{title}"' if title else ""
    return f"[{md_text(text)}]({link(page, target)}{t})"


def chips(page: str, digest: Digest, kind: str, keys: tuple[str, ...]) -> str:
    hubs = digest.hubs(kind)
    return " ".join(f"{a(page, hub_path(hubs[k]), hubs[k].name)}{{ .md-tag }}" for k in keys if k in hubs)


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
    return f"[{grade}]({link(page, GRADES + '#admiralty-grade')} \"{grade_title(grade)}\")"


def confidence_link(page: str, word: str) -> str:
    return f"[{word}]({link(page, GRADES + '#confidence-' + word)} \"{word.capitalize()} confidence\")"


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
    """An article on one line, for long lists: title, date, source and grade.

    Two links, not four: long lists are where Python-Markdown spends its time.
    """
    date = article.date.isoformat() if article.date else "unreviewed"
    source = digest.sources[article.source].name if article.source in digest.sources else ""
    return (f"- {a(page, article_path(article.id), article.title)} · {date} · {md_text(source)} · "
            f"{grade_link(page, article.grade)}")


def hub_page_path(hub: Hub, number: int) -> str:
    """Page 1 of a hub is its own page; later pages live in a folder beside it."""
    first = hub_path(hub)
    return first if number == 1 else f"{first[: -len('.md')]}/{number}.md"


def item(page: str, digest: Digest, article: Article, *, with_date: bool = False) -> str:
    """An article in a list: linked title, source line, bottom line."""
    date = f"{article.date.isoformat()} · " if with_date and article.date else ""
    head = f"- **{a(page, article_path(article.id), article.title)}**  \n  {date}{source_line(page, digest, article)}"
    if article.summary:
        head += f"  \n  {md_text(article.summary)}"
    return head


def external(url: str, text: str) -> str:
    return f"[{md_text(text)}]({md_url(url)})"

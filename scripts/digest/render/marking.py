"""TLP labels on the generated pages: each page shows, at its top and its
bottom, the label of the most restrictive item it displays.

What a page displays is read off the page itself (every article it shows is
linked) and, for a hub's pages, off the hub (its counts, dates and charts
come from all its articles); a page that links no article shows aggregates
of the whole edition (home, overview, timeline, indexes) and takes the
edition's most restrictive label. Over-marking is safe, under-marking is
not. The label is text ("TLP:AMBER"), in FIRST's colours on black, so it
reads in light and dark schemes and without colour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from digest.model import Digest
from digest.render.common import HUB_FOLDERS, article_path, hub_page_path, hub_path
from digest.render.hubs import hub_pages
from digest.render.reuse import Page
from digest.schema import TLP_LABELS, tlp_rank

_LINKED: Final = re.compile(r"articles/([A-Za-z0-9._-]+)\.html")
# From one article's page to another the link is relative to the folder
# both live in: "beta.html", without "articles/".
_LINKED_BESIDE: Final = re.compile(r'href="([A-Za-z0-9._-]+)\.html[#"]')
_ARTICLES: Final = article_path("x").rpartition("/")[0]
_FRONT: Final = re.compile(r"\A---\n.*?\n---\n", re.S)


def strictest(labels: Iterable[str]) -> str:
    found = [x for x in labels if x]
    return max(found, key=tlp_rank) if found else ""


def _label(label: str) -> str:
    return f'<span class="digest-tlp digest-tlp--{label.lower().replace("+", "-")}">TLP:{label}</span>'


def banner(label: str, own: str = "") -> str:
    also = f' <span class="digest-tlp-own">this article: {_label(own)}</span>' if own and own != label else ""
    return f'<p class="digest-tlp-line">{_label(label)}{also}</p>'


def audience_note(digest: Digest) -> str:
    """What the home page says about whom the edition is for."""
    if not digest.audience:
        return ""
    wider = [x for x in TLP_LABELS if tlp_rank(x) <= tlp_rank(digest.audience)]
    return (f'<p class="digest-audience">This edition is for readers cleared for {_label(digest.audience)}: '
            f"it holds only items marked {', '.join('TLP:' + x for x in wider)}.</p>\n\n")


def mark_pages(digest: Digest, pages: Mapping[str, Page]) -> dict[str, Page]:
    """Every Markdown page with its label at the top (after the front matter)
    and the bottom; pages unchanged when no item is marked. A page kept from
    the last run (digest.render.reuse) is kept: it was marked then, and its
    key holds every label."""
    labels = {a.id: a.tlp for a in digest.articles.values()}
    if not any(labels.values()):
        return dict(pages)
    edition = strictest(labels.values())
    owners: dict[str, str] = {article_path(a.id): a.id for a in digest.articles.values()}
    hubs: dict[str, str] = {}
    for kind in HUB_FOLDERS:
        for hub in digest.hubs(kind).values():
            label = strictest(labels.get(i, "") for i in (*hub.articles, *hub.mentioned))
            hubs[hub_path(hub)] = label
            for number in range(2, hub_pages(hub) + 1):
                hubs[hub_page_path(hub, number)] = label
    out: dict[str, Page] = {}
    for path, content in pages.items():
        if not path.endswith(".md") or not isinstance(content, str | bytes):
            out[path] = content
            continue
        text = content.decode("utf-8") if isinstance(content, bytes) else content
        linked = {m.group(1) for m in _LINKED.finditer(text)}
        if path.rpartition("/")[0] == _ARTICLES:
            linked.update(m.group(1) for m in _LINKED_BESIDE.finditer(text))
        own = owners.get(path)
        if own:
            linked.add(own)
        label = strictest([*(labels.get(i, "") for i in linked), hubs.get(path, "")]) if linked or path in hubs \
            else edition
        if label:
            line = banner(label, labels.get(own, "") if own else "")
            front = _FRONT.match(text)
            cut = front.end() if front else 0
            text = f"{text[:cut]}{line}\n\n{text[cut:].rstrip()}\n\n{line}\n"
        out[path] = text.encode("utf-8") if isinstance(content, bytes) else text
    return out

"""The text the search index is built from, one document per generated page.

Generated pages are kept out of Material's own search index (its plugin would
parse every page's HTML again); the site build turns these documents into a
prebuilt index instead (see digest.searchindex).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from digest.model import Digest
from digest.render.common import article_path, hub_path
from digest.text import plain

SEARCH_PAGES = "digest/assets/search/pages.js"
SNIPPET = 240  # characters of text shown under a search result


TAGS = 8  # facet names shown under an article's search result


def search_pages(digest: Digest) -> list[dict[str, str | list[str]]]:
    """Per page: its source path under docs/, title, extra terms, text,
    snippet, and tags (the facet names Material shows under a result)."""
    out: list[dict[str, str | list[str]]] = []
    for article in digest.articles.values():
        names: list[str] = []
        tags = [digest.entities[k].name for k in article.entities if k in digest.entities]
        tags += [digest.hubs(kind)[k].name for kind, keys in (("region", article.regions), ("topic", article.topics))
                 for k in keys if k in digest.hubs(kind)]
        for key in article.appearing:
            hub = digest.entities.get(key)
            if hub:
                names += [hub.name, *hub.aliases]
        for kind, keys in (("topic", article.topics), ("region", article.regions), ("source", (article.source,))):
            hubs = digest.hubs(kind)
            names += [hubs[k].name for k in keys if k in hubs]
        body = [article.summary, *article.key_points, article.assessment, *(q.text for q in article.quotes),
                *(plain(p) for p in article.paragraphs)]
        out.append({"src": article_path(article.id), "title": article.title,
                    "terms": " ".join(dict.fromkeys(names)), "text": " ".join(t for t in body if t),
                    "snippet": article.summary or plain(article.paragraphs[0])[:SNIPPET],
                    "tags": list(dict.fromkeys(tags))[:TAGS]})
    for kind in ("topic", "region", "entity", "source"):
        for hub in digest.hubs(kind).values():
            about = " ".join(t for t in (hub.description, hub.note, hub.country) if t)
            n = hub.appearances
            label = (hub.entity_kind or "entity") if kind == "entity" else kind
            out.append({"src": hub_path(hub), "title": hub.name, "terms": " ".join(hub.aliases), "text": about,
                        "snippet": about or f"{n} article{'s' if n != 1 else ''}", "tags": [label]})
    return sorted(out, key=lambda d: str(d["src"]))


PAGES_START = b"self.__digestPages = [\n"


def pages_script(docs: Iterable[Mapping[str, object]]) -> bytes:
    """``pages.js``: documents as one script assigning them to
    ``self.__digestPages``, one document a line, so that the site build can
    read them one at a time (searchindex._pages)."""
    return PAGES_START + b",\n".join(json.dumps(doc, ensure_ascii=False).encode("utf-8") for doc in docs) + b"\n];\n"


def search_script(digest: Digest) -> bytes:
    """:func:`pages_script` of :func:`search_pages`, each document dropped
    once encoded: the whole list as one ``str`` (two bytes a character as
    soon as one character is not Latin-1) and its concatenation held about
    800 MB at once at 10,000 long articles, the peak of the run."""
    docs = search_pages(digest)
    docs.reverse()

    def draining() -> Iterator[dict[str, str | list[str]]]:
        while docs:
            yield docs.pop()

    return pages_script(draining())

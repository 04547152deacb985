"""What the search index needs beyond the visible text: names to find a page
by (aliases, entities) and the short text shown under a result."""

from __future__ import annotations

from digest.model import Digest
from digest.render.common import article_path, hub_path

SEARCH_TERMS = "digest/assets/search/terms.json"


def search_terms(digest: Digest) -> dict[str, dict[str, str]]:
    """Per generated page (path under docs/): extra search terms and a snippet."""
    out: dict[str, dict[str, str]] = {}
    for article in digest.articles.values():
        names: list[str] = []
        for key in article.entities:
            hub = digest.entities.get(key)
            if hub:
                names += [hub.name, *hub.aliases]
        for kind, keys in (("topic", article.topics), ("region", article.regions), ("source", (article.source,))):
            hubs = digest.hubs(kind)
            names += [hubs[k].name for k in keys if k in hubs]
        out[article_path(article.id)] = {"terms": " ".join(dict.fromkeys(names)), "snippet": article.summary}
    for kind in ("topic", "region", "entity", "source"):
        for hub in digest.hubs(kind).values():
            out[hub_path(hub)] = {"terms": " ".join(hub.aliases),
                                  "snippet": hub.description or hub.note or f"{len(hub.articles)} articles"}
    return dict(sorted(out.items()))

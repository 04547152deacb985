"""The text the search index is built from, one document per generated page.

Generated pages are kept out of Material's own search index (its plugin would
parse every page's HTML again); the site build turns these documents into a
prebuilt index instead (see digest.searchindex).
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final

from digest.fsutil import Splice, splice
from digest.model import Article, Digest
from digest.render.common import HUB_FOLDERS, article_path, hub_path
from digest.render.reuse import Reuse, fingerprint, plain_corrections, plain_fingerprint
from digest.text import plain

SEARCH_PAGES = "digest/assets/search/pages.js"
SNIPPET = 240  # characters of text shown under a search result


TAGS = 8  # facet names shown under an article's search result
Document = dict[str, str | list[str]]


def _article_document(digest: Digest, article: Article, salt: str, known: Container[str],
                      spelled: dict[str, list[str]]) -> tuple[str, Document | None]:
    """An article's document and its key; None for the document when its
    key is ``known`` (the last run's line is used as it is). ``spelled``:
    each entity's name and aliases, made once a run."""
    names: list[str] = []
    entities = digest.entities
    tags = [entities[k].name for k in article.entities if k in entities]
    tags += [digest.hubs(kind)[k].name for kind, keys in (("region", article.regions), ("topic", article.topics))
             for k in keys if k in digest.hubs(kind)]
    for key in article.appearing:
        spellings = spelled.get(key)
        if spellings is None:
            hub = entities.get(key)
            spellings = spelled[key] = [hub.name, *hub.aliases] if hub else []
        names += spellings
    for kind, keys in (("topic", article.topics), ("region", article.regions), ("source", (article.source,))):
        hubs = digest.hubs(kind)
        names += [hubs[k].name for k in keys if k in hubs]
    terms = " ".join(dict.fromkeys(names))
    shown_tags = list(dict.fromkeys(tags))[:TAGS]
    # Everything the document is made from; the text stood for by its hash
    # and the corrections applied to it, as on the article's page
    # (digest.render.reuse), or by itself when its hash is not known.
    if article.text_key:
        key = plain_fingerprint((salt, article.id, article.title, article.summary, article.key_points,
                                 article.assessment, tuple(q.text for q in article.quotes), article.text_key,
                                 plain_corrections(article.corrections),
                                 terms, tuple(shown_tags)))
    else:
        key = fingerprint((salt, article.id, article.title, article.summary, article.key_points, article.assessment,
                           tuple(q.text for q in article.quotes), article.paragraphs, terms, shown_tags))
    if key in known:
        return key, None
    body = [article.summary, *article.key_points, article.assessment, *(q.text for q in article.quotes),
            *(plain(p) for p in article.paragraphs)]
    return key, {"k": key, "src": article_path(article.id), "title": article.title, "terms": terms,
                 "text": " ".join(t for t in body if t),
                 "snippet": article.summary or plain(article.paragraphs[0])[:SNIPPET], "tags": shown_tags}


def _documents(digest: Digest, salt: str, known: Container[str], reuse: Reuse | None = None,
               ) -> list[tuple[str, str, Document | None]]:
    """Per page, sorted by it: its source path under docs/, the key of its
    document, and the document (None when its key is ``known``). With
    ``reuse``, an article's key is recorded in its ``lines``; when its
    ``changes`` are known, an article not changed, and naming no entity
    whose aliases changed, keeps the key of the last run's document, not
    made again."""
    out: list[tuple[str, str, Document | None]] = []
    spelled: dict[str, list[str]] = {}
    changes = reuse.changes if reuse is not None else None
    before = reuse.lines_before if reuse is not None else {}
    for article in digest.articles.values():
        src = article_path(article.id)
        kept = before.get(src) if changes is not None and article.id not in changes.articles and \
            changes.spelled.isdisjoint(article.appearing) else None
        if kept is not None and kept in known:
            key, doc = kept, None
        else:
            key, doc = _article_document(digest, article, salt, known, spelled)
        if reuse is not None:
            reuse.lines[src] = key
        out.append((src, key, doc))
    for kind in HUB_FOLDERS:
        for hub in digest.hubs(kind).values():
            about = " ".join(t for t in (hub.description, hub.note, hub.country) if t)
            n = hub.appearances
            label = (hub.entity_kind or "entity") if kind == "entity" else kind
            src = hub_path(hub)
            hub_doc: Document = {"src": src, "title": hub.name, "terms": " ".join(hub.aliases),
                                 "text": about, "snippet": about or f"{n} article{'s' if n != 1 else ''}",
                                 "tags": [label]}
            key = fingerprint((salt, hub_doc))  # small: made in full, and keyed like the others
            out.append((src, key, None if key in known else {"k": key, **hub_doc}))
    out.sort(key=lambda d: d[0])
    return out


def search_pages(digest: Digest, salt: str = "") -> list[Document]:
    """Per page: its key (``k``: a hash of what it is made from and
    ``salt``), source path under docs/, title, extra terms, text, snippet,
    and tags (the facet names Material shows under a result)."""
    return [doc for _, _, doc in _documents(digest, salt, ()) if doc is not None]


PAGES_START = b"self.__digestPages = [\n"


def pages_script(docs: Iterable[Mapping[str, object]]) -> bytes:
    """``pages.js``: documents as one script assigning them to
    ``self.__digestPages``, one document a line, so that the site build can
    read them one at a time (searchindex._pages)."""
    return _script(json.dumps(doc, ensure_ascii=False).encode("utf-8") for doc in docs)


def _script(lines: Iterable[bytes]) -> bytes:
    """pages.js's form: one assignment, a document's JSON a line."""
    return PAGES_START + b",\n".join(lines) + b"\n];\n"


def previous_lines(script: bytes) -> dict[str, bytes]:
    """The lines of a pages.js this module wrote, by their documents' keys."""
    found = {}
    for line in script.split(b"\n"):
        if line.startswith(KEYED_LINE):
            found[line[len(KEYED_LINE):len(KEYED_LINE) + 32].decode("ascii")] = line.rstrip(b",")
    return found


KEYED_LINE: Final = b'{"k": "'  # how a line that carries its document's key begins


def search_script(digest: Digest, salt: str = "", previous: Mapping[str, bytes] | None = None,
                  reuse: Reuse | None = None) -> bytes:
    """:func:`pages_script` of :func:`search_pages`, each document dropped
    once encoded: the whole list as one ``str`` (two bytes a character as
    soon as one character is not Latin-1) and its concatenation held about
    800 MB at once at 10,000 long articles, the peak of the run.

    ``previous``: the last run's lines (:func:`previous_lines`); a document
    whose key is among them is not made again but taken from its line
    (making and encoding every document took 1.4 s at 10,000 articles).
    ``reuse``: see :func:`_documents`."""
    known = previous or {}
    docs = _documents(digest, salt, known, reuse)
    docs.reverse()

    def draining() -> Iterator[bytes]:
        while docs:
            _, key, doc = docs.pop()
            yield known[key] if doc is None else json.dumps(doc, ensure_ascii=False).encode("utf-8")

    return _script(draining())


def patched_script(script: bytes, digest: Digest, reuse: Reuse,
                   source: tuple[Path, tuple[int, int, int]] | None = None) -> bytes | None:
    """When only some articles changed (``reuse.changes``, no hub): the
    last run's pages.js (``script``, as it wrote it) with those articles'
    lines made again, and every other line as it is, which
    :func:`search_script` would give too (the other documents' keys are
    the last run's, and no hub document reads an article's own fields);
    the keys recorded in ``reuse.lines``. Splitting and joining 80 MB of
    lines took 0.27 s at 10,000 articles. None when a hub changed, an
    article was added or removed, or a line is not where the keys say.
    ``source``: the file ``script`` was read from and its identity
    (fsutil.identity): the parts kept are then recorded in ``reuse.splices``
    for the writer to copy from it."""
    changes = reuse.changes
    assert changes is not None
    if changes.hubs or changes.spelled:
        return None
    edits: list[tuple[int, int, bytes]] = []
    lines = dict(reuse.lines_before)
    for ident in sorted(changes.articles):
        src = article_path(ident)
        old, article = lines.get(src), digest.articles.get(ident)
        if old is None or article is None:
            return None
        start = script.find(b"\n" + KEYED_LINE + old.encode("ascii") + b'"') + 1
        end = script.find(b"\n", start)
        if start <= 0 or end < 0:
            return None
        key, doc = _article_document(digest, article, reuse.salt, (), {})
        assert doc is not None  # nothing is known
        lines[src] = key
        edits.append((start, end - 1 if script[end - 1:end] == b"," else end,
                      json.dumps(doc, ensure_ascii=False).encode("utf-8")))
    patched, runs = splice(script, sorted(edits))
    reuse.lines.update(lines)
    if source is not None:
        reuse.splices[SEARCH_PAGES] = Splice(source[0], source[1], runs)
    return patched

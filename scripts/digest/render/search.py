"""The text the search index is built from, one document per generated page.

Generated pages are kept out of Material's own search index (its plugin would
parse every page's HTML again); the site build turns these documents into a
prebuilt index instead (see digest.searchindex).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Container, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final

from digest.fsutil import Splice, splice
from digest.model import Article, Digest, Hub
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
            src = hub_path(hub)
            key, doc = _hub_document(hub, salt, known)
            if reuse is not None:
                reuse.lines[src] = key
            out.append((src, key, doc))
    out.sort(key=lambda d: d[0])
    return out


def _hub_document(hub: Hub, salt: str, known: Container[str]) -> tuple[str, Document | None]:
    """A hub's document and its key (the document None when the key is ``known``)."""
    about = " ".join(t for t in (hub.description, hub.note, hub.country) if t)
    n = hub.appearances
    label = (hub.entity_kind or "entity") if hub.kind == "entity" else hub.kind
    doc: Document = {"src": hub_path(hub), "title": hub.name, "terms": " ".join(hub.aliases),
                     "text": about, "snippet": about or f"{n} article{'s' if n != 1 else ''}", "tags": [label]}
    key = fingerprint((salt, doc))  # small: made in full, and keyed like the others
    return key, None if key in known else {"k": key, **doc}


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
    """pages.js's form: one assignment, a document's JSON a line, each
    line ending in a comma (the last too, which JavaScript allows), so
    that a line is added or removed alone (:func:`patched_script`)."""
    return PAGES_START + b"".join(part for line in lines for part in (line, LINE_END)) + PAGES_END


LINE_END: Final = b",\n"
PAGES_END: Final = b"];\n"


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
    """When what changed is known (``reuse.changes``): the last run's
    pages.js (``script``, as it wrote it) with the lines of the changed,
    added and removed articles and hubs made again, added or removed, and
    every other line as it is, which :func:`search_script` would give too
    (the other documents' keys are the last run's: a change that renames a
    hub makes every key). Splitting and joining 80 MB of lines took 0.27 s
    at 10,000 articles, and after an article was added the documents were
    made from the last lines in 0.31 s and the whole file written in 0.2 s.
    The keys are recorded in ``reuse.lines``. None when an entity's
    aliases changed (every document naming it changes), or the last lines'
    keys are not every line's, or a line is not where its key says.
    ``source``: the file ``script`` was read from and its identity
    (fsutil.identity): the parts kept are then recorded in ``reuse.splices``
    for the writer to copy from it."""
    changes = reuse.changes
    assert changes is not None
    before = reuse.lines_before
    # The last lines' keys are those of every line of the file (each run
    # records them all, and a run of another version has another salt,
    # and so no changes): the first line and the last are checked
    # (counting 80 MB of lines took 0.05 s).
    if changes.spelled or not before or not script.startswith(PAGES_START + KEYED_LINE + before[min(before)].encode()) \
            or script.rfind(b"\n" + KEYED_LINE) != script.rfind(b"\n" + KEYED_LINE + before[max(before)].encode()):
        return None
    now: dict[str, Article | Hub] = {article_path(a.id): a for a in digest.articles.values()}
    for kind in HUB_FOLDERS:
        now.update((hub_path(hub), hub) for hub in digest.hubs(kind).values())
    touched = {src for src in before if src not in now} | {src for src in now if src not in before}
    touched |= {article_path(ident) for ident in changes.articles}
    for kind, key in changes.hubs:
        hub = digest.hubs(kind).get(key)
        if hub is not None:
            touched.add(hub_path(hub))
    old_order = sorted(before)
    lines = dict(before)
    edits: list[tuple[int, int, bytes]] = []
    at = 0  # where the next line looked for may begin: the lines are in the order of their paths

    def find(src: str) -> tuple[int, int] | None:
        """Where the last run's line for ``src`` begins and ends (at its comma)."""
        nonlocal at
        start = script.find(b"\n" + KEYED_LINE + before[src].encode("ascii") + b'"', max(at - 1, 0)) + 1
        end = script.find(LINE_END, start)
        if start <= 0 or end < 0:
            return None
        at = end + len(LINE_END)
        return start, end

    for src in sorted(touched):
        page = now.get(src)
        if page is None:
            key, doc = "", None
        elif isinstance(page, Hub):
            key, doc = _hub_document(page, reuse.salt, ())
        else:
            key, doc = _article_document(digest, page, reuse.salt, (), {})
        if src in before:
            found = find(src)
            if found is None:
                return None
            start, end = found
            if page is None:
                del lines[src]
                edits.append((start, end + len(LINE_END), b""))
            elif key != before[src]:
                lines[src] = key
                edits.append((start, end, json.dumps(doc, ensure_ascii=False).encode("utf-8")))
            continue
        # A new line: before the line of the next path the last run had, or last.
        assert doc is not None  # nothing is known
        lines[src] = key
        following = bisect.bisect(old_order, src)
        if following < len(old_order):
            found = find(old_order[following])
            if found is None:
                return None
            where = found[0]
            at = where  # that line may itself change next
        else:
            where = len(script) - len(PAGES_END)
        line = json.dumps(doc, ensure_ascii=False).encode("utf-8") + LINE_END
        if edits and edits[-1][:2] == (where, where):  # another new line at the same place
            edits[-1] = (where, where, edits[-1][2] + line)
        else:
            edits.append((where, where, line))
    patched, runs = splice(script, edits)
    reuse.lines.update(lines)
    for src in before.keys() - lines.keys():
        reuse.lines.pop(src, None)
    if source is not None:
        reuse.splices[SEARCH_PAGES] = Splice(source[0], source[1], runs)
    return patched

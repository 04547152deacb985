"""The article page: metadata, bottom line, evidence, and the full text."""

from __future__ import annotations

import html
from collections.abc import Callable

from digest.model import KIND_LABELS, Article, Digest
from digest.render.common import (
    a,
    admonition,
    article_path,
    chips,
    confidence_link,
    edition_path,
    esc,
    external,
    grade_link,
    head,
    hub_path,
    link,
    para,
    ul,
)
from digest.text import Fix, Paragraph, html_attr, md_inline, md_text, neutralise_markdown


def _fix(fix: Fix, inner: str) -> str:
    """A corrected passage marked in place; the tooltip keeps the source's own wording."""
    return f'<ins class="bd-fix" title="Corrected; the source text reads: {html_attr(fix.original)}">{inner}</ins>'


def _marked(segments: Paragraph, escape_fix: Callable[[str], str], escape_text: Callable[[str], str]) -> str:
    """A paragraph with every correction marked in place."""
    return "".join(_fix(s, escape_fix(s.corrected)) if isinstance(s, Fix) else escape_text(s) for s in segments).strip()


def _anchor(number: int, with_id: bool) -> str:
    ident = f' id="p-{number}"' if with_id else ""
    return f'<a{ident} class="bd-pn" href="#p-{number}" title="Link to paragraph {number}">{number}</a>'


def paragraph_html(number: int, segments: Paragraph, links: tuple[tuple[int, int, str, str], ...] = ()) -> str:
    """One numbered, linkable paragraph of a plain-text article, as HTML.

    Plain text is escaped with ``html.escape`` and written as one raw HTML
    block: exact by construction, and far cheaper for Python-Markdown than
    escaping every character for its inline parser. ``links`` are
    ``(start, end, href, title)`` spans of the paragraph's shown text, sorted
    and disjoint; each becomes a link around exactly those characters, and a
    span that crosses the edge of a correction is left unlinked.
    """
    parts: list[str] = []
    pos = 0
    pending = iter(links)
    span = next(pending, None)
    for s in segments:
        text = s.corrected if isinstance(s, Fix) else s
        end = pos + len(text)
        inner: list[str] = []
        cur = pos
        while span is not None and span[0] < end:
            start, stop, href, title = span
            if start >= cur and stop <= end:
                inner.append(html.escape(text[cur - pos:start - pos], quote=False))
                inner.append(f'<a class="bd-mention" href="{href}" title="{html_attr(title)}">'
                             f"{html.escape(text[start - pos:stop - pos], quote=False)}</a>")
                cur = stop
            span = next(pending, None)
        inner.append(html.escape(text[cur - pos:], quote=False))
        body = "".join(inner)
        parts.append(_fix(s, body) if isinstance(s, Fix) else body)
        pos = end
    return f'<p id="p-{number}">{_anchor(number, with_id=False)} {"".join(parts)}</p>'


def _mention_linker(digest: Digest, article: Article, page: str) -> dict[int, tuple[tuple[int, int, str, str], ...]]:
    """Per paragraph, the first mention of each entity as a link span."""
    out: dict[int, list[tuple[int, int, str, str]]] = {}
    for number, start, stop, key in article.links:
        hub = digest.entities.get(key)
        if hub is not None:
            out.setdefault(number, []).append((start, stop, link(page, hub_path(hub)), hub.name))
    return {k: tuple(v) for k, v in out.items()}


def paragraph_md(number: int, segments: Paragraph) -> str:
    """One block of a Markdown article: its syntax kept, raw HTML neutralised,
    corrections marked, and an anchor line before it."""
    return f"{_anchor(number, with_id=True)}\n\n{_marked(segments, md_text, neutralise_markdown)}"


def render_article(digest: Digest, article: Article) -> str:
    page = article_path(article.id)
    out = head(article.title)
    if article.reviewed:
        assert article.date is not None
        meta = [f"<strong>Digest</strong> {a(page, edition_path(article.date), article.date.isoformat())}"]
        if article.source in digest.sources:
            hub = digest.sources[article.source]
            src = a(page, hub_path(hub), hub.name)
            if article.source_url:
                src += f" ({external(article.source_url, 'original article')})"
            meta.append(f"<strong>Source</strong> {src}")
        if article.author:
            meta.append(f"<strong>Author</strong> {esc(article.author)}")
        meta.append(f"<strong>Published</strong> {article.published.isoformat() if article.published else 'date unknown'}")
        meta.append(f"<strong>Grade</strong> {grade_link(page, article.grade)}")
        if article.confidence:
            meta.append(f"<strong>Confidence</strong> {confidence_link(page, article.confidence)}")
        meta.append(f"<strong>Importance</strong> {article.importance}")
        meta.append(f"<strong>Language</strong> {esc(article.language)}")
        if article.draft:
            meta.append("<strong>Draft</strong>")
        out += para(" · ".join(meta), cls="bd-meta")
        out += admonition("abstract", "Bottom line up front", [esc(article.summary)])
        if article.key_points:
            out += ["## Key points", "", *ul([f"<li>{esc(x)}</li>" for x in article.key_points])]
        if article.assessment:
            # The assessment may use inline Markdown (emphasis, http links).
            out += ["## Assessment", "", md_inline(article.assessment), ""]
            if article.confidence:
                out += para(f"Analytic confidence: <strong>{confidence_link(page, article.confidence)}</strong>")
        if article.quotes:
            out += ["## Quotes", ""]
            for q in article.quotes:
                by = f"{esc(q.by)}, " if q.by else ""
                out += [f'<blockquote><p>“{esc(q.text)}”<br>— {by}<a href="#p-{q.paragraph}">paragraph {q.paragraph}</a>'
                        "</p></blockquote>", ""]
        tags = [("Topics", chips(page, digest, "topic", article.topics)),
                ("Regions", chips(page, digest, "region", article.regions))]
        by_kind: dict[str, list[str]] = {}
        for key in article.entities:
            if key in digest.entities:
                by_kind.setdefault(digest.entities[key].entity_kind or "other", []).append(key)
        for kind, label in KIND_LABELS.items():
            if kind in by_kind:
                tags.append((label, chips(page, digest, "entity", tuple(by_kind[kind]))))
        tags = [(label, text) for label, text in tags if text]
        if tags:
            out += ["## Topics, regions and entities", ""]
            for label, text in tags:
                out += para(f"<strong>{label}</strong> {text}")
        mentioned = [k for k in article.mentions if k not in article.entities and k in digest.entities]
        if mentioned:
            out += para(f"<strong>Also mentioned</strong> {chips(page, digest, 'entity', tuple(mentioned))}")
    else:
        out += admonition("warning", "Unreviewed", [
            "No analyst has annotated this article yet; its title is its first sentence.",
            f"Add <code>{esc(article.seed.rsplit('.', 1)[0])}.yml</code> to review it."])
    out += ["## Full text", ""]
    if article.format == "txt":
        links = _mention_linker(digest, article, page)
        out += ['<div class="bd-text">',
                *(paragraph_html(i, p, links.get(i, ())) for i, p in enumerate(article.paragraphs, 1)), "</div>", ""]
    else:
        for i, segments in enumerate(article.paragraphs, start=1):
            out += [paragraph_md(i, segments), ""]
    if article.corrections:
        rows = []
        for c in article.corrections:
            where = ", ".join(f'<a href="#p-{n}">{n}</a>' for n in c.paragraphs) or "not found"
            rows.append(f"<tr><td>{esc(c.original)}</td><td>{esc(c.corrected)}</td><td>{where}</td></tr>")
        out += ["## Corrections", "", *para("Damaged text in the source, and what the page shows instead:"),
                "<table><thead><tr><th>Source text</th><th>Shown as</th><th>Paragraphs</th></tr></thead><tbody>",
                *rows, "</tbody></table>", ""]
    if article.ranked:
        out += ["## Related articles", ""]
        items = []
        for rel in article.ranked:
            o = digest.articles[rel.id]
            date = f" ({o.date.isoformat()})" if o.date else ""
            items.append(f"<li>{a(page, article_path(o.id), o.title)}{date}<br><em>{esc(rel.reason)}</em></li>")
        out += ul(items)
    out += para(f"Article id: <code>{esc(article.id)}</code>")
    return "\n".join(out)

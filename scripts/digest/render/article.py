"""The article page: metadata, bottom line, evidence, and the full text."""

from __future__ import annotations

import html
from collections.abc import Callable

from digest.model import KIND_LABELS, Article, Digest
from digest.render.common import (
    a,
    article_path,
    chips,
    confidence_link,
    edition_path,
    external,
    grade_link,
    head,
    hub_path,
)
from digest.text import Fix, Paragraph, html_attr, md_inline, md_text, neutralise_markdown


def _marked(segments: Paragraph, escape_fix: Callable[[str], str], escape_text: Callable[[str], str]) -> str:
    """A paragraph with every correction marked in place; the tooltip keeps
    the source's own wording."""
    return "".join(
        f'<ins class="bd-fix" title="Corrected; the source text reads: {html_attr(s.original)}">{escape_fix(s.corrected)}</ins>'
        if isinstance(s, Fix) else escape_text(s) for s in segments).strip()


def _anchor(number: int, with_id: bool) -> str:
    ident = f' id="p-{number}"' if with_id else ""
    return f'<a{ident} class="bd-pn" href="#p-{number}" title="Link to paragraph {number}">{number}</a>'


def _html_text(text: str) -> str:
    return html.escape(" ".join(text.split()) if "\n" in text or "  " in text else text, quote=False)


def paragraph_html(number: int, segments: Paragraph) -> str:
    """One numbered, linkable paragraph of a plain-text article, as HTML.

    Plain text is escaped with ``html.escape`` and written as one raw HTML
    block: exact by construction, and far cheaper for Python-Markdown than
    escaping every character for its inline parser. Its only links are
    in-page anchors, which read the same in both editions.
    """
    return f'<p id="p-{number}">{_anchor(number, with_id=False)} {_marked(segments, _html_text, _html_text)}</p>'


def paragraph_md(number: int, segments: Paragraph) -> str:
    """One block of a Markdown article: its syntax kept, raw HTML neutralised,
    corrections marked, and an anchor line before it."""
    return f"{_anchor(number, with_id=True)}\n\n{_marked(segments, md_text, neutralise_markdown)}"


def render_article(digest: Digest, article: Article) -> str:
    page = article_path(article.id)
    out = head(article.title)
    if article.reviewed:
        assert article.date is not None
        meta = [f"**Digest** {a(page, edition_path(article.date), article.date.isoformat())}"]
        if article.source in digest.sources:
            hub = digest.sources[article.source]
            src = a(page, hub_path(hub), hub.name)
            if article.source_url:
                src += f" ({external(article.source_url, 'original article')})"
            meta.append(f"**Source** {src}")
        if article.author:
            meta.append(f"**Author** {md_text(article.author)}")
        meta.append(f"**Published** {article.published.isoformat() if article.published else 'date unknown'}")
        meta.append(f"**Grade** {grade_link(page, article.grade)}")
        if article.confidence:
            meta.append(f"**Confidence** {confidence_link(page, article.confidence)}")
        meta.append(f"**Importance** {article.importance}")
        meta.append(f"**Language** {md_text(article.language)}")
        if article.draft:
            meta.append("**Draft**")
        out += [" · ".join(meta), "", '!!! abstract "Bottom line up front"', "", f"    {md_text(article.summary)}", ""]
        if article.key_points:
            out += ["## Key points", ""] + [f"- {md_text(p)}" for p in article.key_points] + [""]
        if article.assessment:
            out += ["## Assessment", "", md_inline(article.assessment), ""]
            if article.confidence:
                out += [f"Analytic confidence: **{confidence_link(page, article.confidence)}**", ""]
        if article.quotes:
            out += ["## Quotes", ""]
            for q in article.quotes:
                by = f"{md_text(q.by)}, " if q.by else ""
                out += [f"> “{md_text(q.text)}”  ", f"> — {by}[paragraph {q.paragraph}](#p-{q.paragraph})", ""]
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
                out += [f"**{label}** {text}", ""]
    else:
        out += ['!!! warning "Unreviewed"', "",
                "    No analyst has annotated this article yet; its title is its first sentence.",
                f"    Add `{article.seed.rsplit('.', 1)[0]}.yml` to review it.", ""]
    out += ["## Full text", ""]
    if article.format == "txt":
        out += ['<div class="bd-text">', *(paragraph_html(i, p) for i, p in enumerate(article.paragraphs, 1)),
                "</div>", ""]
    else:
        for i, segments in enumerate(article.paragraphs, start=1):
            out += [paragraph_md(i, segments), ""]
    if article.corrections:
        out += ["## Corrections", "", "Damaged text in the source, and what the page shows instead:", "",
                "| Source text | Shown as | Paragraphs |", "| --- | --- | --- |"]
        for c in article.corrections:
            where = ", ".join(f"[{n}](#p-{n})" for n in c.paragraphs) or "not found"
            out.append(f"| {md_text(c.original)} | {md_text(c.corrected)} | {where} |")
        out.append("")
    if article.related:
        out += ["## Related articles", ""]
        for other in article.related:
            o = digest.articles[other]
            date = f" ({o.date.isoformat()})" if o.date else ""
            out.append(f"- {a(page, article_path(o.id), o.title)}{date}")
        out.append("")
    out += [f"Article id: `{article.id}`", ""]
    return "\n".join(out)

"""MkDocs hook: build the digest's generated pages with less time and memory.

1. Raw HTML blocks go to Python-Markdown whole. The generator writes page
   bodies as raw HTML blocks between Markdown headings
   (scripts/digest/render/common.py). Python-Markdown finds raw HTML by
   running Python's ``html.parser`` over the page, and MkDocs runs it over the
   page a second time to collect anchors; at about 30 microseconds a tag that
   was half of MkDocs' time on the digest's pages. A preprocessor that runs
   just before both stashes every block that is plainly raw HTML: a chunk
   between blank lines that starts at the left margin with a block-level tag
   and ends with that tag's closing tag, balanced, with no comment, script or
   Markdown-in-HTML inside. It stashes it exactly as Python-Markdown's own
   ``html_block`` step would. Anything else is left to Python-Markdown. MkDocs
   then no longer sees the ids inside those blocks for its anchor check, which
   is at the level ``info`` by default; the digest's own tests follow every
   link and anchor instead.

2. A page's Markdown source is let go once it has been converted. MkDocs
   converts every page before it writes any, and keeps each page's source
   until the end; nothing reads it after the conversion (the page's title
   comes from its front matter or its first heading, found while
   converting). This is a third of MkDocs' memory on the digest's pages.

3. The navigation is rendered once per folder for the pages it does not
   list. Material renders the whole navigation into every page; for a page
   outside it nothing in it is marked active, and its links are relative to
   the page's folder, so every such page in a folder gets the same HTML. That
   is every article, edition and hub page: at 5,000 articles the navigation
   was 18% of MkDocs' time (profiled). Pages the navigation lists are
   rendered as before. The search box and the palette toggle, which depend
   on the configuration alone, are rendered once per folder too (4%).

4. Material's search plugin leaves the generated pages out. The digest
   searches them through its own index, built with the site
   (scripts/digest/searchindex.py), which takes their text from the
   generator; parsing every page again for Material's index would be wasted.
   This is said here rather than in the pages' front matter so that Zensical,
   which runs no hooks and has its own search, indexes them.

5. MkDocs' compiled templates are kept on disk between builds, when
   `digest` runs MkDocs (it names the folder in DIGEST_TEMPLATE_CACHE):
   Jinja compiled the theme's 42 templates afresh in every MkDocs process,
   0.3 s each time, which after a one-page edit was a third of MkDocs' run.
   Jinja keys each entry by the template's name and source and writes it
   atomically; an entry that cannot be read is compiled again.

The built pages are byte for byte the same with or without this hook:
tests/test_hooks.py builds three corpora both ways and compares them.
Zensical does not run MkDocs hooks; it builds the same Markdown its own way.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from jinja2 import BytecodeCache, FileSystemBytecodeCache
from jinja2.bccache import Bucket
from markdown import Extension, Markdown
from markdown.preprocessors import Preprocessor

_START = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)[\s>]")
# Things Python-Markdown or the browser treat specially inside raw HTML
# (see _special).
_SPECIAL_TAGS = ("<script", "<style", "<pre", "<textarea")
_MARKDOWN_ATTR = re.compile(r"\smarkdown\s*=")


class RawHtmlBlocks(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        run: list[str] = []  # whole blocks in a row, with only blank lines between

        def flush() -> None:
            # html_block keeps the newline before the blank line that ends a
            # block, and the serializer puts one more between two blocks: a
            # run stashed as one is the same text, with one placeholder
            # paragraph for Python-Markdown to carry instead of many.
            if run:
                # Two blank lines after it, as html_block leaves: with one, a
                # run at the very end would be read as "placeholder\n".
                out.extend((self.md.htmlStash.store("\n\n".join(run) + "\n"), "", ""))
                run.clear()

        # Python-Markdown's normalize_whitespace step has made every blank
        # line empty, so "blank" is simply "".
        i, n = 0, len(lines)
        while i < n:
            line = lines[i]
            if not line:
                if not run:
                    out.append(line)
                i += 1
                continue
            start = _START.match(line) if line[0] == "<" and (i == 0 or not lines[i - 1]) else None
            if start and self.md.is_block_level(start.group(1).lower()):
                end = i
                while end < n and lines[end]:
                    end += 1
                block = "\n".join(lines[i:end])
                if _whole(block, start.group(1)):
                    run.append(block)
                    i = end
                    continue
            flush()
            out.append(line)
            i += 1
        flush()
        return out


@functools.cache
def _tag_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<(/?){re.escape(tag)}(?=[\s>/])")


def _special(block: str) -> bool:
    """A comment, processing instruction, script, style, pre, textarea or
    markdown= attribute, in any case. Substring tests on the lowered block:
    three times quicker than one case-insensitive regex of alternatives."""
    if "<!" in block or "<?" in block:
        return True
    low = block.lower()
    return any(t in low for t in _SPECIAL_TAGS) or ("markdown" in low and _MARKDOWN_ATTR.search(low) is not None)


def _whole(block: str, tag: str) -> bool:
    """The block is one element: its first tag closes exactly at its end."""
    if not block.endswith(f"</{tag}>") or _special(block):
        return False
    depth = 0
    for m in _tag_pattern(tag).finditer(block):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return m.start() == len(block) - len(tag) - len("</>")
    return False


class _Extension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # After normalize_whitespace (30), before MkDocs' anchor collector
        # (21) and Python-Markdown's html_block (20).
        md.preprocessors.register(RawHtmlBlocks(md), "digest_raw_html", 25)


def on_config(config: Any) -> Any:
    config.markdown_extensions.append(_Extension())
    return config


# Partials that depend on the configuration alone: rendered once per folder
# (their links, if any, are relative to it) like the navigation.
_SAME_EVERYWHERE = ("partials/search.html", "partials/palette.html")


class _TemplateCache(FileSystemBytecodeCache):
    """Jinja's cache of compiled templates in a folder; an entry that
    cannot be read (a damaged file) is a miss, not an error."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:
            bucket.reset()


def _template_cache() -> BytecodeCache | None:
    folder = os.environ.get("DIGEST_TEMPLATE_CACHE")  # digest.site.TEMPLATE_CACHE_VARIABLE
    if not folder:
        return None
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(folder)


def on_env(env: Any, config: Any, files: Any) -> Any:
    # Before any template is loaded (the first below).
    env.bytecode_cache = env.bytecode_cache or _template_cache()

    # Jinja keeps one compiled template per name for the whole build, and
    # every {% include %} of it runs its root_render_func.
    def once_per_folder(name: str, only_outside_nav: bool) -> None:
        template = env.get_template(name)
        render = template.root_render_func
        by_folder: dict[str, str] = {}

        def render_once(context: Any) -> Iterator[str]:
            page, nav = context.get("page"), context.get("nav")
            if page is None or page.url is None or (only_outside_nav and (nav is None or page in nav.pages)):
                yield from render(context)
                return
            folder = posixpath.dirname(page.url)
            if folder not in by_folder:
                by_folder[folder] = "".join(render(context))
            yield by_folder[folder]

        template.root_render_func = render_once

    once_per_folder("partials/nav.html", only_outside_nav=True)
    for name in _SAME_EVERYWHERE:
        once_per_folder(name, only_outside_nav=False)
    return env


GENERATED = "digest/"  # the generator's folder under docs/


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri.startswith(GENERATED):
        page.meta["search"] = {**(page.meta.get("search") or {}), "exclude": True}
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    # An empty string, not None: MkDocs reads None as "not read yet" and
    # would then give the page no title.
    page.markdown = ""
    return html

"""MkDocs hook: let several MkDocs processes build one site together.

MkDocs renders one page after another on one core. `digest build` runs one
MkDocs process per core on the same configuration, each with
``DIGEST_MKDOCS_PART=k/n`` in its environment, each into a folder of its own,
and then moves the pages of parts 1 to n-1 into part 0's folder
(scripts/digest/site.py). Without that variable (``mkdocs build``,
``mkdocs serve``) this hook does nothing.

Only the pages the navigation does not list are shared out, by a hash of
their path: the ``not_in_nav`` pages that no ``nav`` entry names, which in
the digest are the generated articles, editions and hubs. Part 0 builds everything else as usual: the pages the
navigation lists, the hand-written pages, the theme's files, the sitemap and
the search plugin's index. So every page is written by exactly one part, and
the result is byte for byte what one MkDocs process builds
(tests/test_hooks.py compares them).

- In part 0, a page that belongs to another part is read (its title and
  metadata are part of the site) but neither converted nor rendered: it is
  not converted when its front matter gives its title and excludes it from
  search (the generator's pages do both), and it gets an empty template,
  which MkDocs does not write.
- In parts 1 to n-1, every file but their own pages is excluded, except the
  pages the navigation lists, whose titles the navigation shows; those are
  read and converted but not rendered. At the end these parts delete every
  file that is not one of their pages (the theme's 404 page and sitemap, the
  search plugin's index), so part 0's are the ones the site gets.
- With ``DIGEST_GUARD_REPORTS`` set too, each part runs the third-party
  guard (scripts/digest/guard.py) over every page it writes, from memory as
  MkDocs writes it, and leaves a report in that folder; `digest build` then
  reads from disk only what no part guarded (the theme's files, the search
  index, the 404 page).
"""

from __future__ import annotations

import functools
import os
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from mkdocs.plugins import event_priority
from mkdocs.structure.files import InclusionLevel

VARIABLE = "DIGEST_MKDOCS_PART"
# Where each part leaves the third-party guard's report on the pages it
# wrote (scripts/digest/guard.py, REPORT_VARIABLE).
GUARD_VARIABLE = "DIGEST_GUARD_REPORTS"
# A template in overrides/ that renders nothing, so MkDocs writes nothing. A
# file, not a loader of our own: Jinja caches templates per loader, and a new
# loader would drop the compiled templates generated_pages.py has wrapped.
_SKIP = "digest-build-parts-skip.html"


def _part() -> tuple[int, int] | None:
    value = os.environ.get(VARIABLE)
    if not value:
        return None
    k, _, n = value.partition("/")
    part, parts = int(k), int(n)
    if not 0 <= part < parts:
        raise ValueError(f"{VARIABLE}={value!r}: expected k/n with 0 <= k < n")
    return part, parts


def _nav_paths(items: Any) -> Iterator[str]:
    """Every path the ``nav`` configuration names, spelled as MkDocs looks it
    up (``./a//b.md`` is ``a/b.md``). Anything else it names (a link to
    another site) only keeps a page in part 0, which is always safe."""
    if isinstance(items, str):
        yield PurePosixPath(items.lstrip("/")).as_posix()
    elif isinstance(items, dict):
        for value in items.values():
            yield from _nav_paths(value)
    elif isinstance(items, list):
        for item in items:
            yield from _nav_paths(item)


_shared_owner: dict[str, int] = {}  # src_uri -> the part that renders it
_mine: set[str] = set()  # in parts 1 to n-1: the site files of this part's pages
_scanned: list[str] = []  # pages this part wrote and guarded
_findings: list[Any] = []  # what the guard found in them


def _owner(src_uri: str, parts: int) -> int:
    return zlib.crc32(src_uri.encode("utf-8")) % parts


def on_files(files: Any, config: Any) -> Any:
    _shared_owner.clear()
    _mine.clear()
    _scanned.clear()
    _findings.clear()
    where = _part()
    if where is None:
        return files
    part, parts = where
    listed = set(_nav_paths(config.nav or []))
    for file in files:
        shared = (file.is_documentation_page() and file.inclusion == InclusionLevel.NOT_IN_NAV
                  and file.src_uri not in listed)
        if shared:
            _shared_owner[file.src_uri] = _owner(file.src_uri, parts)
        if part == 0:
            continue
        mine = shared and _shared_owner[file.src_uri] == part
        if mine:
            _mine.add(file.dest_uri)
        if not mine and not (file.is_documentation_page() and file.src_uri in listed):
            file.inclusion = InclusionLevel.EXCLUDED
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    where = _part()
    if where is None:
        return markdown
    if _shared_owner.get(page.file.src_uri, 0) == where[0]:
        return markdown  # this part renders it
    page.meta["template"] = _SKIP
    search = page.meta.get("search")
    if "title" in page.meta and isinstance(search, dict) and search.get("exclude"):
        # Nothing here shows or indexes the page's content: skip
        # Python-Markdown altogether (setting it up is about 1 ms a page).
        page.render = functools.partial(_render_nothing, page)
        return ""
    return markdown


def _render_nothing(page: Any, config: Any, files: Any) -> None:
    page.content = ""


@event_priority(-1000)  # after compact_html.py: the page exactly as MkDocs writes it
def on_post_page(output: str, page: Any, config: Any) -> str:
    # The third-party guard reads each page here, from memory, in the part
    # that writes it, rather than from disk after every part has finished.
    # An empty page is one MkDocs does not write.
    if _part() is not None and os.environ.get(GUARD_VARIABLE) and output.strip():
        from digest.guard import scan_text  # only `digest build` sets the variable, with the package installed

        _scanned.append(page.file.dest_uri)
        _findings.extend(scan_text(page.file.dest_uri, output))
    return output


@event_priority(-1000)  # after every plugin's own post_build
def on_post_build(config: Any) -> None:
    # Parts 1 to n-1 keep only their pages. The theme's 404 page and sitemap
    # and the search index are written here too (the search plugin must stay enabled, or
    # Material leaves the search box out of the pages); part 0 writes the
    # ones that count.
    where = _part()
    if where is None:
        return
    if os.environ.get(GUARD_VARIABLE):
        from digest.guard import write_part_report

        # A page a part wrote and then deletes below is not in the site.
        kept = {p for p in _scanned if where[0] == 0 or p in _mine}
        write_part_report(Path(os.environ[GUARD_VARIABLE]), where[0], sorted(kept),
                          [f for f in _findings if f.file in kept])
    if where[0] == 0:
        return
    site = Path(config.site_dir)
    for path in [p for p in site.rglob("*") if p.is_file()]:
        if path.relative_to(site).as_posix() not in _mine:
            path.unlink()


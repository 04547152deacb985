"""Run MkDocs for the hosted and the offline edition, guard and package them.

Each edition is built into a temporary folder next to its destination and
swapped in only when the build and the third-party guard passed, so a failed
build leaves the previous site as it was.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from digest.archive import ZipWriter, entry_order
from digest.fsutil import (
    clear_stale,
    link_unlinked,
    new_folder,
    recover,
    retire,
    spare_of,
    swap_in,
    tied_to_this_process,
    usable_cores,
)
from digest.guard import REPORT_VARIABLE, Finding, read_part_reports, scan_site, scan_text
from digest.names import CACHE, OFFLINE_PLUGIN, in_offline
from digest.problems import BuildFailed
from digest.render.search import SEARCH_PAGES
from digest.searchindex import IndexBuild, write_search_index

# overrides/hooks/build_parts.py reads this: which share of the pages to build.
PART_VARIABLE = "DIGEST_MKDOCS_PART"
MAX_PARTS = 4  # each part is a whole MkDocs process (about 100 MB before pages)


def build_parts() -> int:
    """How many MkDocs processes build an edition: one per core we may use."""
    return min(usable_cores(), MAX_PARTS)


# overrides/hooks/generated_pages.py keeps MkDocs' compiled templates in
# this folder (under the project) when it is set: Jinja compiled the theme's
# 42 templates afresh in every MkDocs process, 0.3 s each time.
TEMPLATE_CACHE_VARIABLE = "DIGEST_TEMPLATE_CACHE"
TEMPLATE_CACHE = f"{CACHE}/templates"


def mkdocs_environment(root: Path) -> dict[str, str]:
    """The environment of the MkDocs processes the digest starts for the
    project at ``root``."""
    return {**os.environ, "NO_MKDOCS_2_WARNING": "1",  # Material's end-of-life banner
            TEMPLATE_CACHE_VARIABLE: str(root.resolve() / TEMPLATE_CACHE)}


class MkDocsRun:
    """MkDocs (strict) building ``site_dir`` in ``parts`` processes of its
    own that share the pages; started at once, finished by :meth:`wait`.

    MkDocs keeps every page in memory until the build ends; in processes of
    its own that memory is not added to what generating the pages left behind
    in ours (10,000 articles: 1.85 GB in one process before). MkDocs renders
    on one core; with ``parts`` > 1 each process builds a share of the
    generated pages into a folder of its own (overrides/hooks/build_parts.py)
    and the shares are then moved into ``site_dir``, which part 0 built with
    everything else. The result is the same site, byte for byte.
    """

    def __init__(self, config_file: Path, site_dir: Path, parts: int = 1, guard_reports: Path | None = None) -> None:
        """With ``guard_reports`` (and ``parts`` > 1), each part guards the
        pages it writes and leaves its report there (guard.read_part_reports)."""
        self.config_file, self.site_dir = config_file, site_dir
        self.folders = [site_dir] + [site_dir.with_name(f"{site_dir.name}.part{k}") for k in range(1, parts)]
        self.runs: list[tuple[subprocess.Popen[bytes], IO[str]]] = []
        env = mkdocs_environment(config_file.parent)
        if guard_reports is not None and parts > 1:
            env[REPORT_VARIABLE] = str(guard_reports)
        try:
            for k, folder in enumerate(self.folders):
                cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config_file),
                       "--site-dir", str(folder)]
                # A file, not a pipe: a part that logs much would block on a
                # full pipe while we wait for another part.
                log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 (closed in stop)
                # Snippets and relative config paths resolve from the project
                # folder. Each child dies with us, so a killed build leaves
                # no orphan writing into its staging folder.
                try:
                    proc = subprocess.Popen(cmd, cwd=config_file.parent, stdout=log, stderr=subprocess.STDOUT,
                                            env={**env, PART_VARIABLE: f"{k}/{parts}"} if parts > 1 else env,
                                            preexec_fn=tied_to_this_process())
                except BaseException:
                    log.close()
                    raise
                self.runs.append((proc, log))
        except BaseException:
            self.stop()
            raise

    def wait(self) -> None:
        """Wait for every part; raise BuildFailed with MkDocs' complaints if
        one failed; otherwise gather the parts' pages into ``site_dir``."""
        try:
            for proc, log in self.runs:
                if proc.wait() != 0:
                    log.seek(0)
                    said = log.read()
                    lines = [line for line in said.splitlines()
                             if line.startswith(("WARNING", "ERROR", "Error", "Aborted"))]
                    detail = "\n  ".join((lines or said.strip().splitlines())[-20:])
                    raise BuildFailed(f"MkDocs failed for {self.config_file.name}"
                                      + (f":\n  {detail}" if detail else ""))
            for folder in self.folders[1:]:
                merge_part(folder, self.site_dir)
        finally:
            self.stop()

    def stop(self) -> None:
        """Kill the parts still running and remove the parts' own folders."""
        for proc, log in self.runs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
        for folder in self.folders[1:]:
            shutil.rmtree(folder, ignore_errors=True)


def run_mkdocs(config_file: Path, site_dir: Path, parts: int = 1) -> None:
    """Build ``site_dir`` with MkDocs in ``parts`` processes (see MkDocsRun)."""
    MkDocsRun(config_file, site_dir, parts).wait()


def merge_part(part: Path, site_dir: Path) -> None:
    """Move a part's pages into the site; a part writes only pages no other
    part writes, so a file that is already there is a bug, not a merge."""
    for folder, _dirs, names in os.walk(part):
        target = site_dir / Path(folder).relative_to(part)
        target.mkdir(exist_ok=True)
        for name in names:
            if (target / name).exists():
                raise BuildFailed(f"two MkDocs processes both wrote {(target / name).relative_to(site_dir)}")
            os.replace(Path(folder) / name, target / name)


def _load_config(config_file: Path) -> Any:
    """A configuration as MkDocs loads it, relative paths (hooks, INHERIT)
    resolved from its own folder."""
    from mkdocs.config import load_config

    cwd = Path.cwd()
    os.chdir(config_file.parent)
    try:
        return load_config(str(config_file))
    finally:
        os.chdir(cwd)


def _settings(config_file: Path) -> tuple[Path, bool]:
    """The configuration's docs folder and whether it uses directory URLs."""
    config = _load_config(config_file)
    return Path(config.docs_dir), bool(config.use_directory_urls)


@contextmanager
def _staged(site_dir: Path) -> Iterator[Path]:
    """A folder beside ``site_dir`` to build an edition into: swapped in for
    ``site_dir`` when the block ends, removed if it raises, so a failed
    build leaves the previous edition as it was."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    recover(site_dir)
    clear_stale(site_dir.parent, f".{site_dir.name}.building-")
    tmp = new_folder(site_dir.parent, f".{site_dir.name}.building-")
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, site_dir, later=True)
    # The tree an incremental build kept shares no file with a full build's:
    # catching it up would cost more than linking into an empty folder.
    retire(spare_of(site_dir), f".{site_dir.name}.building-")


def _guard(site: Path, workers: int, scanned: frozenset[str] = frozenset(), found: Sequence[Finding] = ()) -> None:
    """Refuse a built site that would load anything from another host:
    ``found`` in the files ``scanned`` already, and whatever the rest holds."""
    findings = sorted([*found, *scan_site(site, workers, scanned)], key=lambda f: f.file)
    if findings:
        raise BuildFailed("the built site would load files from other hosts:\n  "
                          + "\n  ".join(f.format() for f in findings[:50]))


def mkdocs_build(config_file: Path, site_dir: Path, parts: int | None = None) -> None:
    """Build with MkDocs (strict) into ``site_dir``, replacing it only on
    success; in ``parts`` processes (default: :func:`build_parts`)."""
    parts = parts or build_parts()
    index: IndexBuild | None = None
    # Small files, gone when the build ends: in the system's temporary folder,
    # not beside the site, where a killed build would leave them.
    reports = Path(tempfile.mkdtemp(prefix="digest-guard-"))
    try:
        with _staged(site_dir) as tmp:
            run = MkDocsRun(config_file, tmp, parts, guard_reports=reports)
            try:
                # Node indexes the generated pages while MkDocs builds the
                # site; reading them for Node (about 1 s at 5,000 articles)
                # happens while MkDocs starts, not before.
                docs_dir, directory_urls = _settings(config_file)
                index = IndexBuild(docs_dir / SEARCH_PAGES, config_file.parent, directory_urls=directory_urls)
            except BaseException:
                run.stop()
                raise
            run.wait()
            write_search_index(tmp, index.finish(tmp))
            # The parts guarded the pages they wrote; everything else is read here.
            _guard(tmp, parts, *read_part_reports(reports, parts))
    except BaseException:
        if index is not None:
            index.stop()
        raise
    finally:
        shutil.rmtree(reports, ignore_errors=True)


# The one feature the offline edition leaves out: instant navigation fetches
# pages with XHR, which browsers refuse on file:// (mkdocs.offline.yml).
INSTANT = "navigation.instant"
# Each on a line of its own in the built page (overrides/hooks/compact_html.py).
FEED_TYPE = 'type="application/atom+xml"'  # in both the <link> and the subscribe link
_FEED_MARKUP = re.compile(r'(?:<link rel="alternate" type="application/(?:atom\+xml|feed\+json)"[^>]*>)+\n?'
                          r'|<p class="digest-subscribe">.*?</p>\n?')


def _same_but_offline(hosted: Any, offline: Any) -> tuple[list[str], list[str]] | None:
    """If ``offline`` (a loaded MkDocs configuration) is ``hosted`` plus
    Material's offline plugin, minus instant navigation, and the site it
    builds may live elsewhere, both feature lists; otherwise None."""
    for key in hosted:
        if key not in ("config_file_path", "site_dir", "plugins", "theme") and hosted[key] != offline.get(key):
            return None
    if set(offline) != set(hosted) or hosted.use_directory_urls:  # the offline plugin turns them off
        return None
    # With no shim of our own in the pages, the offline plugin would add its
    # CDN copy to the offline edition's pages only.
    if not any("iframe-worker" in str(url) for url in hosted.extra.get("polyfills") or ()):
        return None
    if [n for n in offline.plugins if n != OFFLINE_PLUGIN] != list(hosted.plugins) or OFFLINE_PLUGIN not in offline.plugins:
        return None
    if not offline.plugins[OFFLINE_PLUGIN].config.enabled:
        return None
    for name, plugin in hosted.plugins.items():
        other = offline.plugins[name]
        if type(plugin) is not type(other) or dict(getattr(plugin, "config", {})) != dict(getattr(other, "config", {})):
            return None
        if getattr(plugin, "__file__", None) != getattr(other, "__file__", None):  # hooks are modules
            return None
    theme, other_theme = dict(hosted.theme), dict(offline.theme)
    features = list(theme.pop("features", None) or [])
    other_features = list(other_theme.pop("features", None) or [])
    if theme != other_theme or hosted.theme.dirs != offline.theme.dirs:
        return None
    if other_features != [f for f in features if f != INSTANT]:
        return None
    return features, other_features


def offline_from_hosted(hosted_config: Path, hosted_site: Path, offline_config: Path, site_dir: Path,
                        zip_path: Path | None = None) -> bool:
    """Make the offline edition (and, given ``zip_path``, its zip) from the
    hosted edition just built, when the two configurations differ only as
    the digest's do (see :func:`_same_but_offline`); False, having changed
    nothing, otherwise.

    Built by MkDocs, the two editions are then the same files but for two:
    each page's ``__config`` block lists one feature fewer, and the offline
    plugin adds ``search/search_index.js``. So the offline edition is the
    hosted one with those made, instead of a second MkDocs build of every
    page. tests/test_hooks.py compares the result with MkDocs' own, byte for
    byte. Anything unexpected in a page (no such list, or two) also returns
    False, and MkDocs builds the edition.

    Each hosted file is read once here, rewritten if a page, guarded and
    written; a process of its own (archive.ZipWriter) zips each written
    file meanwhile.
    """
    rewrite = offline_rewriter(hosted_config, offline_config)
    if rewrite is None:
        return False
    folders, names = [], []
    for folder, _dirs, files in os.walk(hosted_site):
        rel = Path(folder).relative_to(hosted_site).as_posix()
        if in_offline(rel + "/"):
            folders.append(rel)
        names += [n for n in (name if rel == "." else f"{rel}/{name}" for name in files) if in_offline(n)]
    made: dict[str, bytes] = {}
    material = hosted_site / "search" / "search_index.json"
    if material.exists():  # what the offline plugin writes after every other plugin
        made["search/search_index.js"] = b"var __index = " + material.read_bytes()
    scanned: set[str] = set()
    found: list[Finding] = []
    zipper: ZipWriter | None = None
    try:
        with _staged(site_dir) as tmp:
            zipper = ZipWriter(tmp, zip_path) if zip_path else None
            for rel in folders:
                (tmp / rel).mkdir(exist_ok=True)
            # In the zip's order, so that each file goes to it as it is written.
            for name in sorted(set(names) | made.keys(), key=entry_order):
                if not name.endswith(".html") and name not in made:
                    # The same bytes as the hosted file: linked, not written
                    # again (the search index alone is 28 MB at 10,000 articles).
                    link_unlinked(hosted_site / name, tmp / name)
                    if zipper is not None:
                        zipper.add(name)
                    continue
                data = made[name] if name in made else (hosted_site / name).read_bytes()
                if name.endswith(".html"):
                    page = data.decode("utf-8")
                    if 'id="__config"' in page:
                        page = rewrite(name, page)
                        data = page.encode("utf-8")
                    # Guarded here, while in memory, like the hosted pages in the MkDocs parts.
                    scanned.add(name)
                    found += scan_text(name, page)
                (tmp / name).write_bytes(data)
                if zipper is not None:
                    zipper.add(name)
            _guard(tmp, build_parts(), frozenset(scanned), found)
            if zipper is not None:
                zipper.close()  # it reads the files from tmp, which the swap renames
    except BaseException as exc:
        if zipper is not None:
            zipper.abort()
        if isinstance(exc, _Unexpected):
            return False
        raise
    if zipper is not None:
        zipper.commit()
    return True


class _Unexpected(BuildFailed):
    """A hosted page whose feature list is not where offline_from_hosted expects it."""


def offline_rewriter(hosted_config: Path, offline_config: Path) -> Callable[[str, str], str] | None:
    """The change that turns a hosted page (with its ``__config`` block) into
    the offline edition's, when the configurations differ only as the
    digest's do (:func:`_same_but_offline`); None otherwise."""
    both = _same_but_offline(_load_config(hosted_config), _load_config(offline_config))
    return None if both is None else rewriter(*both)


def rewriter(hosted_features: list[str], offline_features: list[str]) -> Callable[[str, str], str]:
    """:func:`offline_rewriter`'s change, from the two editions' feature lists."""
    old, new = ('"features": ' + json.dumps(f) for f in (hosted_features, offline_features))

    def rewrite(name: str, page: str) -> str:
        if page.count(old) != 1:
            raise _Unexpected(f"{name}: its feature list is not where the offline edition expects it")
        page = page.replace(old, new)
        # Only the home page and hubs name feeds: a substring test spares the
        # other pages the pattern's scan.
        return _FEED_MARKUP.sub("", page) if FEED_TYPE in page else page

    return rewrite


def offline_page(rewrite: Callable[[str, str], str]) -> Callable[[str, bytes], bytes]:
    """The same change on any file of the hosted edition, as bytes."""
    def page(name: str, data: bytes) -> bytes:
        if name.endswith(".html"):
            text = data.decode("utf-8")
            if 'id="__config"' in text:
                return rewrite(name, text).encode("utf-8")
        return data

    return page


def edition_settings(hosted_config: Path, offline_config: Path) -> dict[str, Any]:
    """What the incremental build needs of the two configurations, as plain
    data: directory URLs, the pages the navigation names, the site_url (""
    if none), and both editions' feature lists when the offline edition is
    made from the hosted one (:func:`_same_but_offline`; else None).
    .digest-cache/editions.json keeps them, so that a build whose
    configurations and theme are those of the last one (digest.incremental's
    context) does not load them again: three loads took 0.4 s."""
    from digest.incremental import nav_pages

    hosted = _load_config(hosted_config)
    both = _same_but_offline(hosted, _load_config(offline_config))
    return {"directory_urls": bool(hosted.use_directory_urls), "nav": sorted(nav_pages(hosted)),
            "site_url": str(hosted.site_url or ""), "features": None if both is None else list(both),
            "snippets_checked": _snippets_checked(hosted)}


def _snippets_checked(config: Any) -> bool:
    """Whether a snippet that names a missing file stops the build (or no
    snippet is read): then MkDocs may run on a docs folder that lacks some
    of the generated files (incremental.speculate), since a page that
    reads one fails instead of coming out without it."""
    if "pymdownx.snippets" not in config.markdown_extensions:
        return True
    return (config.mdx_configs.get("pymdownx.snippets") or {}).get("check_paths") is True

"""Incremental editions: after a change to ``seeds/``, rebuild only the pages
whose Markdown changed, in both editions and the zip.

A build is a function of its inputs (docs/development/design.md): an
incremental build must give the bytes a clean build gives. What makes that
possible here:

- Articles, editions and hubs are kept out of the navigation, so a page's
  HTML depends on its own Markdown, the configuration, the theme and the
  navigation's pages, and on nothing else; the generator writes every page
  whose Markdown changes (docs/digest/'s manifest records each file's size
  and time). So the pages to build are the Markdown files that changed.
- MkDocs builds them in a small docs folder of their own: the hand-written
  pages, the pages the navigation lists, and the changed pages. It reads
  every page of a folder before it writes any; a folder of 30 pages instead
  of 12,000 is the saving. It starts as soon as the pages are rendered
  (:func:`speculate`), and the build uses that run only if its plan names
  the same pages.
- The new edition is the previous one with those pages replaced: hard links
  to every unchanged file in a staging folder, the new files written beside
  them (never into a linked file), then one atomic swap, as in a full build.
- The offline edition gets the same pages rewritten as a full build rewrites
  them (site.offline_page); the zip copies every unchanged entry's
  compressed bytes as they are and deflates only the changed ones.

Whenever the dependency of a change is not known (the configuration, the
theme, the hand-written pages, the generator's code, an output changed by
hand, no record of the last build) the build is a full one, and says why.
The record (``.digest-cache/editions.json``) is an optimisation only:
unreadable, foreign or stale, it is ignored.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any, Final

from mkdocs.utils import get_build_date

from digest.archive import deflated, entry_order, update_zip
from digest.fsutil import (
    LinkedCopy,
    atomic_write,
    link_unlinked,
    new_folder,
    prune_empty,
    spare_of,
    swap_in,
    tied_to_this_process,
    write_unlinked,
)
from digest.guard import scan_text
from digest.names import CACHE, in_offline
from digest.problems import BuildFailed
from digest.render.search import SEARCH_PAGES
from digest.searchindex import (
    Builder,
    IndexBuild,
    Previous,
    Update,
    read_previous,
    start_builder,
    update_from,
    write_search_index,
)
from digest.site import mkdocs_environment
from digest.write import manifest_stats

STATE: Final = f"{CACHE}/editions.json"
STATE_VERSION: Final = 2
OWNED: Final = "digest"  # the generated folder under docs/
HOME: Final = f"{OWNED}/home.md"  # the home page's snippet (render.HOME_SNIPPET)
# The configuration MkDocs runs for the changed pages: the project's own,
# with another docs folder. In the project folder, so that every relative
# path in mkdocs.yml (hooks, custom_dir, snippets) means what it means there.
PARTIAL_CONFIG: Final = ".digest-partial.yml"


@dataclass(frozen=True)
class Plan:
    """What a build will do: ``kind`` is ``none``, ``incremental`` or ``full``."""

    kind: str
    reason: str
    pages: tuple[str, ...] = ()  # Markdown under docs/ to build again (changed or new)
    removed_pages: tuple[str, ...] = ()  # Markdown under docs/ no longer generated
    files: tuple[str, ...] = ()  # other generated files changed or new (copied as they are)
    removed_files: tuple[str, ...] = ()
    docs_stats: dict[str, Any] = field(default_factory=dict, compare=False)
    context: str = ""  # context_stamp() when planned: what remember() records after the build
    # site.edition_settings() as the last build recorded them, when its
    # context is this one's (None: load the configurations).
    settings: dict[str, Any] | None = field(default=None, compare=False)


def _tree_stamp(h: Any, folder: Path, skip: Path | None = None, suffixes: tuple[str, ...] = ()) -> None:
    """Add every file's path, size and time under ``folder`` to the hash."""
    if not folder.is_dir():
        h.update(b"-missing-")
        return
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        if skip is not None:
            dirs[:] = [d for d in dirs if Path(here, d) != skip]
        for name in sorted(files):
            if name.startswith(".digest") or (suffixes and not name.endswith(suffixes)):
                continue
            st = os.lstat(os.path.join(here, name))
            h.update(f"{os.path.relpath(os.path.join(here, name), folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def context_stamp(root: Path) -> str:
    """Everything a page's HTML depends on besides its own Markdown: the two
    configurations, the theme's overrides, the hand-written docs, the
    generator's code and the installed MkDocs and Material."""
    h = hashlib.sha256(f"state {STATE_VERSION}\n".encode())
    for name in ("mkdocs.yml", "mkdocs.offline.yml"):
        path = root / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-missing-"))
    _tree_stamp(h, root / "overrides")
    _tree_stamp(h, root / "docs", skip=root / "docs" / OWNED)
    _tree_stamp(h, Path(__file__).parent, suffixes=(".py", ".js", ".mjs"))  # not __pycache__
    for dist in ("mkdocs", "mkdocs-material", "pymdown-extensions", "Markdown"):
        try:
            h.update(f"{dist}=={metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} missing\n".encode())
    return h.hexdigest()


def _identity(path: Path) -> list[int] | None:
    """What tells that an output is the one this process swapped in: its
    inode (each build swaps in a new folder) and its time."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_ino, st.st_mtime_ns, st.st_size if path.is_file() else 0]


def read_state(root: Path) -> dict[str, Any] | None:
    """The record of the last build, or None if it is missing or not ours."""
    try:
        data = json.loads((root / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return None
    if not all(isinstance(data.get(k), t) for k, t in
               (("context", str), ("docs", dict), ("outputs", dict), ("settings", dict))):
        return None
    settings = data["settings"]
    features = settings.get("features")
    if not (isinstance(settings.get("directory_urls"), bool) and isinstance(settings.get("site_url"), str)
            and isinstance(settings.get("nav"), list) and all(isinstance(n, str) for n in settings["nav"])
            and (features is None or (isinstance(features, list) and len(features) == 2 and all(
                isinstance(f, list) and all(isinstance(x, str) for x in f) for f in features)))):
        return None
    return data


def forget(root: Path) -> None:
    """Drop the record: the next build is a full one. Called before anything
    replaces an output, so a build killed halfway is never trusted."""
    (root / STATE).unlink(missing_ok=True)


def remember(root: Path, outputs: dict[str, Path], docs_stats: dict[str, Any], context: str,
             settings: dict[str, Any]) -> None:
    """Record what the editions were built from, after they were swapped in,
    and the configurations' settings (site.edition_settings)."""
    data = {"version": STATE_VERSION, "context": context, "docs": docs_stats, "settings": settings,
            "outputs": {name: _identity(path) for name, path in sorted(outputs.items())}}
    atomic_write(root / STATE, json.dumps(data, sort_keys=True).encode("utf-8"))


def plan(root: Path, docs: Path, outputs: dict[str, Path]) -> Plan:
    """Decide what a build of both editions must do."""
    stats = manifest_stats(docs, OWNED)
    context = context_stamp(root)
    state = read_state(root)
    if state is None:
        return Plan("full", "no record of a previous build", docs_stats=stats, context=context)
    if state["context"] != context:
        return Plan("full", "mkdocs.yml, overrides/, the hand-written docs/ or the generator changed",
                    docs_stats=stats, context=context)
    recorded = state["outputs"]
    if set(recorded) != set(outputs) or any(recorded[k] != _identity(p) for k, p in outputs.items()):
        return Plan("full", "the editions were changed or removed since the last build", docs_stats=stats,
                    context=context)
    old: dict[str, Any] = state["docs"]
    changed = sorted(p for p in stats if _content(old.get(p)) != _content(stats[p]))
    gone = sorted(p for p in old if p not in stats)
    if not changed and not gone:
        return Plan("none", "nothing changed since the last build", docs_stats=stats, context=context,
                    settings=state["settings"])
    pages = tuple(p for p in changed if p.endswith(".md"))
    removed_pages = tuple(p for p in gone if p.endswith(".md"))
    return Plan("incremental", f"{len(pages)} changed page(s), {len(removed_pages)} removed",
                pages, removed_pages, tuple(p for p in changed if not p.endswith(".md")),
                tuple(p for p in gone if not p.endswith(".md")), stats, context, state["settings"])


def _content(entry: Any) -> Any:
    """What says a generated file changed: its size, time and hash; not the
    page's key (digest.render.reuse), which may change with the same bytes."""
    return entry[:3] if isinstance(entry, list) else entry


def html_name(page: str) -> str:
    """A page's file in the site (no directory URLs, which the digest needs)."""
    return page[:-3] + ".html"


def nav_pages(config: Any) -> set[str]:
    """The pages the ``nav`` configuration names."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, str):
            if not item.startswith(("http:", "https:")):
                found.add(item.lstrip("/"))
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(config.nav or [])
    return found


def _small_docs(docs: Path, folder: Path, pages: set[str]) -> None:
    """A docs folder for MkDocs: every hand-written file, and of the generated
    ones only ``pages``; linked, not copied."""
    for here, dirs, files in os.walk(docs):
        rel_here = os.path.relpath(here, docs)
        # MkDocs leaves out dot folders, such as the tree write_tree stages
        # beside docs/digest/ (13,000 links while :func:`speculate` runs).
        dirs[:] = [d for d in dirs if not d.startswith(".") and (rel_here != "." or d != OWNED)]
        for name in files:
            if name.startswith("."):
                continue
            rel = os.path.normpath(os.path.join(rel_here, name))
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.path.join(here, name), target)
    for page in sorted(pages):
        source = docs / page
        if source.is_file():
            target = folder / page
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source, target)


# MkDocs processes started ahead of the build that will need them (see
# digest.mkworker), by project root and configuration file.
_prestarted: dict[tuple[Path, Path], subprocess.Popen[str]] = {}


def prestart(root: Path, config_file: Path) -> None:
    """Start a MkDocs process for this run's incremental build, if there is
    one: it imports while the seeds are checked and the pages rendered
    (on the other core), and :class:`_MkDocsRun` then hands it the build.
    A run that has no use for it ends it (:func:`drop_prestarted`)."""
    if (root, config_file) not in _prestarted:
        _prestarted[(root, config_file)] = subprocess.Popen(
            [sys.executable, "-m", "digest.mkworker", str(config_file)], cwd=root, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=mkdocs_environment(root), preexec_fn=tied_to_this_process())


def drop_prestarted() -> None:
    """End the MkDocs processes :func:`prestart` and :func:`speculate`
    started and no build used."""
    while _prestarted:
        _, proc = _prestarted.popitem()
        proc.kill()
        proc.communicate()
    while _speculated:
        _, found = _speculated.popitem()
        found.discard()


class _MkDocsRun:
    """MkDocs (strict) on the project's configuration with another docs
    folder, started at once (in the process :func:`prestart` started, if
    it still waits) and waited for by :meth:`wait`: the build sets up its
    staging and search index meanwhile, instead of before MkDocs starts."""

    def __init__(self, root: Path, config_file: Path, docs_folder: Path, site_dir: Path, *,
                 cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.partial = root / PARTIAL_CONFIG
        atomic_write(self.partial, (f"INHERIT: {config_file.name}\n"
                                    f"docs_dir: {json.dumps(str(docs_folder))}\n").encode())
        args = ["build", "--strict", "--config-file", str(self.partial), "--site-dir", str(site_dir)]
        worker = _prestarted.pop((root, config_file), None)
        try:
            self.proc = self._start(root, args, worker, cwd or root, {**mkdocs_environment(root), **(env or {})})
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM) or unable to start: no MkDocs
            # goes on writing into the work folder the caller removes, and
            # no partial configuration is left.
            if worker is not None and worker.poll() is None:
                worker.kill()
                worker.communicate()
            self.partial.unlink(missing_ok=True)
            raise

    @staticmethod
    def _start(root: Path, args: list[str], worker: subprocess.Popen[str] | None, cwd: Path,
               env: dict[str, str]) -> subprocess.Popen[str]:
        """Hand ``args`` to ``worker`` if it still waits; else start MkDocs afresh."""
        if worker is not None and worker.poll() is None:
            assert worker.stdin is not None
            try:
                # The environment as it is now: the build date is set by the caller (pipeline.digest_date).
                worker.stdin.write(json.dumps({"args": args, "env": env, "cwd": str(cwd)}) + "\n")
                worker.stdin.flush()  # one line is all it reads; communicate() closes the pipe
                return worker
            except BrokenPipeError:  # it died meanwhile: MkDocs is started afresh
                pass
        if worker is not None:
            worker.kill()
            worker.communicate()
        return subprocess.Popen([sys.executable, "-m", "mkdocs", *args], cwd=cwd, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, preexec_fn=tied_to_this_process())

    def wait(self) -> None:
        """Wait for MkDocs; raises BuildFailed with its complaints if it failed."""
        try:
            out, err = self.proc.communicate()
        finally:
            self.stop()
        if self.proc.returncode != 0:
            lines = [line for line in (out + err).splitlines()
                     if line.startswith(("WARNING", "ERROR", "Error", "Aborted"))]
            raise BuildFailed("MkDocs failed on the changed pages:\n  " + "\n  ".join(lines[-20:]))

    def stop(self) -> None:
        """End MkDocs if it still runs (the build failed or was interrupted:
        it would go on writing into the work folder the caller removes)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        self.partial.unlink(missing_ok=True)


@dataclass
class _Speculation:
    """MkDocs started on the pages a run has rendered, before it writes
    them into docs/digest/ (:func:`speculate`); used by the incremental
    build if the plan names the same pages, else ended."""

    pages: frozenset[str]  # the changed pages (Markdown under docs/), as guessed
    nav: frozenset[str]  # the navigation's generated pages it holds
    date: str  # the SOURCE_DATE_EPOCH it was given
    work: Path  # holds docs/ (its docs folder) and site/
    run: _MkDocsRun
    site: Path  # the hosted edition, whose index read_previous compares
    directory_urls: bool
    # The previous search index read (read_previous) once docs/digest/ is
    # written, beside the rest of the build's setup: :meth:`read`.
    reading: ThreadPoolExecutor | None = None
    previous: Future[Previous | None] | None = None

    def read(self, root: Path, docs: Path) -> None:
        """Start reading the previous index for the pages.js now written."""
        self.reading = ThreadPoolExecutor(1, thread_name_prefix="digest-index")
        self.previous = self.reading.submit(read_previous, root, docs / SEARCH_PAGES,
                                            self.site / "search" / "digest_index.js",
                                            directory_urls=self.directory_urls)

    def stop_reading(self) -> None:
        if self.reading is not None:
            self.reading.shutdown(wait=True, cancel_futures=True)

    def discard(self) -> None:
        self.run.stop()
        self.stop_reading()
        shutil.rmtree(self.work, ignore_errors=True)


_speculated: dict[tuple[Path, Path], _Speculation] = {}


def build_date(docs: Path, files: Iterable[str] | None = None) -> str:
    """SOURCE_DATE_EPOCH for a build of ``docs`` (pipeline.digest_date):
    the newest edition's day, from docs/digest/editions/ or, before they
    are written, from ``files`` (paths under docs/)."""
    if files is None:
        names: list[str] = []
        with suppress(OSError):
            names = os.listdir(docs / OWNED / "editions")
    else:
        prefix = f"{OWNED}/editions/"
        names = [f[len(prefix):] for f in files if f.startswith(prefix) and "/" not in f[len(prefix):]]
    dates = []
    for name in names:
        with suppress(ValueError):
            dates.append(dt.date.fromisoformat(name.removesuffix(".md")))
    newest = max(dates, default=dt.date(1970, 1, 1))
    return str(int(dt.datetime(newest.year, newest.month, newest.day, tzinfo=dt.UTC).timestamp()))


def speculate(root: Path, docs: Path, config_file: Path, site: Path,
              files: Mapping[str, object]) -> Callable[[], None] | None:
    """Start MkDocs on the pages just rendered (``files``, paths under
    docs/ to bytes, or KEPT) while they are written into docs/digest/: in
    the process :func:`prestart` started, if there is one. At 10,000
    articles it started 0.35 s sooner, the writing and the build's setup
    done beside it on the other core. Its docs folder holds the
    hand-written files, the pages whose bytes change, the navigation's
    generated pages and the home page's snippet (as they will be: the
    changed ones written out, the others linked, the same bytes before and
    after docs/digest/ is swapped); MkDocs runs in the folder above it, so
    that the snippets' ``base_path: [docs]`` reads there, not in a
    docs/digest/ being replaced. :func:`update_editions` uses it only if
    its plan names the same pages, navigation and date. Returns what to
    call once the pages are written: it starts reading the previous search
    index, if pages.js was rendered again."""
    if (root, config_file) not in _prestarted or (root, config_file) in _speculated:
        return None
    state = read_state(root)
    if state is None:
        return None  # a full build
    if state["settings"].get("snippets_checked") is not True:
        return None  # a page reading a generated file left out would come out without it, not fail
    changed: dict[str, bytes] = {}  # the pages whose bytes change, with those bytes
    for path, content in files.items():
        if not path.endswith(".md") or not isinstance(content, (bytes, str)):
            continue  # KEPT: written by the last run, as it is
        data = content.encode("utf-8") if isinstance(content, str) else content
        try:
            if (docs / path).read_bytes() == data:
                continue
        except OSError:
            pass
        changed[path] = data
    if not changed:
        return None  # no page to build: the build may have nothing to do
    nav = frozenset(n for n in state["settings"]["nav"] if n.startswith(f"{OWNED}/"))
    date = os.environ.get("SOURCE_DATE_EPOCH") or build_date(docs, files)
    try:
        (root / CACHE).mkdir(exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="digest-partial-", dir=root / CACHE))
    except OSError:
        return None  # the build will say what is wrong with the folder
    try:
        small = work / "docs"
        # Linked: the pages that stay as they are (and are still generated).
        _small_docs(docs, small, {page for page in nav | {HOME} if page in files and page not in changed})
        for page, data in changed.items():
            (small / page).parent.mkdir(parents=True, exist_ok=True)
            (small / page).write_bytes(data)
        run = _MkDocsRun(root, config_file, small, work / "site", cwd=work, env={"SOURCE_DATE_EPOCH": date})
    except Exception:  # an optimisation only: the build starts MkDocs itself
        shutil.rmtree(work, ignore_errors=True)
        return None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    found = _speculated[(root, config_file)] = _Speculation(frozenset(changed.keys() - {HOME}), nav, date, work, run, site,
                                                            state["settings"]["directory_urls"])
    return partial(found.read, root, docs) if isinstance(files.get(SEARCH_PAGES), (bytes, str)) else None


def _speculation(root: Path, config_file: Path, pages: set[str], nav: set[str], site: Path,
                 directory_urls: bool) -> _Speculation | None:
    """The MkDocs run :func:`speculate` started, if it builds what the plan
    asks (``pages``; ``nav``, the navigation's generated pages) on this
    build's date, and read the index of the same edition; else None, the
    run ended."""
    found = _speculated.pop((root, config_file), None)
    if found is not None and (found.pages != pages or found.nav != nav or found.site != site
                              or found.directory_urls != directory_urls
                              or found.date != os.environ.get("SOURCE_DATE_EPOCH", "")):
        found.discard()
        return None
    return found


SITEMAP: Final = "sitemap.xml"
_LOC: Final = re.compile(r"<loc>([^<]*)</loc>")


def _sort_key(src: str) -> tuple[tuple[str, ...], bool, str]:
    """MkDocs' order of its files (mkdocs.structure.files.file_sort_key):
    a folder's index first, then its other files, then its subfolders."""
    parts = tuple(src.split("/"))
    return parts[:-1], parts[-1] != "index.md", parts[-1]


def sitemap(live: bytes, site_url: str, added: set[str], removed: set[str], date: str) -> tuple[bytes, bytes] | None:
    """The sitemap (and its gzip) MkDocs' template would write for the pages
    of ``live`` (an edition's sitemap) plus ``added`` minus ``removed``
    (Markdown paths under docs/), every page dated ``date`` (the build's
    SOURCE_DATE_EPOCH); None when that is ``live`` itself: no page removed,
    every page ``added`` listed already, and every page dated ``date`` (an
    edit of pages that were there: making it again took 0.06 s at 10,000
    articles, before the page went live). tests/test_incremental.py
    compares it with MkDocs'."""
    dated = f"<lastmod>{date}</lastmod>".encode()
    if not removed and live.count(b"<lastmod>") == live.count(dated) and \
            all(f"<loc>{html.escape(site_url + html_name(src))}</loc>".encode() in live for src in added):
        return None
    pages = {html.unescape(m)[len(site_url):] for m in _LOC.findall(live.decode("utf-8"))}
    sources = {u[:-5] + ".md" for u in pages} - removed | added
    entries = "".join(f"\n    <url>\n         <loc>{html.escape(site_url + html_name(src))}</loc>\n"
                      f"         <lastmod>{date}</lastmod>\n    </url>" for src in sorted(sources, key=_sort_key))
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}\n</urlset>").encode()
    packed = io.BytesIO()
    stamp = int(dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC).timestamp())
    # As MkDocs writes it: the gzip header names the file and carries the date.
    with gzip.GzipFile(fileobj=packed, filename=SITEMAP + ".gz", mode="wb", mtime=stamp) as gz:
        gz.write(text)
    return text, packed.getvalue()


def _walk_files(folder: Path) -> Iterator[str]:
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        rel = os.path.relpath(here, folder)
        for name in sorted(files):
            yield name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")


def _unlink(stage: Path, names: set[str], prefixes: tuple[str, ...] = ()) -> None:
    """Remove ``names`` and every file under ``prefixes`` (folders) from a staged tree."""
    for name in names:
        (stage / name).unlink(missing_ok=True)
    for prefix in prefixes:
        shutil.rmtree(stage / prefix, ignore_errors=True)


def _put(stage: Path, name: str, data: bytes) -> None:
    write_unlinked(stage / name, data)


def _refuse_loads(files: dict[str, bytes]) -> None:
    """The third-party guard over the files an incremental build writes (the
    others were guarded when they were built)."""
    findings = [f for name, data in sorted(files.items()) for f in scan_text(name, data.decode("utf-8", "replace"))]
    if findings:
        raise BuildFailed("the built site would load files from other hosts:\n  "
                          + "\n  ".join(f.format() for f in findings[:50]))


def update_editions(root: Path, docs: Path, config_file: Path, p: Plan, site: Path, offline: Path, zip_path: Path,
                    *, directory_urls: bool, nav: set[str], offline_page: Callable[[str, bytes], bytes],
                    site_url: str = "", on_hosted: Callable[[], None] = lambda: None) -> str:
    """Build the changed pages and swap in the updated hosted edition (then
    call ``on_hosted``), offline edition and zip; what became of the search
    index. Raises BuildFailed on any problem: having changed nothing when it
    comes before the hosted edition's swap (the caller then builds both
    editions in full)."""
    pages = set(p.pages) - {HOME}  # a snippet of index.md, not a page
    generated_nav = {n for n in nav if n.startswith(f"{OWNED}/")}
    speculated = _speculation(root, config_file, pages, generated_nav, site, directory_urls)
    (root / CACHE).mkdir(exist_ok=True)
    work = speculated.work if speculated is not None else \
        Path(tempfile.mkdtemp(prefix="digest-partial-", dir=root / CACHE))
    small, built = work / "docs", work / "site"

    def planned() -> _MkDocsRun:
        """MkDocs on the docs folder the plan makes."""
        _small_docs(docs, small, pages | generated_nav)
        return _MkDocsRun(root, config_file, small, built)
    index: IndexBuild | None = None
    # Linked in threads while MkDocs builds the changed pages and the index is updated.
    staging: list[LinkedCopy] = []
    swapped: list[Path] = []  # staged folders swapped in (they now hold the previous trees)
    zip_tmp: Path | None = None
    zipping: ThreadPoolExecutor | None = None
    builder: Builder | None = None
    mkdocs: _MkDocsRun | None = None
    update: Update | None = None
    recorded = False  # whether update's record is written (Update.record)
    # When the generated pages' text changed, the index will be updated: its
    # first part, which needs no hand-written page, is read while MkDocs
    # runs (in a child process, so this one only waits).
    early = ThreadPoolExecutor(1, thread_name_prefix="digest-index") if SEARCH_PAGES in p.files else None
    live_index = site / "search" / "digest_index.js"
    side = ThreadPoolExecutor(1, thread_name_prefix="digest-sitemap")
    listing: Future[tuple[bytes, bytes] | None] | None = None
    try:
        # MkDocs first, then what runs beside it: the staging, the previous
        # index read, Node started (each started before MkDocs, they slowed
        # the making of its docs folder and started it 0.1 s later).
        mkdocs = speculated.run if speculated is not None else planned()
        # Each from the tree the last run swapped out, where there is one.
        staging += [LinkedCopy(site, new_folder(site.parent, f".{site.name}.building-"), spare_of(site)),
                    LinkedCopy(offline, new_folder(offline.parent, f".{offline.name}.building-"), spare_of(offline))]
        if site_url and (site / SITEMAP).is_file():
            # With an address, the sitemap lists every page, dated as the
            # build (SOURCE_DATE_EPOCH's, as in the MkDocs run): made while
            # MkDocs runs (0.06 s at 10,000 articles when a page is added).
            listing = side.submit(lambda: sitemap((site / SITEMAP).read_bytes(), site_url, pages,
                                                  set(p.removed_pages), get_build_date()))
        previous = speculated.previous if speculated is not None else None
        if early is None:
            previous = None
        elif previous is None:
            previous = early.submit(read_previous, root, docs / SEARCH_PAGES, live_index,
                                    directory_urls=directory_urls)
        # Node, for the index's update, starts while MkDocs runs.
        builder = start_builder(root) if early is not None else None
        try:
            mkdocs.wait()
        except BuildFailed:
            if speculated is None:
                raise
            # The guessed docs folder lacked what a page reads (a snippet of
            # a generated file that did not change, say): MkDocs once more,
            # on the folder the plan makes, before the build gives up.
            shutil.rmtree(small, ignore_errors=True)
            shutil.rmtree(built, ignore_errors=True)
            mkdocs = planned()
            mkdocs.wait()
        new = {html_name(page): (built / html_name(page)).read_bytes() for page in sorted(pages)
               if (built / html_name(page)).is_file()}
        # The hand-written pages are few and are built each time: index.md
        # includes digest/home.md, whose changes are not seen otherwise.
        hand = [name for name in _walk_files(built)
                if name.endswith(".html") and not name.startswith(f"{OWNED}/") and name != "404.html"]
        for name in hand:
            new[name] = (built / name).read_bytes()
        # A hand-written page's text is in the index too (the home page lists
        # the newest editions): if its HTML changed, so may its text.
        reindex = SEARCH_PAGES in p.files or any(
            not (site / name).is_file() or (site / name).read_bytes() != new[name] for name in hand)
        said = "search index unchanged"
        if reindex:
            before = previous.result() if previous is not None else read_previous(
                root, docs / SEARCH_PAGES, live_index, directory_urls=directory_urls)
            update = update_from(root, before, built, builder=builder) if before is not None else None
            if update is None:  # no previous index to update: the whole index, as a full build makes it
                index = IndexBuild(docs / SEARCH_PAGES, root, directory_urls=directory_urls)
                said = "search index built afresh (no previous index to update)"
            else:
                said = (f"search index updated for {update.documents} page(s), "
                        f"{len(update.changed) + len(update.removed)} shard(s) rewritten")
        for name in p.files:
            if name != SEARCH_PAGES:
                new[name] = (docs / name).read_bytes()
        removed = {html_name(x) for x in p.removed_pages} | {x for x in p.removed_files if x != SEARCH_PAGES}
        if update is not None:
            removed |= {f"search/shards/{name}.js" for name in update.removed}
        listed = listing.result() if listing is not None else None
        if listed is not None:
            new[SITEMAP], new[SITEMAP + ".gz"] = listed
        hosted = staging[0].ready()
        _unlink(hosted, removed, ("search",) if index is not None else ())
        for name, data in new.items():
            _put(hosted, name, data)
        search: dict[str, bytes] = {}
        if reindex:
            # Material's index file (its configuration) as the partial build wrote it.
            _put(hosted, "search/search_index.json", (built / "search" / "search_index.json").read_bytes())
            if update is not None:
                written = write_search_index(hosted, update.folder, update.changed, update.removed)
            else:
                assert index is not None
                written = write_search_index(hosted, index.finish(hosted))
                index = None
            search = {name: (hosted / name).read_bytes() for name in written}
            search["search/search_index.js"] = b"var __index = " + search["search/search_index.json"]
        prune_empty(hosted)
        _refuse_loads({**new, **search})
        # The hosted edition goes live first: it is what `digest serve` shows.
        swap_in(hosted, site, later=True, spare=spare_of(site))
        swapped.append(hosted)
        on_hosted()
        if update is not None:
            recorded = True
            update.record()
        # The offline edition's changed files, deflated for its zip in
        # threads while this one stages the edition (archive.deflated);
        # only now, so that the hosted edition goes live no later.
        changed_offline = {name: offline_page(name, data) for name, data in new.items() if in_offline(name)}
        changed_offline.update(search)
        zipping = ThreadPoolExecutor(2, thread_name_prefix="digest-zip")
        made = {name: zipping.submit(deflated, name, data) for name, data in changed_offline.items()}
        off = staging[1].ready()
        _unlink(off, removed, ("search",) if reindex and update is None else ())
        for name, data in changed_offline.items():
            if name in search and (site / name).is_file():
                # The hosted edition's file, the same bytes (28 MB of shards
                # and result list after an article is added at 10,000).
                link_unlinked(site / name, off / name)
            else:
                _put(off, name, data)
        prune_empty(off)
        _refuse_loads({n: d for n, d in changed_offline.items() if n.endswith(".html")})
        zip_tmp = update_zip(zip_path, off, sorted(_walk_files(off), key=entry_order), changed=set(changed_offline),
                             made=made)
        swap_in(off, offline, later=True, spare=spare_of(offline))
        swapped.append(off)
        os.replace(zip_tmp, zip_path)
        zip_tmp = None
        return said
    except Exception:
        if update is not None and not recorded:
            # The build failed after the update (the guard, a swap): the
            # folder is still this run's index, which the full build reuses.
            update.record()
        raise
    finally:
        if mkdocs is not None:
            mkdocs.stop()
        if builder is not None:
            builder.stop()
        if zipping is not None:
            zipping.shutdown(wait=True, cancel_futures=True)
        if early is not None:
            early.shutdown(wait=True, cancel_futures=True)
        if speculated is not None:
            speculated.stop_reading()
        side.shutdown(wait=True, cancel_futures=True)
        if index is not None:
            index.stop()
        for staged in staging:
            if staged.folder not in swapped:
                staged.discard()
        if zip_tmp is not None:
            zip_tmp.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["Plan", "build_date", "context_stamp", "drop_prestarted", "forget", "plan", "prestart", "remember", "speculate",
           "update_editions"]

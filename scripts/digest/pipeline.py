"""The library's entry points: check, generate and build a project.

The CLI and the tests call these same functions.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from digest import incremental as incremental_builds
from digest.archive import zip_tree
from digest.audience import Restricted, Settings, read_settings, restrict
from digest.code import stamp_code
from digest.fsutil import (
    PARKED,
    clear_stale,
    give_back_memory,
    identity,
    in_child,
    new_folder,
    project_lock,
    recover,
    release_removals,
    removals_held,
    settled,
    swap_in,
)
from digest.limits import Limits
from digest.load import Known, load
from digest.memo import MEMO_FILE, MODEL_FILE, Memo, generator_version, open_memo, open_model, save_memo, save_model
from digest.model import OWN_FIELDS, Delivery, Digest, Texts, add, build, corrected_key, patch, placement_key
from digest.names import CACHE
from digest.printed import PRINT_STEP, print_briefs
from digest.problems import BuildFailed, CheckFailed, Problem, Severity
from digest.progress import QUIET, Progress
from digest.reading import Refused, links_leaving, read_file
from digest.render import HOME_SNIPPET, render_all
from digest.render.common import BRIEFS
from digest.render.feeds import render_feeds
from digest.render.reuse import Changes, Page, Reuse, changes
from digest.render.search import SEARCH_PAGES, patched_script, previous_lines, search_script
from digest.searchindex import location
from digest.site import edition_settings, mkdocs_build, offline_from_hosted, offline_page, rewriter
from digest.text import Paragraph
from digest.validate import Annotation, validate
from digest.write import MANIFEST, WriteReport, is_fresh, manifest_stats, reusable, stage_for, write_tree

SHIM_SOURCE = Path("node_modules/iframe-worker/shim/index.js")
# Served from the site itself; Material's offline plugin then skips its CDN copy
# because the path contains "iframe-worker".
SHIM_TARGET = "digest/assets/iframe-worker/shim.js"
# The search engine and the worker that answers Material's search box.
ASSETS = {
    "digest/assets/search/minisearch.js": Path("node_modules/minisearch/dist/umd/index.js"),
    SHIM_TARGET: SHIM_SOURCE,
}
WORKER = Path(__file__).parent / "assets" / "search-worker.js"
TOKENIZE = Path(__file__).parent / "assets" / "search-tokenize.js"  # the worker's and build-index.mjs' word splitting
ASSET_LIMIT = 16 * 2**20  # each npm asset is well under 1 MiB


@dataclass(frozen=True)
class Project:
    """Where a project's parts live; all relative to its root folder."""

    root: Path

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def offline(self) -> Path:
        return self.root / "dist" / "offline"

    @property
    def offline_zip(self) -> Path:
        return self.root / "dist" / "offline.zip"

    @property
    def briefs(self) -> Path:
        return self.root / "dist" / "briefs"


@dataclass(frozen=True)
class Options:
    strict: bool = False
    drafts: bool = False
    limits: Limits = field(default_factory=Limits)
    progress: Progress = field(default=QUIET, compare=False)
    # The TLP label the edition is for (digest.audience); "": the full
    # edition; None: as the configuration says (extra.digest.audience).
    audience: str | None = None
    # A printed brief for every edition, not only the newest
    # (extra.digest.print.newest).
    all_briefs: bool = False


@dataclass
class Model:
    """What a build made, for the next build to patch (digest.model.patch)
    rather than make again, when all that changed is a few articles' own
    fields (model.OWN_FIELDS: title, summary, key points, assessment,
    quotes..., the analyst's most frequent edits): the inputs it was made
    from, the Digest and the cross-check's problems, and what generating
    its pages learned (which articles each page's key read, the search
    documents' keys), so that after any other change the next build makes
    keys only for the pages that read what changed (render.reuse.changes).
    `digest serve` keeps it in memory (Warm), `digest
    build` in the cache (memo.save_model). Valid while docs/digest/'s
    manifest is the one its build wrote."""

    inputs: tuple[object, ...]  # the options and settings
    digest: Digest
    problems: tuple[Problem, ...]  # model.build's (validation's are made again each time)
    annotations: dict[str, Annotation]
    seeds: dict[str, tuple[str, str, bytes]]  # id -> path, format, hash of the bytes
    registries: dict[str, object]  # the registries as checked: their entries and where each is written
    withheld: frozenset[str]
    # How the Digest differs from the one docs/digest/ was last generated
    # from (render.reuse.Changes); None: not known, every page's key is made.
    changes: Changes | None = None
    patched: bool = False  # made by model.patch from the last build's
    readers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Reuse.reads, of every page
    # The salt (_salt) of the keys docs/digest/'s pages were last made with:
    # the code may change under a long-running process.
    salt: str = ""
    lines: dict[str, str] = field(default_factory=dict)  # Reuse.lines
    manifest: tuple[int, ...] | None = None  # docs/digest/'s manifest file as written (_manifest_stat)


@dataclass
class Warm:
    """What a process that builds again and again (`digest serve`) keeps
    from one build to the next instead of reading it from disk: the memo of
    its last good build, what it knows of each seed file (digest.load's
    ``known``) and each article's paragraphs (model.Texts). At 10,000
    articles, opening the memo took 0.4 s of each rebuild, reading the
    seeds 0.8 s and splitting and correcting the texts 0.45 s."""

    memo: Memo | None = None
    files: Known = field(default_factory=dict)
    texts: dict[bytes, tuple[Paragraph, ...]] = field(default_factory=dict)  # model.Texts' ``used``
    model: Model | None = None  # the last good build's, valid for docs/digest/ as it wrote them
    pending: Model | None = None  # this build's, until its pages are written
    # Whether each build writes its memo to the cache for a later process
    # (`digest serve`); the build server (digest.daemon) saves when idle.
    saves: bool = True

    def open_memo(self, root: Path) -> Memo:
        """The last good build's memo, carried over; read from the project
        when there is none, or it was made by other code (edited since)."""
        if self.memo is not None and self.memo.version == generator_version():
            return self.memo.carried()
        return open_memo(root)


def warm_up(project: Project, options: Options, warm: Warm) -> None:
    """Fill ``warm`` by checking the seeds, writing nothing: what `digest
    serve` does when its first build had nothing to do (so read nothing),
    so that the first save is seen as soon as the next ones."""
    if warm.memo is not None:
        return
    memo = warm.open_memo(project.root)
    with without_cycle_collection(), suppress(CheckFailed):  # the next save reports the problems
        checked = check(project, options, memo, warm)
        warm.memo = memo
        _learn_pages(project, checked.digest, warm)


def _learn_pages(project: Project, digest: Digest, warm: Warm) -> None:
    """What generating ``digest``'s pages would learn (Model's readers and
    lines), by making the pages' keys only: for warm_up, whose seeds are
    those docs/digest/ was generated from. Nothing is kept unless every
    key is the one docs/digest/'s manifest holds, from the same manifest
    before and after (another process may be writing it)."""
    pending, warm.pending = warm.pending, None
    manifest = _manifest_stat(project.docs)
    if pending is None or manifest is None:
        return
    reuse = Reuse(_salt(digest), reusable(project.docs), reads={})
    render_all(digest, encoded=True, reuse=reuse)
    _search_script(project, digest, reuse)
    if all(reuse.previous.get(p) == k for p, k in reuse.keys.items() if p != SEARCH_PAGES) and \
            _manifest_stat(project.docs) == manifest:
        pending.readers, pending.lines, pending.manifest, pending.salt = reuse.reads or {}, reuse.lines, manifest, \
            reuse.salt
        warm.model = pending


def _manifest_stat(docs: Path) -> tuple[int, ...] | None:
    """docs/digest/'s manifest file's identity: any write replaces it (atomically, a new file)."""
    try:
        return identity(os.stat(docs / "digest" / MANIFEST))
    except OSError:
        return None


@dataclass(frozen=True)
class Checked:
    digest: Digest
    problems: tuple[Problem, ...]


def check(project: Project, options: Options | None = None, memo: Memo | None = None,
          warm: Warm | None = None, lstats: dict[str, os.stat_result] | None = None) -> Checked:
    """Load, validate and model ``seeds/``; raise CheckFailed on any error
    (or any warning with ``strict``). Writes nothing: what an earlier run
    learned is read from ``memo``, and what this one learns is only kept in it."""
    options = options or Options()
    memo = memo or open_memo(project.root)
    settings, wrong = read_settings(project.root / "mkdocs.yml")
    raw = load(project.seeds, display_root=project.root, limits=options.limits, progress=options.progress,
               memo=memo, known=warm.files if warm is not None else None, lstats=lstats)
    if warm is not None:
        warm.files = raw.known
    with options.progress.step("checking annotations", len(raw.annotations)):
        checked = validate(raw, memo)
    # Every file is checked; only what the audience may see goes further.
    audience = edition_audience(options, settings)
    mine = restrict(raw, checked, audience, settings.default_tlp)
    inputs = (options.drafts, options.limits, options.all_briefs, audience, settings)
    model = warm.model if warm is not None else None
    touched: frozenset[str] | None = None
    changed: Changes | None = None
    # What a Model compares and keeps (only a process that keeps one needs them).
    seeds, registries = (_seeds(mine), _registries(mine)) if warm is not None else ({}, {})
    with options.progress.step("cross-checking articles", len(mine.raw.articles)):
        texts = Texts(warm.texts) if warm is not None else None
        # Whether what the last model's pages learned still holds (asked once: it stats docs/digest/'s manifest).
        comparable = model is not None and _comparable(project, model, inputs, mine)
        patched = _patch(model, seeds, registries, mine, memo, texts or Texts(), settings.default_tlp) \
            if model is not None and comparable else None
        if patched is not None:
            digest, more, touched = patched
            if warm is not None and texts is not None and texts.used:  # an added article's
                warm.texts = {**warm.texts, **texts.used}
        else:
            digest, more = build(mine.raw, mine.checked, drafts=options.drafts, memo=memo, withheld=mine.withheld,
                                 default_tlp=settings.default_tlp, audience=audience, texts=texts)
            if warm is not None and texts is not None:
                warm.texts = texts.used
    newest = None if options.all_briefs else settings.print_newest
    printed = tuple(date for date, _ in digest.editions[:newest])
    digest = replace(digest, delivery=Delivery(settings.site_url, settings.site_name, settings.feed_items, printed))
    problems = sorted(set(checked.problems + more + wrong))
    failing = [p for p in problems if p.is_error or (options.strict and p.severity is Severity.WARNING)]
    if failing:
        raise CheckFailed(problems)
    if warm is not None:
        # What changed since the model docs/digest/ was generated from, and so
        # which pages' keys need making (render.reuse): the articles patched,
        # or, for a model built afresh, the difference of the two.
        if touched is not None:
            changed = Changes(touched)
        elif model is not None and comparable:
            changed = changes(model.digest, digest)
        since = model if changed is not None else None  # whose pages' readers and lines still hold
        warm.pending = Model(inputs, digest, tuple(more), mine.checked.annotations, seeds, registries, mine.withheld,
                             changed, patched is not None, readers=since.readers if since else {},
                             salt=since.salt if since else "", lines=since.lines if since else {})
    return Checked(digest, tuple(problems))


def _registries(mine: Restricted) -> dict[str, object]:
    """What the model takes from the registries: their entries as checked
    (an alias changes every article that mentions it) and where each is
    written (the registries' own problems are located by it)."""
    checked = mine.checked
    return {"sources": checked.sources, "entities": checked.entities, "marks": checked.registry_marks}


def _seeds(mine: Restricted) -> dict[str, tuple[str, str, bytes]]:
    """What the model takes from each article file: its path, format and the hash of its bytes."""
    return {i: (s.rel, s.format, s.digest) for i, s in mine.raw.articles.items()}


def _comparable(project: Project, model: Model, inputs: tuple[object, ...], mine: Restricted) -> bool:
    """Whether ``model`` is of the same settings and edition and docs/digest/
    is as its build wrote it: then what its pages learned still holds."""
    return model.inputs == inputs and model.withheld == mine.withheld and model.manifest is not None and \
        model.manifest == _manifest_stat(project.docs)


def _patch(model: Model, seeds: dict[str, tuple[str, str, bytes]], registries: dict[str, object], mine: Restricted,
           memo: Memo, texts: Texts,
           default_tlp: str | None) -> tuple[Digest, list[Problem], frozenset[str] | None] | None:
    """``model``'s Digest (of the same settings and edition, docs/digest/
    as its build wrote it: :func:`_comparable`) patched for the seeds as
    they are now, when all that changed since is some annotations' own
    fields (model.patch; with the articles patched), or articles added
    (:func:`_add`; with None: what changed is found by comparing); else
    None (then the Digest is built). The cross-check's problems of the
    annotations not changed are those ``model`` holds; the changed ones'
    are made again."""
    if registries != model.registries:
        return None
    if seeds != model.seeds:
        return _add(model, seeds, mine, memo, texts, default_tlp)
    annotations = mine.checked.annotations
    if annotations.keys() != model.annotations.keys():
        return None
    changed: dict[str, Annotation] = {}
    for ident, ann in annotations.items():
        old = model.annotations[ident]
        if _same(ann, old):
            continue
        if not (ann.complete and old.complete and ann.values.get("title") and ann.values.get("summary")) or \
                any(ann.values.get(k) != old.values.get(k) for k in ann.values.keys() | old.values.keys()
                    if k not in OWN_FIELDS):
            return None
        changed[ident] = ann
    patched = patch(model.digest, changed, mine.raw, memo=memo, withheld=mine.withheld)
    if patched is None:
        return None
    digest, found = patched
    # What the last build learned of the articles not read here holds for
    # the next build; where the edited articles' old quotes were does not.
    files = mine.raw.articles
    gone = frozenset(placement_key(corrected_key(files[i], model.annotations[i].values.get("corrections") or {}),
                                   model.annotations[i].values) for i in changed)
    memo.keep_unread(("placed", "mentions", "damage", "related"), gone)
    paths = {ann.rel for ann in changed.values()}
    return digest, [p for p in model.problems if p.path not in paths] + found, frozenset(changed)


def _same(ann: Annotation, old: Annotation) -> bool:
    """Whether an annotation reads as ``old`` did: an unchanged file's
    outcome is the one the last build had (the same objects: load's
    ``known``), so this is mostly ``is``."""
    return (ann.values is old.values or ann.values == old.values) and \
        (ann.marks is old.marks or ann.marks == old.marks) and ann.complete == old.complete


def _add(model: Model, seeds: dict[str, tuple[str, str, bytes]], mine: Restricted, memo: Memo, texts: Texts,
         default_tlp: str | None) -> tuple[Digest, list[Problem], frozenset[str] | None] | None:
    """``model``'s Digest with the articles added since brought in
    (model.add), when that is all that changed: every article it was built
    from is as it was, and each one added is annotated, complete, shown
    (not a draft) and has a text. Else None (then the Digest is built)."""
    added = seeds.keys() - model.seeds.keys()
    if not added or any(seeds.get(ident) != seed for ident, seed in model.seeds.items()):
        return None
    annotations = mine.checked.annotations
    if annotations.keys() != model.annotations.keys() | added or \
            not all(_same(annotations[ident], old) for ident, old in model.annotations.items()):
        return None
    new = {ident: annotations[ident] for ident in added}
    if not all(ann.complete and not ann.values.get("draft") and ann.values.get("title") and
               ann.values.get("summary") and ann.values.get("source") and mine.raw.articles[ident].digest
               for ident, ann in new.items()):
        return None
    made = add(model.digest, new, mine.raw, mine.checked, model.annotations, memo=memo, withheld=mine.withheld,
               default_tlp=default_tlp, texts=texts)
    if made is None:
        return None
    # The last ranking is carried over as the last full build kept it: the
    # articles added since are what model.add and a later build's
    # _rank_added rank from it (keeping this one's cost 0.1 s of repr).
    memo.keep_unread(("placed", "mentions", "damage", "related"))
    digest, found = made
    return digest, list(model.problems) + found, None


def plan(project: Project, digest: Digest, progress: Progress = QUIET, reuse: Reuse | None = None) -> dict[str, Page]:
    """Everything the generator owns under docs/: pages plus the served shim.

    Pages are held as UTF-8 bytes (see render_all). The search documents are
    made first: their encoding needs about twice their size for a moment
    (180 MB of them at 10,000 long articles), and before the pages that
    moment is not added to the pages' memory.
    """
    # A run that patches the last one's model (the analyst's loop) sets its
    # briefs in a thread while it renders the pages: Typst releases the GIL,
    # and setting a brief took 0.05 s of an edit of the newest edition.
    # Other runs set them in turn, so that their progress step times them.
    briefing = ThreadPoolExecutor(1, thread_name_prefix="digest-briefs") \
        if reuse is not None and reuse.changes is not None else None
    try:
        briefs = briefing.submit(print_briefs, project.root, digest) if briefing is not None else None
        files = _plan(project, digest, progress, reuse)
        if briefs is None:
            files.update(print_briefs(project.root, digest, progress))
        else:
            with progress.step(PRINT_STEP):
                files.update(briefs.result())
    finally:
        if briefing is not None:
            briefing.shutdown(wait=True, cancel_futures=True)
    return files


def _plan(project: Project, digest: Digest, progress: Progress, reuse: Reuse | None) -> dict[str, Page]:
    """:func:`plan` but for the printed briefs."""
    script = _search_script(project, digest, reuse)
    files: dict[str, Page] = render_all(digest, progress, encoded=True, reuse=reuse)
    for target, source in ASSETS.items():
        if not (project.root / source).is_file():
            raise BuildFailed(f"{source} is missing: run 'make setup' (it runs 'npm ci') first")
        try:
            files[target] = read_file(project.root / source, ASSET_LIMIT)
        except Refused as exc:
            raise BuildFailed(f"{source}: {exc.message}; run 'npm ci' to install it again") from None
    files["digest/assets/search/worker.js"] = WORKER.read_bytes()
    files["digest/assets/search/tokenize.js"] = TOKENIZE.read_bytes()
    files[SEARCH_PAGES] = script
    with progress.step(FEEDS_STEP):
        files.update(render_feeds(digest, reuse))
    return files


def _search_script(project: Project, digest: Digest, reuse: Reuse | None) -> bytes:
    """pages.js, its documents keyed by what they are made from; with
    ``reuse``, those the last run's pages.js holds (as that run wrote it)
    are taken from it."""
    if reuse is None:
        return search_script(digest)
    previous: dict[str, bytes] = {}
    # Its lines carry their own keys; the file's is there for reusable().
    reuse.keys[SEARCH_PAGES] = "lines"
    if SEARCH_PAGES in reuse.previous:  # as the last run wrote it (reusable checked its size and time)
        with suppress(OSError):
            with open(project.docs / SEARCH_PAGES, "rb") as f:
                known, script = identity(os.fstat(f.fileno())), f.read()
            if reuse.changes is not None:
                patched = patched_script(script, digest, reuse, (project.docs / SEARCH_PAGES, known))
                if patched is not None:
                    return patched
            previous = previous_lines(script)
    return search_script(digest, reuse.salt, previous, reuse)


def fingerprint(project: Project, options: Options, lstats: dict[str, os.stat_result] | None = None) -> str:
    """What decides the generated tree: every seed file's name, size and time,
    the served shim, the generator's own code, and the options.

    Like make, it trusts file times; a run with the same fingerprint whose
    outputs are untouched has nothing to do. Given ``lstats``, the seeds'
    listing is put there, each name with its lstat (for load: see
    reading.Folder); it stays empty when there is no seeds folder.
    """
    settings, _ = read_settings(project.root / "mkdocs.yml")
    h = hashlib.sha256(repr((options.drafts, options.strict, options.limits, edition_audience(options, settings),
                             options.all_briefs, settings)).encode())
    if project.seeds.is_dir():
        # os.scandir: at 20,000 seed files pathlib's overhead costs more than the stats.
        with os.scandir(project.seeds) as entries:
            # The links themselves, not their targets: a link may be dangling or
            # lead out of seeds/, which the check then reports.
            for name, st in sorted((e.name, e.stat(follow_symlinks=False)) for e in entries):
                h.update(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
                if lstats is not None:
                    lstats[name] = st
    stamp_code(h)
    for source in ASSETS.values():
        if (project.root / source).exists():
            h.update(str((project.root / source).stat().st_mtime_ns).encode())
    return h.hexdigest()


def tidy(project: Project) -> None:
    """Remove what a killed run left behind (staging folders, a half swap).
    Call only under the project lock, before deciding whether work is needed."""
    recover(project.docs / "digest")
    clear_stale(project.docs, ".digest.staging-")
    for dest in (project.site, project.offline):
        recover(dest)
        clear_stale(dest.parent, f".{dest.name}.building-")
    clear_stale(project.offline_zip.parent, f".{project.offline_zip.name}.")  # archive.ZipWriter's, update_zip's
    recover(project.briefs)
    clear_stale(project.briefs.parent, f".{project.briefs.name}.building-")
    clear_stale(project.root / CACHE, "digest-partial-")  # incremental.update_editions' work folder
    clear_stale(project.root / CACHE, PARKED)  # a swapped-out docs/digest/ being deleted
    clear_stale(project.root / MEMO_FILE.parent, f".{MEMO_FILE.name}.")  # an unfinished memo write
    clear_stale(project.root / MODEL_FILE.parent, f".{MODEL_FILE.name}.")  # an unfinished model write
    (project.root / incremental_builds.PARTIAL_CONFIG).unlink(missing_ok=True)


def _salt(digest: Digest) -> str:
    """What every page's key holds: the generator's version and the delivery
    settings but the editions that have a printed brief, which only their
    edition pages show (render.reuse.Reuse.edition keys them): a new
    newest edition would otherwise make every key again."""
    return f"{generator_version()}\0{replace(digest.delivery, printed=())!r}"


def generate(project: Project, digest: Digest, options: Options | None = None, stamp: str | None = None,
             warm: Warm | None = None,
             rendered: Callable[[dict[str, Page]], Callable[[], None] | None] | None = None) -> WriteReport:
    """Write docs/digest/ for ``digest``. ``stamp``: the inputs' fingerprint
    taken before they were read (run_build's), which the manifest records;
    taken now if not given. ``warm``: check's, whose ``pending`` Model this
    completes and keeps once the pages are written. ``rendered`` is given
    the files once rendered, before they are written; what it returns, if
    anything, is called once they are."""
    options = options or Options()
    stamp = stamp or fingerprint(project, options)
    # Pages made from the same inputs as the last run's are kept, not
    # rendered again (digest.render.reuse).
    reuse = Reuse(_salt(digest), reusable(project.docs))
    pending = warm.pending if warm is not None else None
    if warm is not None:
        warm.pending = None
    if pending is not None:
        reuse.reads = {}
        if pending.changes is not None and pending.salt == reuse.salt:  # only the pages that read what changed
            reuse.changes = known = pending.changes
            reuse.affected = frozenset(p for p, ids in pending.readers.items() if not known.articles.isdisjoint(ids))
            reuse.lines_before = pending.lines
    staged = stage_for(project.docs, park=project.root / CACHE)  # linked while the pages are rendered
    try:
        files = plan(project, digest, options.progress, reuse)
        written = rendered(files) if rendered is not None else None
    except BaseException:
        staged.discard()
        raise
    with options.progress.step("writing docs/digest/", len(files)):
        report = write_tree(project.docs, files, fingerprint=stamp, keys=reuse.keys, staged=staged,
                            park=project.root / CACHE, splices=reuse.splices)
    if written is not None:
        written()
    if warm is not None and pending is not None:
        # The pages kept read what they read before; the others, what they read now.
        now = reuse.reads or {}
        read = {**pending.readers, **now} if reuse.changes is not None else now
        pending.readers = {path: ids for path, ids in read.items() if path in reuse.keys}
        pending.lines, pending.manifest, pending.salt = reuse.lines, _manifest_stat(project.docs), reuse.salt
        warm.model = pending
    return report


FEEDS_STEP = "making the feeds"
NO_FEEDS = ("no feeds: mkdocs.yml has no site_url, and feeds need the site's address "
            "(set site_url to where the hosted edition is published)")

# The progress steps of a build; the bench reads their times by these names.
HOSTED_STEP = "building the hosted edition (MkDocs)"
INCREMENTAL_STEP = "building the changed pages of both editions"
NO_BUILD = "no build needed"
OFFLINE_STEP = "building the offline edition"


# Told when the hosted edition's new pages are live, before the build ends
# (the offline edition and the zip come after): the hosted pages that
# changed (URLs), or None for any of them. `digest serve` reloads them then.
Live = Callable[[tuple[str, ...] | None], None]


@dataclass(frozen=True)
class SiteBuilt:
    """Which kind of site build ran and why, and the hosted pages (their
    URLs relative to the site) it changed or removed; None: any of them."""

    how: str
    pages: tuple[str, ...] | None = None


@contextmanager
def digest_date(docs: Path) -> Iterator[None]:
    """The build's date, for MkDocs' children: the newest edition's.

    MkDocs dates every page of the sitemap (and the sitemap's gzip header)
    with the day of the build unless SOURCE_DATE_EPOCH says otherwise; the
    digest's date makes the same seeds give the same site on any day, which
    an incremental build needs. A SOURCE_DATE_EPOCH already set is kept.
    """
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = incremental_builds.build_date(docs)
    try:
        yield
    finally:
        del os.environ["SOURCE_DATE_EPOCH"]


def build_site(project: Project, *, hosted: bool = True, offline: bool = True, progress: Progress = QUIET,
               incremental: bool = True, live: Live | None = None) -> SiteBuilt:
    """Run MkDocs for the chosen editions; zip the offline one. Both
    editions are built incrementally when that is known to give the bytes a
    full build gives (digest.incremental)."""
    with digest_date(project.docs):
        built = _build_site(project, hosted=hosted, offline=offline, progress=progress, incremental=incremental,
                            live=live or (lambda _pages: None))
    if hosted:
        publish_briefs(project.site / BRIEFS, project.briefs)
    return built


def publish_briefs(built: Path, dest: Path) -> None:
    """dist/briefs/: the hosted edition's printed briefs, for sending on
    (replaced whole, as the editions are; nothing when there are none)."""
    if not built.is_dir():
        shutil.rmtree(dest, ignore_errors=True)
        return
    if dest.is_dir() and sorted(os.listdir(dest)) == sorted(os.listdir(built)) and all(
            (dest / n).read_bytes() == (built / n).read_bytes() for n in os.listdir(built)):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = new_folder(dest.parent, f".{dest.name}.building-")
    try:
        for name in sorted(os.listdir(built)):
            shutil.copyfile(built / name, stage / name)
        swap_in(stage, dest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _build_site(project: Project, *, hosted: bool, offline: bool, progress: Progress, incremental: bool,
                live: Live) -> SiteBuilt:
    hosted_config, offline_config = project.root / "mkdocs.yml", project.root / "mkdocs.offline.yml"
    # MkDocs copies docs/ and overrides/ into the site, following links:
    # one that leads out of the project would publish whatever it points at.
    leaving = [found for folder in (project.docs, project.root / "overrides") if folder.is_dir()
               for found in links_leaving(folder, project.root, skip=project.docs / "digest")]
    if leaving:
        raise BuildFailed("refusing to build; the site would hold files from outside the project:\n  "
                          + "\n  ".join(leaving) + "\nreplace each link with a copy of the file, or remove it")
    outputs = {"site": project.site, "offline": project.offline, "zip": project.offline_zip}
    both = hosted and offline
    reason = "one edition was asked for" if not both else "the incremental build is off"
    decided: incremental_builds.Plan | None = None
    settings: dict[str, Any] | None = None
    if both and incremental:
        decided = incremental_builds.plan(project.root, project.docs, outputs)
        reason = decided.reason
        if decided.kind == "none":
            # The outputs are those of the last build, from the same inputs
            # (the configurations among them): whatever kind it was.
            return SiteBuilt(f"{NO_BUILD}: {reason}", ())
        # Read only now (loading the MkDocs configuration took a quarter of
        # a build with nothing to do), and only when the last build's
        # record does not hold them for the same configurations.
        settings = decided.settings or edition_settings(hosted_config, offline_config)
        directory_urls = settings["directory_urls"]
        if settings["features"] is None:
            reason = "mkdocs.offline.yml differs from mkdocs.yml in more than the offline settings"
        elif decided.kind == "incremental":
            try:
                with progress.step(INCREMENTAL_STEP):
                    index_said = incremental_builds.update_editions(
                        project.root, project.docs, hosted_config, decided, project.site, project.offline,
                        project.offline_zip, directory_urls=directory_urls, nav=set(settings["nav"]),
                        offline_page=offline_page(rewriter(*settings["features"])), site_url=settings["site_url"],
                        on_hosted=lambda: live(_urls(decided, directory_urls)))
            except BuildFailed as exc:
                reason = f"the incremental build failed ({str(exc).splitlines()[0]})"
            else:
                incremental_builds.remember(project.root, outputs, decided.docs_stats, decided.context, settings)
                return SiteBuilt(f"incremental build: {reason}; {index_said}", _urls(decided, directory_urls))
    # MkDocs started for an incremental build, or on the rendered pages
    # (incremental.speculate), would only take a core from the full build.
    incremental_builds.drop_prestarted()
    # A full build replaces the outputs: until it has finished, nothing
    # about them is known.
    incremental_builds.forget(project.root)
    # Known already when the build was planned; nothing has changed since.
    context = decided.context if decided is not None else incremental_builds.context_stamp(project.root)
    stats = decided.docs_stats if decided is not None else manifest_stats(project.docs, "digest")
    if hosted:
        with progress.step(HOSTED_STEP):
            mkdocs_build(hosted_config, project.site)
        live(None)
    if offline:
        with progress.step(OFFLINE_STEP):
            # From the hosted edition just built when the configurations
            # allow (site.offline_from_hosted), else by MkDocs.
            if not (hosted and offline_from_hosted(hosted_config, project.site, offline_config, project.offline,
                                                   project.offline_zip)):
                mkdocs_build(offline_config, project.offline)
                zip_tree(project.offline, project.offline_zip)
    if both:
        # The configurations are those the build ran with (the context says so).
        settings = settings or edition_settings(hosted_config, offline_config)
        incremental_builds.remember(project.root, outputs, stats, context, settings)
    return SiteBuilt(f"full build: {reason}")


def _urls(decided: incremental_builds.Plan, directory_urls: bool) -> tuple[str, ...]:
    """The hosted pages an incremental build changed: its Markdown pages'
    URLs (the home page for its included snippet)."""
    urls = {location(src, directory_urls) for src in (*decided.pages, *decided.removed_pages)}
    if HOME_SNIPPET in decided.pages:  # docs-relative, as the plan names pages
        urls.add(location("index.md", directory_urls))
    return tuple(sorted(urls))


@dataclass(frozen=True)
class Built:
    """What one ``digest generate`` or ``digest build`` did."""

    problems: tuple[Problem, ...]  # warnings (errors raise CheckFailed)
    report: WriteReport | None  # None when seeds/ had not changed since the last run
    counts: str  # the articles and editions generated, when they were
    how: str  # which kind of site build ran, and why ("" for generate)
    seconds: float
    learned: str = ""  # what generation reused from the last run, or why it reused nothing
    pages: tuple[str, ...] | None = None  # hosted pages changed (URLs); None: any may have
    notes: tuple[str, ...] = ()  # what the user should know about the run (said once)

    @property
    def changed(self) -> bool:
        """Whether any output may have changed."""
        return bool(self.report and (self.report.written or self.report.removed)) or \
            (bool(self.how) and not self.how.startswith(NO_BUILD))


def counts(digest: Digest) -> str:
    said = (f"{len(digest.reviewed)} reviewed, {len(digest.unreviewed)} unreviewed articles in "
            f"{len(digest.editions)} editions")
    if digest.audience:
        said += f" for TLP:{digest.audience}"
    if digest.dropped_related:
        said += f"; {digest.dropped_related} related link(s) to withheld articles left out"
    return said


def edition_audience(options: Options, settings: Settings, edition: str = "hosted") -> str | None:
    """The audience an edition is built for: --audience, else the
    configuration's for that edition, else None (the full edition)."""
    if options.audience is not None:
        return options.audience or None
    return settings.audience.get(edition)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a corpus is read and rendered, and
    the editions built.

    Generation builds millions of objects that live until it ends (YAML
    nodes, the model, the pages), and the collector scanned them again each
    time the heap had grown by a quarter: at 10,000 articles that was 4 of
    23 s, and reading took 6.3 s with it against 3.5 s without. The run
    makes almost no cyclic garbage: a collection after generating 10,000
    articles, with or without the memo, found 10 unreachable objects (peak
    memory is the same either way). What is still alive on the way out is
    moved out of the collector's sight (``gc.freeze``), so that turning it
    back on does not scan it all once more: the first collection after
    that took 0.4 s, and the collection run_build then asked for 0.3 s,
    after every edit. The few cyclic objects such a run leaves are not
    collected.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_memo_saved: list[Callable[[], bool]] = []  # the memo being saved (in_child's waits)


def _check_and_generate(project: Project, options: Options, stamp: str, warm: Warm | None,
                        lstats: dict[str, os.stat_result] | None = None,
                        rendered: Callable[[dict[str, Page]], Callable[[], None] | None] | None = None,
                        ) -> tuple[tuple[Problem, ...], WriteReport, str, str, Memo]:
    """A function of its own so that the corpus and the model are freed when
    it returns; what the run learned is returned, for run_build to save (a
    run that fails leaves the last memo as it was)."""
    memo = warm.open_memo(project.root) if warm is not None else open_memo(project.root)
    checked = check(project, options, memo, warm, lstats)
    report = generate(project, checked.digest, options, stamp, warm, rendered)
    learned = memo.summary()
    if warm is not None:
        warm.memo = memo
        if warm.model is not None and warm.model.patched and warm.model.changes is not None:
            learned += f"; patched the last build's model ({len(warm.model.changes.articles)} article(s) changed)"
    return checked.problems, report, counts(checked.digest), learned, memo


def _stored_model(root: Path) -> Model | None:
    """The model the last `digest build` left in the cache (memo.save_model),
    when it is one: a new process has none in memory to patch."""
    fields = open_model(root)
    if fields is None or len(fields) != len(dataclasses.fields(Model)):
        return None
    model = Model(*fields)  # type: ignore[arg-type]  # checked below
    maybe = type(None)
    shapes: tuple[type | tuple[type, ...], ...] = (tuple, Digest, tuple, dict, dict, dict, frozenset,
                                                   (Changes, maybe), bool, dict, str, dict, (tuple, maybe))
    return model if all(isinstance(getattr(model, f.name), shape)
                        for f, shape in zip(dataclasses.fields(Model), shapes, strict=True)) else None


def save_learned(root: Path, warm: Warm) -> None:
    """What ``warm``'s builds learned, for a later new process (digest.daemon's idle save)."""
    if warm.memo is not None:
        _save_learned(root, warm.memo, warm.model)


def _save_learned(root: Path, memo: Memo, model: Model | None) -> None:
    """What a run learned, for the next run: the memo, and the model when the run has one."""
    save_memo(root, memo)
    if model is not None:
        save_model(root, tuple(getattr(model, f.name) for f in dataclasses.fields(Model)))


@contextmanager
def _mkdocs_ready(project: Project, wanted: bool) -> Iterator[Callable[[], None]]:
    """The block gets a function that starts a MkDocs process for its
    incremental build (incremental.prestart), called once the run knows it
    generates: a run with nothing to do starts none. The process is
    started only when ``wanted`` and the editions exist (so that there may
    be an incremental build), and ended with the block if no build used it."""

    def start() -> None:
        if wanted and project.site.is_dir() and project.offline.is_dir():
            incremental_builds.prestart(project.root, project.root / "mkdocs.yml")

    try:
        yield start
    finally:
        incremental_builds.drop_prestarted()


def run_build(project: Project, options: Options, *, hosted: bool = True, offline: bool = True,
              incremental: bool = True, site: bool = True, live: Live | None = None, warm: Warm | None = None) -> Built:
    """Check, generate and (with ``site``) build the editions, under the
    project lock: what ``digest generate``, ``digest build`` and ``digest
    serve`` do (serve passes the same ``warm`` to each build). Raises
    CheckFailed (nothing written), Busy or BuildFailed."""
    started = time.perf_counter()
    settings, _ = read_settings(project.root / "mkdocs.yml")
    for_hosted, for_offline = (edition_audience(options, settings, e) for e in ("hosted", "offline"))
    if site and hosted and offline and for_hosted != for_offline:
        # Editions for different audiences come from different Markdown:
        # each edition is generated and built on its own, in turn.
        first = run_build(project, replace(options, audience=for_hosted or ""), offline=False, live=live, warm=warm)
        second = run_build(project, replace(options, audience=for_offline or ""), hosted=False, warm=warm)
        return Built(first.problems + second.problems, second.report, f"{first.counts}; offline: {second.counts}",
                     f"the editions are for different audiences; hosted: {first.how}; offline: {second.how}",
                     time.perf_counter() - started, second.learned, notes=first.notes)
    # The trees swapped out are kept as spares (fsutil.spare_of) or deleted
    # meanwhile (fsutil.remove_soon), and gone before the lock is let go,
    # however the run ends.
    with project_lock(project.root), settled(), removals_held(), without_cycle_collection(), \
            _mkdocs_ready(project, site and hosted and offline and incremental) as start_mkdocs:
        tidy(project)
        problems: tuple[Problem, ...] = ()
        report: WriteReport | None = None
        said = learned = ""
        memo: Memo | None = None
        # Taken once, before the seeds are read: a seed saved while this run
        # reads them then makes the next run's fingerprint differ.
        seen: dict[str, os.stat_result] = {}
        stamp = fingerprint(project, options, seen)
        kept: Model | None = None  # the model this run made, kept for the next `digest build`
        if not is_fresh(project.docs, stamp):
            start_mkdocs()
            # A new process (`digest build`) patches the model the last one
            # left, if it can, as `digest serve` patches its own.
            cold = warm is None
            run_warm = warm if warm is not None else Warm(model=_stored_model(project.root))
            # MkDocs may start on the changed pages as soon as they are
            # rendered (incremental.speculate), beside their writing.
            speculate = partial(incremental_builds.speculate, project.root, project.docs, project.root / "mkdocs.yml",
                                project.site) if site and hosted and offline and incremental else None
            # The seeds' listing and lstats the fingerprint took, for load,
            # unless there was no seeds folder then (load looks for itself).
            problems, report, said, learned, memo = _check_and_generate(project, options, stamp, run_warm,
                                                                        seen or None, speculate)
            if cold:
                kept = run_warm.model
                del run_warm  # the seeds as read and the paragraphs: freed with the corpus
        # The corpus is gone by now (freed as it was let go; the memory
        # handed back to the system here), so the site build's own work does
        # not add to it; MkDocs and Node run as child processes. The model
        # is kept until the child below has it (`digest build` only).
        give_back_memory()
        # Pickled in a child while the editions are built (0.5 s at 10,000
        # articles, and 0.7 s for the model); forked only now, once the
        # corpus is freed, so that the child shares little more than what it
        # writes. Forked before, it kept the model's pages while this
        # process freed them: `digest generate`'s peak at 10,000 articles
        # was 1,482 MB, against 1,094 MB forked here, and 978 MB with the
        # memo pickled in this process (no child at all).
        save = [partial(_save_learned, project.root, memo, kept)] if memo is not None and \
            (warm is None or warm.saves) else []
        memo = kept = None

        def saving() -> None:
            while save:
                _memo_saved.append(in_child(save.pop()))

        if warm is None:
            saving()
        # `digest serve` (``warm``) keeps its memo in memory; the file is for
        # the next new process, and its child is forked once the hosted
        # edition is live: pickling beside MkDocs slowed it (0.36 to 0.47 s,
        # against 0.29 to 0.41 s), and the page showed the save 0.1 s later
        # (medians of ten saves each way). The build then ends 0.2 s later.
        told = live or (lambda _pages: None)

        def hosted_live(pages: tuple[str, ...] | None) -> None:
            release_removals()
            told(pages)
            saving()

        try:
            ran = build_site(project, hosted=hosted, offline=offline, progress=options.progress,
                             incremental=incremental, live=hosted_live) if site else SiteBuilt("")
        finally:
            saving()
            while _memo_saved:
                _memo_saved.pop()()
    notes = () if settings.site_url else (NO_FEEDS,)
    return Built(problems, report, said, ran.how, time.perf_counter() - started, learned, ran.pages, notes)

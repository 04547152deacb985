"""Stage 5: the only module that writes under ``docs/``.

It plans the whole output in memory first and refuses paths outside its
folder or generated files that would replace files it did not create. It then
stages the complete new tree beside the live one (unchanged files and files
it did not create are hard-linked, so they keep their content and timestamps)
and swaps it in atomically: a reader, or a run killed at any instant, sees the
old tree or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from digest.fsutil import LinkedCopy, Splice, atomic_write, clear_stale, prune_empty, recover, swap_in, write_unlinked
from digest.problems import WriteRefused
from digest.render.reuse import Kept, Page

MANIFEST = ".digest-manifest.json"  # a dot-file: MkDocs never publishes it


@dataclass(frozen=True)
class WriteReport:
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]


def _check_path(path: str, owned: str) -> None:
    norm = posixpath.normpath(path)
    if (norm != path or path.startswith("/") or ".." in path.split("/")
            or not path.startswith(owned + "/") or "\\" in path or "\x00" in path):
        raise WriteRefused(f"refusing to write {path!r}: outside {owned}/ or not a normal relative path")


def _read_manifest(docs: Path, owned: str) -> dict[str, object]:
    path = docs / owned / MANIFEST
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {"files": {p: None for p in data}}


def manifest_stats(docs: Path, owned: str) -> dict[str, list[int | str] | None]:
    """Each generated file's size, time and content hash as the last run
    left it (paths relative to docs/); the incremental build compares two of
    these."""
    try:
        files = _read_manifest(docs, owned).get("files")
    except (OSError, ValueError):
        return {}
    return dict(files) if isinstance(files, dict) else {}


def reusable(docs: Path, owned: str = "digest") -> dict[str, str]:
    """Each keyed page the last run wrote (digest.render.reuse) whose file
    still has the size and time it had then, with its key."""
    try:
        files = _read_manifest(docs, owned).get("files")
    except (OSError, ValueError):
        return {}
    if not isinstance(files, dict):
        return {}
    base = f"{docs}{os.sep}"
    return {p: st[3] for p, st in files.items()
            if isinstance(st, list) and len(st) == 4 and isinstance(st[3], str) and _stat(base + p) == st[:2]}


def _stat(path: Path | str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


def is_fresh(docs: Path, fingerprint: str, owned: str = "digest") -> bool:
    """True when the last run had the same inputs and its outputs are untouched,
    so a regeneration would write nothing (checked by file sizes and times)."""
    data = _read_manifest(docs, owned)
    if not fingerprint or data.get("fingerprint") != fingerprint:
        return False
    files = data.get("files")
    base = f"{docs}{os.sep}"  # plain strings: pathlib costs more than the stat at 10,000 files
    return isinstance(files, dict) and all(isinstance(st, list) and _stat(base + p) == st[:2] for p, st in files.items())


def _content_hash(data: bytes) -> str:
    # SHA-256 runs at about 1.6 GB/s here (CPU instructions): 0.1 s for the
    # pages of 10,000 articles, where reading them back took 2 to 5 s.
    return hashlib.sha256(data).hexdigest()[:32]


def stage_for(docs: Path, owned: str = "digest", park: Path | None = None) -> LinkedCopy:
    """Begin the staging folder of ``docs/<owned>/`` for :func:`write_tree`:
    finish or clear what a killed run left, then link every live file into
    a new folder, in a thread (start it before rendering, which goes on
    meanwhile). The caller must pass it to write_tree (with the same
    ``park``, where the tree swapped out is kept for the next run) or
    discard it."""
    live = docs / owned
    recover(live)
    staging_prefix = f".{owned}.staging-"
    clear_stale(docs, staging_prefix)
    docs.mkdir(parents=True, exist_ok=True)
    stage = docs / f"{staging_prefix}{os.getpid()}"
    stage.mkdir()
    return LinkedCopy(live, stage, _spare(park, owned))


def _spare(park: Path | None, owned: str) -> Path | None:
    # Not in docs/: a full site build reads all of it.
    return park / f"spare-{owned}" if park is not None else None


def write_tree(docs: Path, files: dict[str, Page], owned: str = "digest", fingerprint: str = "",
               keys: dict[str, str] | None = None, staged: LinkedCopy | None = None,
               park: Path | None = None, splices: dict[str, Splice] | None = None) -> WriteReport:
    """Make ``docs/<owned>/`` hold ``files`` (paths relative to docs/) plus any
    files in it that the generator did not create, which are kept untouched.

    A file given as KEPT is the one the last run wrote, left as it is (it
    must still have its recorded size and time: see :func:`reusable`).
    ``keys``: the pages' keys, recorded for the next run's :func:`reusable`.
    ``staged``: :func:`stage_for`'s, started earlier; made here if not given.
    It is used up either way (swapped in, or removed). ``park``: where the
    previous tree is kept for the next run, or (when that place is taken)
    deleted in the background (fsutil.swap_in); the caller then waits for
    it with fsutil.settle. ``splices``: pages written by copying parts of
    a file (fsutil.Splice), by path."""
    staged = staged or stage_for(docs, owned, park)
    try:
        return _write_tree(docs, files, owned, fingerprint, keys or {}, staged, park, splices or {})
    except BaseException:
        staged.discard()
        raise


def _write_tree(docs: Path, files: dict[str, Page], owned: str, fingerprint: str, keys: dict[str, str],
                staged: LinkedCopy, park: Path | None, splices: dict[str, Splice]) -> WriteReport:
    folded: dict[str, str] = {}
    for path in files:
        _check_path(path, owned)
        # Two paths equal but for case would overwrite each other on macOS and Windows.
        other = folded.setdefault(path.casefold(), path)
        if other != path:
            raise WriteRefused(f"{other!r} and {path!r} differ only in case")
    live = docs / owned
    # The last run's files, each with its size, time and hash: read once.
    recorded = _read_manifest(docs, owned).get("files") or {}
    assert isinstance(recorded, dict)
    previous = set(recorded)
    foreign = sorted(p for p in files if p not in previous and (docs / p).exists())
    if foreign:
        raise WriteRefused(
            "these files exist but were not generated by Briefing Digest, so they are left alone: "
            + ", ".join(f"docs/{p}" for p in foreign) + f"; move them out of docs/{owned}/")

    written: list[str] = []
    unchanged: list[str] = []
    hashes: dict[str, str] = {}
    stats: dict[str, list[int] | None] = {}  # of the unchanged files, as they are now
    base = f"{docs}{os.sep}"  # plain strings: pathlib costs more than the I/O at 10,000 files
    for path, content in files.items():
        if isinstance(content, Kept):
            last = recorded.get(path)
            if not (isinstance(last, list) and len(last) >= 3 and _stat(base + path) == last[:2]):
                raise WriteRefused(f"docs/{path} changed while the digest was being generated; run the build again")
            hashes[path] = last[2]
            stats[path] = last[:2]
            unchanged.append(path)
            continue
        data = content.encode("utf-8") if isinstance(content, str) else content
        hashes[path] = digest = _content_hash(data)
        # Only a file the last run wrote can be unchanged (any other that
        # exists was refused above). The manifest holds the hash of what
        # that run wrote, with the file's size and time then: if the file
        # still has those, it still holds those bytes, and is not read.
        same = False
        if path in previous:
            last = recorded.get(path)
            now = _stat(base + path)
            if isinstance(last, list) and len(last) >= 3 and now == last[:2]:
                # As that run wrote it: the same bytes exactly when the hashes are.
                same = last[2] == digest
            else:
                try:
                    with open(base + path, "rb") as f:
                        same = f.read() == data
                except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                    pass
            stats[path] = now
        (unchanged if same else written).append(path)
    removed = sorted(p for p in previous - set(files) if (docs / p).is_file())
    if not written and not removed:
        # Nothing to swap; only remember the fingerprint so the next run can skip.
        staged.discard()
        atomic_write(live / MANIFEST, _manifest(fingerprint, {p: _with_hash(stats[p], hashes[p], keys.get(p))
                                                              for p in sorted(files)}))
        return WriteReport((), len(unchanged), ())

    # The staged folder holds a link to every live file: the unchanged ones
    # (which keep their size and time), and those the generator did not
    # create, which travel along untouched.
    stage = staged.ready()
    cut = len(owned) + 1
    for path in previous - set(files):
        (stage / path[cut:]).unlink(missing_ok=True)
    for path in written:
        content = files[path]
        assert not isinstance(content, Kept)  # a kept file is unchanged
        # Encoded again rather than kept from the comparison above: holding
        # every page twice would cost hundreds of MB at 10,000 articles.
        write_unlinked(stage / path[cut:], content.encode("utf-8") if isinstance(content, str) else content,
                       splices.get(path))
        stats[path] = _stat(stage / path[cut:])
    prune_empty(stage)
    atomic_write(stage / MANIFEST, _manifest(fingerprint, {p: _with_hash(stats[p], hashes[p], keys.get(p))
                                                           for p in sorted(files)}))
    _fsync_tree(stage, [stage / path[cut:] for path in written])
    swap_in(stage, live, park=park, spare=_spare(park, owned))
    return WriteReport(tuple(written), len(unchanged), tuple(removed))


def _with_hash(stat: list[int] | None, digest: str, key: str | None) -> list[int | str] | None:
    """A manifest entry: size, time, content hash and, for a keyed page, its key."""
    if stat is None:
        return None
    return [*stat, digest, key] if key else [*stat, digest]


def _manifest(fingerprint: str, stats: dict[str, list[int | str] | None]) -> bytes:
    # Without indentation, which only Python's own encoder writes (0.22 s
    # for 13,000 entries, against a tenth of that in C).
    return json.dumps({"fingerprint": fingerprint, "files": stats}, sort_keys=True).encode("utf-8")


# Up to this many files written, each is flushed with fsync(); above it, one sync().
FSYNC_LIMIT: Final = 200


def _fsync_tree(root: Path, written: list[Path]) -> None:
    """Flush the staged tree's new files before the swap makes them live
    (the others are links to files flushed when they were written).

    Many files: one ``sync()`` rather than an ``fsync()`` per file: it
    waits for the same data to reach the disk, with one system call instead
    of thousands (1.3 s of fsync calls for 6,000 files, measured). A few
    (an edit): an ``fsync()`` each, and of their folders. ``sync()`` also
    waits for every other file's unwritten data on the machine (the last
    build's zip, say): after an article was added at 10,000 articles it
    took 0.06 to 0.09 s, the fsync() calls 0.05 s, nearly all of it for
    pages.js (80 MB, copied by the kernel but for a line, then flushed).
    """
    if len(written) > FSYNC_LIMIT:
        os.sync()  # covers every file system, this tree included
        return
    for path in [*written, *sorted({root, *(p.parent for p in written)})]:  # the files, then their new names
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

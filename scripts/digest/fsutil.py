"""Small file-system primitives for all-or-nothing output.

A reader of ``docs/digest/`` or ``site/`` must see the old tree or the new
one, never a mix, even if the process is killed at any instant. Trees are
therefore staged next to their destination and swapped in with one atomic
``renameat2(RENAME_EXCHANGE)`` where Linux offers it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import multiprocessing
import os
import pickle
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from digest.problems import DigestError

T = TypeVar("T")

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


class Busy(DigestError):
    """Another digest run holds the project's lock."""


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_unlinked(target: Path, data: bytes, splice: Splice | None = None) -> None:
    """Write ``data`` as a new file at ``target``: the file there may be a
    hard link to a live edition (a staged tree links every unchanged file),
    which writing into would change too. With ``splice``, the ranges of
    ``data`` it names are copied from its source file by the kernel."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if splice is None or not _spliced(target, data, splice):
        target.write_bytes(data)


def link_unlinked(source: Path, target: Path) -> None:
    """Make ``target`` a new name of the file ``source``, whose bytes it is
    to hold: a hard link, else (another file system, one without links) a
    copy; whatever ``target`` was is unlinked first (see write_unlinked).

    Why: a file the build wrote once (a search shard, in the index's cache
    and then in both editions) is not written again. On this kind of
    machine writing 20 MB of new file took 0.09 to 0.27 s; linking, 0.1 ms.
    Every writer here unlinks before it writes, so the names never see
    each other's changes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


@dataclass(frozen=True)
class Splice:
    """Where a new file's bytes are an existing file's: ``runs`` of (offset
    in the new bytes, offset in ``source``, length), in order, while
    ``source`` is the file ``identity`` (inode, size, time) says, as read.

    Why: on this kind of machine (a virtual machine whose memory the host
    backs as it is first touched), writing 80 MB of new file took 0.4 to
    0.8 s, and copying the same 80 MB from another file with
    copy_file_range 0.02 s; pages.js, rewritten for every edit whose
    search text changed, is 80 MB at 10,000 articles, and one line of it
    changes."""

    source: Path
    identity: tuple[int, int, int]
    runs: tuple[tuple[int, int, int], ...]


def splice(old: bytes, edits: list[tuple[int, int, bytes]]) -> tuple[bytes, tuple[tuple[int, int, int], ...]]:
    """``old`` with each edit (start, end, bytes: ``old[start:end]``
    replaced; in order, none overlapping) made: the new bytes, and the runs
    of them that are ``old``'s, as Splice.runs wants them."""
    view = memoryview(old)  # slices without copies: the join copies each byte once (80 MB of pages.js)
    out: list[bytes | memoryview] = []
    runs, at, size = [], 0, 0
    for start, end, replacement in edits:
        runs.append((size, at, start - at))
        out += [view[at:start], replacement]
        size += start - at + len(replacement)
        at = end
    runs.append((size, at, len(old) - at))
    out.append(view[at:])
    return b"".join(out), tuple(r for r in runs if r[2] > 0)


def identity(st: os.stat_result) -> tuple[int, int, int]:
    """A file's identity for telling that it was replaced or written since:
    inode, size and time."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _spliced(target: Path, data: bytes, splice: Splice) -> bool:
    """Write ``data`` at ``target`` (a new file) copying ``splice``'s runs;
    False, having written nothing, when its source is no longer as it was."""
    try:
        source = open(splice.source, "rb")  # noqa: SIM115  # closed below, after the check
    except OSError:
        return False
    with source:
        if identity(os.fstat(source.fileno())) != splice.identity:
            return False
        view = memoryview(data)
        try:
            with open(target, "xb") as dest:
                done = 0
                for at, start, length in splice.runs:
                    dest.write(view[done:at])
                    copy_range(source, dest, start, length, at)
                    done = at + length
                dest.write(view[done:])
        except EOFError:  # cut short since it was checked: written whole instead
            target.unlink(missing_ok=True)
            return False
    return True


def copy_range(source: IO[bytes], dest: IO[bytes], start: int, length: int, at: int) -> None:
    """Copy ``length`` bytes of ``source`` from ``start`` to ``dest`` at
    ``at`` (its position), leaving ``dest`` positioned after them. The
    kernel copies them where it can (copy_file_range: no trip through this
    process); else they are read and written. Raises EOFError if
    ``source`` ends first."""
    dest.flush()
    done = 0
    with suppress(OSError, AttributeError, ValueError):  # no copy_file_range here, or not between these files
        while done < length:
            n = os.copy_file_range(source.fileno(), dest.fileno(), length - done, start + done, at + done)
            if n == 0:
                break
            done += n
    dest.seek(at + done)
    source.seek(start + done)
    while done < length:
        chunk = source.read(min(length - done, 1 << 24))
        if not chunk:
            raise EOFError(f"{getattr(source, 'name', 'the source')} ends early")
        dest.write(chunk)
        done += len(chunk)


def _libc_function(name: str) -> ctypes._NamedFuncPointer | None:
    """A C library function, or None where the platform lacks it."""
    try:
        return getattr(_LIBC, name) if _LIBC is not None else None
    except AttributeError:
        return None


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError:
        return None


# Loaded once, at import: find_library runs ldconfig, which must not happen
# in a forked child before exec (see die_with_parent).
_LIBC = _load_libc()
_EXCHANGE = _libc_function("renameat2")
_PRCTL = _libc_function("prctl")
_PR_SET_PDEATHSIG = 1
_MALLOC_TRIM = _libc_function("malloc_trim")  # glibc only


def tied_to_this_process() -> Callable[[], None]:
    """A ``preexec_fn`` for subprocess: the child is killed when this process
    dies (see :func:`die_with_parent`)."""
    parent = os.getpid()
    return lambda: die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """For a child process, between fork and exec or first thing after: be
    killed when the process ``parent`` dies, so no orphan outlives a killed
    run (Linux prctl)."""
    if _PRCTL is None:
        return
    _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def give_back_memory() -> bool:
    """Return the memory this process has freed to the system (glibc's
    ``malloc_trim``); False where the C library cannot.

    Freed memory otherwise stays with the process: after generating 10,000
    long articles, 1,279 MB stayed resident, 531 MB after the trim, and the
    site build that follows in the same process adds its own on top (its
    peak was 2.3 GB).
    """
    if _MALLOC_TRIM is None:
        return False
    _MALLOC_TRIM(0)
    return True


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the system
    has one (Linux; a container or ``taskset`` may allow fewer than the
    machine has), else every core (macOS, Windows)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def spawned_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for work beside this one: spawned, not forked (this
    process may hold a large model, which a fork would copy as it is read),
    and dying with this process, like MkDocs and Node."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


class Child:
    """A forked child doing optional work (:func:`in_child`): calling it
    waits and says whether the work succeeded; :meth:`kill` gives it up."""

    def __init__(self, pid: int | None, limit: float, outcome: bool | None = None) -> None:
        self.pid, self.limit, self.started = pid, limit, time.monotonic()
        self.outcome = outcome

    def __call__(self) -> bool:
        while not self.finished():
            if time.monotonic() - self.started > self.limit:
                self.kill()
                break
            time.sleep(0.005)
        return bool(self.outcome)

    def finished(self) -> bool:
        """Whether it has ended (reaped, if it had)."""
        if self.outcome is None and self.pid is not None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.outcome = os.waitstatus_to_exitcode(status) == 0
        return self.outcome is not None

    def kill(self) -> None:
        """End it now, if it has not ended (counted as failed)."""
        if not self.finished() and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.outcome = False


def in_child(work: Callable[[], object], limit: float = 120.0) -> Child:
    """Run ``work`` in a forked child and go on; the Child returned, called,
    waits for it and says whether ``work`` succeeded. Where fork does not
    exist, ``work`` runs here first. For optional work whose result is a
    file, done while the run goes on (the child dies with this process,
    leaving at most a temporary file, which the next run's tidy-up removes).

    A fork copies only the calling thread: a lock another thread held at
    that moment stays held in the child. `digest serve` forks with its HTTP
    threads running, so a child still working after ``limit`` seconds is
    killed and counted as failed rather than waited for forever.
    """
    if not hasattr(os, "fork"):
        try:
            work()
        except Exception:
            return Child(None, limit, outcome=False)
        return Child(None, limit, outcome=True)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the child: work, and leave without running the parent's clean-ups
        code = 1
        try:
            die_with_parent(parent)
            work()
            code = 0
        finally:
            os._exit(code)
    return Child(pid, limit)


@contextmanager
def beside(work: Callable[[], T], wanted: bool = True) -> Iterator[Callable[[], T]]:
    """Run ``work`` in a forked child while the block runs; the block gets a
    function that returns its result (or raises its exception), the same
    each time it is asked.

    Forked, not spawned: the child reads the data this process already holds
    (at 10,000 articles, the facets of every article) without copying it,
    and only the result comes back, pickled. Where fork does not exist, or
    when not ``wanted`` or a single core is usable, ``work`` runs here, when
    the result is asked for. The child dies with this process, and is
    stopped if the block fails.
    """
    if not wanted or not hasattr(os, "fork") or usable_cores() < 2:
        done: list[T] = []

        def here() -> T:  # run once, like the child
            if not done:
                done.append(work())
            return done[0]

        yield here
        return
    parent = os.getpid()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's clean-ups
        code = 0
        try:
            os.close(read)
            die_with_parent(parent)
            try:
                data = pickle.dumps((True, work()))
            except BaseException as exc:  # sent back to be raised in the parent
                data = pickle.dumps((False, exc))
            with os.fdopen(write, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    taken = False
    outcome: list[tuple[bool, object]] = []  # (ok, value or exception), once read

    def result() -> T:
        # The pipe is read and closed once; asked again, the same answer.
        # (Reading its descriptor again could read whatever file was given
        # that number since.)
        nonlocal taken
        if not outcome:
            with os.fdopen(read, "rb") as pipe:
                data = pipe.read()
            taken = True
            os.waitpid(pid, 0)
            outcome.append(pickle.loads(data) if data else
                           (False, RuntimeError("a worker process ended without a result")))
        ok, value = outcome[0]
        if not ok:
            raise value  # type: ignore[misc]
        return value  # type: ignore[return-value]

    try:
        yield result
    finally:
        if not taken:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(read)


def _old_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.old")


def recover(dest: Path) -> None:
    """Finish or undo a swap that a killed run left half done (fallback path only)."""
    old = _old_path(dest)
    if old.exists():
        if dest.exists():
            shutil.rmtree(old)
        else:
            os.rename(old, dest)


# What a tree moved out of the way to be deleted is called in ``park`` (see
# swap_in); the tidy-up of the next run removes one a killed run left.
PARKED = "removing-"


def swap_in(new: Path, dest: Path, *, later: bool = False, park: Path | None = None,
            spare: Path | None = None) -> None:
    """Put the tree ``new`` at ``dest``; the previous tree is deleted
    afterwards (with ``later``, by :func:`remove_soon`: only for a ``dest``
    in a folder nothing else of the run reads). With ``park``, a folder on
    the same file system, the previous tree is first moved there and then
    deleted by :func:`remove_soon`: docs/ is read again by the site build,
    which must not meet a tree being deleted (deleting docs/digest/'s
    13,000 files took 0.3 s after every edit at 10,000 articles).

    With ``spare`` (a free name on the same file system, see
    :class:`LinkedCopy`), the previous tree is kept there instead, for the
    next run to stage its tree in; when the name is taken, it is deleted
    as above.

    With renameat2 the exchange is one atomic step. Without it (not Linux),
    two renames leave a moment where ``dest`` is missing; :func:`recover`
    repairs that on the next run.
    """
    if not dest.exists():
        os.rename(new, dest)
        return
    if _EXCHANGE is not None:
        if _EXCHANGE(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(dest), _RENAME_EXCHANGE) == 0:
            # ``new`` now holds the previous tree.
            if spare is not None and not os.path.lexists(spare):
                try:
                    spare.parent.mkdir(parents=True, exist_ok=True)
                    os.rename(new, spare)
                    return
                except OSError:  # another file system, say: deleted below
                    pass
            if park is not None:
                try:
                    park.mkdir(parents=True, exist_ok=True)
                    parked = park / f"{PARKED}{new.name}"
                    os.rename(new, parked)
                except OSError:  # another file system, say: deleted here and now
                    shutil.rmtree(new)
                    return
                remove_soon(parked)
            elif later:
                remove_soon(new)
            else:
                shutil.rmtree(new)
            return
        err = ctypes.get_errno()
        if err not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(err, os.strerror(err), str(dest))
    old = _old_path(dest)
    os.rename(dest, old)
    os.rename(new, dest)
    shutil.rmtree(old)


_removing: list[threading.Thread] = []
_held: list[Path] | None = None  # trees whose deletion waits for release_removals


@contextmanager
def removals_held() -> Iterator[None]:
    """Within the block, :func:`remove_soon` only queues its trees, until
    :func:`release_removals` (or the block's end) starts deleting them: a
    build defers the deletion of ``docs/digest/``'s previous tree (13,000
    files at 10,000 articles) until the hosted edition is live, so that it
    does not compete with MkDocs for the machine's two cores meanwhile."""
    global _held
    _held = []
    try:
        yield
    finally:
        release_removals()


def release_removals() -> None:
    """Start deleting the trees :func:`removals_held` queued; later ones are deleted at once."""
    global _held
    queued, _held = _held or [], None
    for tree in queued:
        remove_soon(tree)


def remove_soon(tree: Path) -> None:
    """Delete ``tree`` (a staging name nobody reads) in a thread while the
    run goes on; :func:`settle` waits for it.

    An edition swapped out holds 19,000 files at 10,000 articles, and
    deleting one took 0.4 s; the unlink calls release the GIL, so the run's
    next steps (MkDocs in a child process, deflating) go on meanwhile. A
    run killed before the thread is done leaves the tree under its staging
    name, which the next run's tidy-up removes (its prefix is a staging one).
    """
    if _held is not None:
        _held.append(tree)
        return
    worker = threading.Thread(target=shutil.rmtree, args=(tree,), kwargs={"ignore_errors": True},
                              name="digest-remove")
    worker.start()
    _removing.append(worker)


def settle() -> None:
    """Wait for every deletion :func:`remove_soon` started."""
    while _removing:
        _removing.pop().join()


@contextmanager
def settled() -> Iterator[None]:
    """:func:`settle` once the block is over, however it ends."""
    try:
        yield
    finally:
        settle()


class LinkedCopy:
    """Fills ``folder`` (new and empty) with a hard link to every file of
    ``live``, in a thread of its own: a staged tree starts as the live one,
    and the caller then writes the changed files (unlinking each first: see
    :func:`write_unlinked`) and unlinks the removed ones.

    At 10,000 articles the two editions hold 25,000 files and docs/digest/
    13,000; linking them took 1.1 s and 0.5 s. The link calls release the
    GIL, so the linking goes on while the run does other work (rendering,
    MkDocs in a child process).

    With ``spare``, the tree an earlier run swapped out (swap_in's
    ``spare``: its files are hard links to the live tree's, but for those
    that run changed), the spare becomes ``folder`` and only the entries
    whose inode differs from the live one's are linked again: after one
    edit, a few dozen files rather than every one. Comparing two trees of
    13,000 files this way (os.scandir's inode numbers, no stat call) took
    15 ms. A spare in any state (a run killed while updating it, files
    edited by hand in place are shared by both trees and so equal) ends up
    as the live tree; hard links are what make an inode mean "the same
    file". Without hard links every file is copied each time, as before.
    """

    def __init__(self, live: Path, folder: Path, spare: Path | None = None) -> None:
        self.folder = folder
        self.reused = False  # whether the spare was used (rather than linking every file)
        if spare is not None and spare.is_dir() and not spare.is_symlink():
            try:
                os.rmdir(folder)
                os.rename(spare, folder)
                self.reused = True
            except OSError:  # on another file system, say: every file is linked
                folder.mkdir(exist_ok=True)
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._link, args=(live,), name="digest-link")
        self._thread.start()

    def _link(self, live: Path) -> None:
        try:
            _catch_up(str(live), str(self.folder))
        except BaseException as exc:  # raised again by ready(), in the caller's thread
            self._failed = exc

    def ready(self) -> Path:
        """The folder, once every file is linked."""
        self._thread.join()
        if self._failed is not None:
            raise self._failed
        return self.folder

    def discard(self) -> None:
        self._thread.join()
        shutil.rmtree(self.folder, ignore_errors=True)


def _entries(folder: str) -> dict[str, os.DirEntry[str]]:
    try:
        with os.scandir(folder) as found:
            return {e.name: e for e in found}
    except FileNotFoundError:  # no live tree yet: an empty one
        return {}


def _catch_up(live: str, there: str) -> None:
    """Make the folder ``there`` hold what ``live`` holds, as hard links:
    an entry already linked to the same file (inode) is left as it is,
    every other one is removed and linked (or made) again."""
    have, wanted = _entries(there), _entries(live)
    for name, entry in have.items():
        if name not in wanted:
            _remove(entry)
    for name, entry in wanted.items():
        src, dst = entry.path, os.path.join(there, name)
        old = have.get(name)
        if entry.is_dir(follow_symlinks=False):
            if old is None or not old.is_dir(follow_symlinks=False):
                if old is not None:
                    _remove(old)
                os.mkdir(dst)
            _catch_up(src, dst)
            continue
        if old is not None:
            if not old.is_dir(follow_symlinks=False) and old.inode() == entry.inode():
                continue
            _remove(old)
        try:
            os.link(src, dst)
        except OSError:  # a file system without hard links: a copy, with its times
            shutil.copy2(src, dst)


def _remove(entry: os.DirEntry[str]) -> None:
    if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
    else:
        os.unlink(entry.path)


def spare_of(dest: Path) -> Path:
    """Where the tree swapped out of ``dest`` is kept for the next run (see
    :class:`LinkedCopy`): beside it, hidden, and never a staging name that
    the tidy-up removes."""
    return dest.with_name(f".{dest.name}.spare")


def retire(tree: Path, prefix: str) -> None:
    """Delete ``tree`` in the background (:func:`remove_soon`), after
    renaming it to a staging name (``prefix`` and a random part) that the
    next run's tidy-up removes if this one is killed first."""
    if tree.is_dir() and not tree.is_symlink():
        moved = tree.with_name(f"{prefix}{secrets.token_hex(4)}")
        os.rename(tree, moved)
        remove_soon(moved)


def prune_empty(folder: Path) -> None:
    """Remove the folders under ``folder`` left empty by removed files."""
    for here, _dirs, _files in os.walk(folder, topdown=False):
        if here != str(folder) and not os.listdir(here):
            os.rmdir(here)


def new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent``, named ``prefix`` and a random part.

    Unlike ``tempfile.mkdtemp``'s, which only its owner may read, it gets the
    permissions any new folder gets (the umask): what is built in it is
    published, and a web server running as another user must read it.
    """
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path


def clear_stale(parent: Path, prefix: str) -> None:
    """Remove staging folders and files that a killed run left behind (only under the lock)."""
    if parent.is_dir():
        for path in parent.iterdir():
            if path.name.startswith(prefix):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)


@contextmanager
def project_lock(root: Path) -> Iterator[None]:
    """One writing run per project at a time. The OS releases the lock when the
    process ends, however it ends, so a killed run never leaves a stale lock."""
    path = root / ".digest.lock"
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise Busy(f"another digest run ({holder}) is writing in {root}; wait for it to finish, then run again") from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)

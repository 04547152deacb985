"""Reading files that other people can put in the project, safely.

Anyone who can drop a file into ``seeds/`` (a shared folder, a synced drive, a
pull request built by CI) must not be able to make the build read anything
else. So, like Jekyll's safe mode:

- only regular files are read; FIFOs, sockets and devices are refused from
  their ``lstat`` alone, before anything opens them, because opening a FIFO
  blocks and a device can be endless (``/dev/zero``);
- a symbolic link is followed only when its target is a file directly inside
  the same folder; a link that leaves the folder (or goes into a sub-folder)
  is refused by its own name, and its target is never opened;
- the file that was actually opened is checked again with ``fstat`` on its
  descriptor, and opened with ``O_NOFOLLOW`` relative to the folder's own
  descriptor, so swapping a file for a link between the check and the read
  gains nothing;
- every read stops at the size limit plus one byte, whatever ``stat`` said.

Hard links cannot be told from ordinary files; they are the documented limit
(docs/guide/guarantees.md).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from digest.problems import DigestError

_OPEN_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CHUNK: Final = 1 << 20


class Refused(DigestError):
    """A path that is not read: not a regular file, a link out, or too large."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _kind(mode: int) -> str:
    """What a non-regular file is, in words a user knows."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


_NOT_REGULAR_HINT: Final = "only regular files are read: remove it, or replace it with a copy of the file's content"


@dataclass(frozen=True)
class Entry:
    """One name in a folder, classified without opening it.

    ``kind`` is ``file`` (a regular file, or a link to one directly inside
    the folder), ``folder`` (a folder, or a link to one inside the folder),
    or ``refused`` with the reason in ``refused``.
    """

    name: str
    kind: str
    refused: Refused | None = None
    # A regular file's size, times, inode and device, when it is not a link:
    # what tells digest.load that the file is as an earlier read found it.
    stamp: tuple[int, ...] | None = None


class Folder:
    """A folder opened once; its files are opened relative to its descriptor."""

    def __init__(self, path: Path, lstats: Mapping[str, os.stat_result] | None = None) -> None:
        """``lstats``: the folder's listing, each name's lstat, as the caller
        took it a moment ago (pipeline.fingerprint): :meth:`names` and
        :meth:`entry` use it instead of listing and stat-ing again (at
        20,000 seed files, 0.1 s of every build). :meth:`read` looks again."""
        self.path = path
        self.lstats = lstats
        # The folder itself may be a link (seeds/ kept on another drive): the
        # project's owner chose that. Only what is inside it is checked.
        self.real = os.path.realpath(path)
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))

    def close(self) -> None:
        os.close(self.fd)

    def names(self) -> list[str]:
        return sorted(self.lstats if self.lstats is not None else os.listdir(self.fd))

    def _resolve(self, name: str, fresh: bool = True) -> tuple[str, os.stat_result]:
        """The name to open (the link's target for an inside link) and its
        lstat (``fresh``: taken now, else the one given, if any)."""
        taken = None if fresh or self.lstats is None else self.lstats.get(name)
        st = taken if taken is not None else os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        if not stat.S_ISLNK(st.st_mode):
            return name, st
        target = os.path.realpath(os.path.join(self.real, name))
        inside = os.path.dirname(target) == self.real
        if not inside:
            # Neither the target's content nor its kind is looked at.
            raise Refused(f"it is a symbolic link to a path outside {self.path.name}/; links are followed only to "
                          f"files directly in {self.path.name}/", "replace the link with a copy of the file, or remove it")
        resolved = os.path.basename(target)
        try:
            st = os.stat(resolved, dir_fd=self.fd, follow_symlinks=False)
        except OSError as exc:
            raise Refused(f"it is a symbolic link that cannot be followed ({exc.strerror})",
                          "fix or remove the link") from None
        return resolved, st

    def entry(self, name: str) -> Entry:
        """Classify ``name`` from lstat alone (nothing is opened)."""
        try:
            resolved, st = self._resolve(name, fresh=False)
        except Refused as exc:
            return Entry(name, "refused", exc)
        if stat.S_ISREG(st.st_mode):
            return Entry(name, "file", stamp=(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
                         if resolved == name else None)
        if stat.S_ISDIR(st.st_mode):
            return Entry(name, "folder")
        if stat.S_ISLNK(st.st_mode):  # a link whose target is again a link: realpath would have resolved it
            return Entry(name, "refused", Refused("it is a symbolic link that cannot be followed", "fix or remove the link"))
        return Entry(name, "refused", Refused(f"it is {_kind(st.st_mode)}, not a regular file", _NOT_REGULAR_HINT))

    def read(self, name: str, limit: int) -> bytes:
        """The content of the regular file ``name`` (or of the inside file it
        links to), at most ``limit`` bytes; :class:`Refused` otherwise."""
        try:
            resolved, st = self._resolve(name)
        except FileNotFoundError:  # listed a moment ago (names())
            raise Refused("it was removed while the seeds were read", "run again") from None
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"it is {_kind(st.st_mode)}, not a regular file", _NOT_REGULAR_HINT)
        try:
            fd = os.open(resolved, _OPEN_FLAGS, dir_fd=self.fd)
        except OSError as exc:  # ELOOP: swapped for a link since the lstat
            raise Refused(f"it could not be opened safely ({exc.strerror})", "run again once the file is in place") from None
        try:
            return _read_open(fd, limit, expected=(st.st_dev, st.st_ino))
        finally:
            os.close(fd)


@contextmanager
def open_folder(path: Path, lstats: Mapping[str, os.stat_result] | None = None) -> Iterator[Folder]:
    folder = Folder(path, lstats)
    try:
        yield folder
    finally:
        folder.close()


def too_large(size: int | None, limit: int) -> str:
    """The size-limit message, with the size when it is known."""
    return (f"the file is {size:,} bytes; the limit is {limit:,} bytes" if size is not None else
            f"the file holds more than {limit:,} bytes, the limit")


def _read_open(fd: int, limit: int, expected: tuple[int, int] | None = None) -> bytes:
    """Read an opened descriptor: a regular file (checked on the descriptor
    itself), at most ``limit`` bytes."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"it is {_kind(st.st_mode)}, not a regular file", _NOT_REGULAR_HINT)
    if expected is not None and (st.st_dev, st.st_ino) != expected:
        raise Refused("it was replaced by another file while it was being read", "run again once the file is in place")
    if st.st_size > limit:
        raise Refused(too_large(st.st_size, limit), "split it, or raise the limit with --max-article-mb / --max-annotation-mb")
    # Read what stat promises plus one byte, then at most up to the limit: a
    # file that grows while it is read (or lies about its size) stops there.
    want = limit + 1
    parts: list[bytes] = []
    got = 0
    size = min(want, st.st_size + 1)
    while got < want:
        chunk = os.read(fd, size)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
        size = min(want - got, _CHUNK)
    if got > limit:
        raise Refused(too_large(None, limit), "split it, or raise the limit with --max-article-mb / --max-annotation-mb")
    return b"".join(parts)


def read_file(path: Path, limit: int) -> bytes:
    """Read one file a command was given by name (``digest new PATH``, an
    installed asset): links are followed, since the user named the path, but
    only a regular file is read, never more than ``limit`` bytes, and a FIFO
    or device is refused without a blocking open."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise Refused(f"it cannot be read ({exc.strerror})", "check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"it is {_kind(st.st_mode)}, not a regular file", _NOT_REGULAR_HINT)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise Refused(f"it cannot be read ({exc.strerror})", "check the file's permissions") from None
    try:
        return _read_open(fd, limit)
    finally:
        os.close(fd)


def links_leaving(folder: Path, root: Path, skip: Path | None = None) -> list[str]:
    """Every symbolic link under ``folder`` whose target is outside ``root``,
    and every FIFO, socket or device there (as paths relative to ``root``).

    MkDocs copies what ``docs/`` and ``overrides/`` hold into the site, links
    followed; this finds what would publish a file from elsewhere. ``skip``
    is a folder not walked (the generator's own output).
    """
    real_root = os.path.realpath(root)
    found: list[str] = []
    for here, dirs, files in os.walk(folder):
        if skip is not None and Path(here) == skip.parent:
            dirs[:] = [d for d in dirs if Path(here, d) != skip]
        for name in sorted(dirs + files):
            path = os.path.join(here, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(path)
                if os.path.commonpath([target, real_root]) != real_root:
                    found.append(f"{rel}: a symbolic link to a path outside the project")
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                found.append(f"{rel}: {_kind(st.st_mode)}, not a regular file")
    return sorted(found)

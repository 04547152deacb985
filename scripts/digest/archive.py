"""The offline edition's zip: the same folder always gives the same bytes,
and the zip appears whole or not at all.

Deflating is most of the zip's cost (about 9 s at 10,000 articles), so a
:class:`ZipWriter` zips in a process of its own, file by file as the caller
names them: the offline edition is copied, rewritten and guarded page by
page meanwhile (site.offline_from_hosted). A thread would not do: at 10,000
articles, sharing the GIL with it made the copying 2.5 times slower and the
whole step only 15% faster; the process makes it about 40% faster.

The child reads each file from the folder (the page cache: it was just
written) and takes its names, NUL-separated, on its standard input:

    python -m digest.archive FOLDER ZIP < names
"""

from __future__ import annotations

import copy
import io
import itertools
import os
import secrets
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Final, NamedTuple

from digest.code import code_path
from digest.fsutil import copy_range, tied_to_this_process
from digest.problems import BuildFailed

ZIP_DATE: Final = (2020, 1, 1, 0, 0, 0)  # fixed, so the same site gives the same zip bytes


def entry_order(name: str) -> tuple[str, ...]:
    """The order of a zip's entries: by path component, as ``sorted()`` orders
    the paths of a folder, however the files were found."""
    return tuple(name.split("/"))


# The search index's files change with almost every edit, so an incremental
# build deflates them again each time (29 MB at 10,000 articles, a quarter
# of the zip). At level 1 that took 0.36 s against 2.6 s at level 6, for
# 11% more compressed bytes (14.0 MB against 12.6 MB); pages, which an edit
# rarely touches, stay at level 6. The level goes by name, so a clean build
# and an incremental one make the same bytes.
FAST_PREFIX: Final = "search/"


def compress_level(name: str) -> int:
    return 1 if name.startswith(FAST_PREFIX) else 6


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """One entry, deflated, with the fixed date and permissions."""
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, compresslevel=compress_level(name))


def write_zip(folder: Path, zip_path: Path, names: Iterator[str]) -> None:
    """Zip ``folder``'s files ``names`` (in that order) into a new file ``zip_path``."""
    with zipfile.ZipFile(zip_path, "x", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in names:
            _add(zf, name, (folder / name).read_bytes())


class Entry(NamedTuple):
    """A zip entry made apart (:func:`deflated`): its data, its record and
    its bytes in a zip (local header and deflated data)."""

    data: bytes
    info: zipfile.ZipInfo
    raw: bytes


def deflated(name: str, data: bytes) -> Entry:
    """The entry :func:`_add` writes for ``name``, made in a zip of its own
    so that several can be made at once, in threads (zlib lets go of the
    GIL while it deflates): deflating the changed entries took half of an
    incremental zip's 0.47 s at 10,000 articles. Its local header holds no
    offset, so its bytes are those the entry has in any zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        _add(zf, name, data)
        assert zf.fp is not None
        end = zf.fp.tell()  # the central directory follows, written on close
        info = zf.filelist[0]
    return Entry(data, info, buffer.getvalue()[:end])


def update_zip(old: Path, folder: Path, names: list[str], changed: set[str],
               made: Mapping[str, Future[Entry]] | None = None) -> Path:
    """A new zip of ``folder``'s files ``names`` (in that order) beside
    ``old``, made from ``old``: an entry not in ``changed`` that ``old``
    holds is copied without being deflated again. ``made``: entries
    deflated ahead (:func:`deflated`), used where their data is the
    file's. Returns the new file's path; the caller moves it into place.

    Unchanged entries that lie one after the other in ``old`` (most of
    them: both zips list the files in the same order) are copied as one
    range of bytes: copied one by one, the 12,000 entries of a 10,000-article
    edition took 0.6 s."""
    tmp = old.with_name(f".{old.name}.{secrets.token_hex(4)}")
    try:
        with open(old, "rb") as source, zipfile.ZipFile(source) as previous, \
                zipfile.ZipFile(tmp, "x", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            kept = {info.filename: info for info in previous.infolist()}
            # Where each entry of ``old`` ends: where the next begins, the
            # last one where the central directory begins.
            ordered = sorted(kept.values(), key=lambda i: i.header_offset)
            ends = {a.filename: b.header_offset for a, b in itertools.pairwise(ordered)}
            if ordered:
                ends[ordered[-1].filename] = previous.start_dir
            run: list[zipfile.ZipInfo] = []
            for name in names:
                info = kept.get(name)
                if info is not None and name not in changed:
                    if run and ends[run[-1].filename] != info.header_offset:
                        _copy_run(source, run, ends, zf)
                    run.append(info)
                    continue
                _copy_run(source, run, ends, zf)
                data = (folder / name).read_bytes()
                ahead = made.get(name) if made is not None else None
                entry = ahead.result() if ahead is not None else None
                if entry is not None and entry.data == data:
                    _put_entry(zf, entry)
                else:
                    _add(zf, name, data)
            _copy_run(source, run, ends, zf)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _copy_run(source: IO[bytes], run: list[zipfile.ZipInfo], ends: dict[str, int], zf: zipfile.ZipFile) -> None:
    """Copy the entries ``run`` (adjacent in ``source``; ``ends`` says where
    each entry there ends) as they are: their local headers and compressed bytes, with their central
    directory records at their new offsets; then empty ``run``.

    zipfile has no public way to do this; it writes the central directory
    from ``filelist`` when it closes, so an entry appended there with its
    new offset is an entry like any other. The entries read back carry the
    fields that were written, so the zip is the one :func:`write_zip` makes
    (tests/test_incremental.py compares them byte for byte)."""
    if not run:
        return
    assert zf.fp is not None
    start, end = run[0].header_offset, ends[run[-1].filename]
    at = zf.fp.tell()
    _copy_range(source, zf.fp, start, end - start, at)
    shift = at - start
    for info in run:
        # The previous zip's own record, moved: update_zip reads nothing
        # more through it (a copy of each took 0.1 s at 10,000 articles).
        info.header_offset += shift
        zf.filelist.append(info)
        zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()
    run.clear()


def _put_entry(zf: zipfile.ZipFile, entry: Entry) -> None:
    """Write an entry made apart, as :func:`_copy_run` writes a copied one."""
    assert zf.fp is not None
    info = copy.copy(entry.info)
    info.header_offset = zf.fp.tell()
    zf.fp.write(entry.raw)
    zf.filelist.append(info)
    zf.NameToInfo[info.filename] = info
    zf.start_dir = zf.fp.tell()


def _copy_range(source: IO[bytes], dest: IO[bytes], start: int, length: int, at: int) -> None:
    """fsutil.copy_range, for the previous zip (copying a 120 MB zip's
    unchanged runs through this process cost more than the kernel's copy)."""
    try:
        copy_range(source, dest, start, length, at)
    except EOFError:
        raise BuildFailed("the previous zip ends early; it is built afresh") from None


class ZipWriter:
    """Zips files of ``folder`` into ``zip_path`` in a child process, in the
    order :meth:`add` names them (:func:`entry_order`).

    :meth:`close` waits for the child (every file added must stay in place
    until then); :meth:`commit` then moves the zip into place. :meth:`abort`
    leaves nothing behind.
    """

    def __init__(self, folder: Path, zip_path: Path) -> None:
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        # Created by the child (mode "x"), so it gets the usual permissions,
        # not mkstemp's owner-only ones: the zip is made to be handed on.
        self._target = zip_path
        self._tmp = zip_path.with_name(f".{zip_path.name}.{os.getpid()}-{secrets.token_hex(4)}")
        self._last: tuple[str, ...] = ()
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close)
        self._closed = False
        self._child = subprocess.Popen([sys.executable, "-m", "digest.archive", str(folder), str(self._tmp)],
                                       stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err,
                                       env={**os.environ, "PYTHONPATH": code_path()},
                                       preexec_fn=tied_to_this_process())

    def add(self, name: str) -> None:
        """Zip ``name`` (relative to the folder, already complete) next."""
        key = entry_order(name)
        if key <= self._last:
            raise ValueError(f"zip entry {name!r} is out of order")
        if "\0" in name:
            raise ValueError(f"zip entry {name!r} holds a NUL")
        self._last = key
        assert self._child.stdin is not None
        try:
            self._child.stdin.write(name.encode("utf-8") + b"\0")
        except BrokenPipeError:
            self.close()  # the child failed: raises its message
            raise BuildFailed(f"writing {self._target} failed: the zip process ended early") from None

    def close(self) -> None:
        """Wait until the zip is complete; BuildFailed if it could not be made."""
        if self._closed:
            return
        self._closed = True
        assert self._child.stdin is not None
        with suppress(BrokenPipeError):  # the child ended already; its code and message follow
            self._child.stdin.close()
        code = self._child.wait()
        self._err.seek(0)
        said = self._err.read().decode("utf-8", "replace").strip()
        self._err.close()
        if code != 0:
            self._tmp.unlink(missing_ok=True)
            raise BuildFailed(f"writing {self._target} failed: {said.splitlines()[-1] if said else f'exit code {code}'}")

    def commit(self) -> None:
        self.close()
        os.replace(self._tmp, self._target)

    def abort(self) -> None:
        if not self._closed:
            self._child.kill()
            with suppress(BuildFailed):
                self.close()
        self._tmp.unlink(missing_ok=True)


@contextmanager
def zipping(folder: Path, zip_path: Path) -> Iterator[ZipWriter]:
    """A :class:`ZipWriter` committed when the block ends, aborted if it raises."""
    writer = ZipWriter(folder, zip_path)
    try:
        yield writer
    except BaseException:
        writer.abort()
        raise
    writer.commit()


def zip_tree(folder: Path, zip_path: Path) -> None:
    """Zip ``folder``'s files (entries at the root), deterministically and atomically."""
    names = sorted((p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()), key=entry_order)
    with zipping(folder, zip_path) as writer:
        for name in names:
            writer.add(name)


def _names(stream: IO[bytes]) -> Iterator[str]:
    """NUL-separated names, each as soon as it has arrived."""
    pending = b""
    while chunk := os.read(stream.fileno(), 65536):
        pending += chunk
        *done, pending = pending.split(b"\0")
        yield from (name.decode("utf-8") for name in done)
    if pending:
        yield pending.decode("utf-8")


def _main(argv: list[str]) -> int:
    folder, zip_path = Path(argv[0]), Path(argv[1])
    try:
        write_zip(folder, zip_path, _names(sys.stdin.buffer))
    except BaseException:
        zip_path.unlink(missing_ok=True)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

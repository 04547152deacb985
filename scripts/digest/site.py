"""Run MkDocs for the hosted and the offline edition, guard and package them.

Each edition is built into a temporary folder next to its destination and
swapped in only when the build and the third-party guard passed, so a failed
build leaves the previous site as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.fsutil import clear_stale, recover, swap_in
from digest.guard import scan_site
from digest.problems import BuildFailed
from digest.searchindex import write_search_index

ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same site gives the same zip bytes


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def mkdocs_build(config_file: Path, site_dir: Path) -> None:
    """Build with MkDocs (strict) into ``site_dir``, replacing it only on success."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life banner
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    site_dir.parent.mkdir(parents=True, exist_ok=True)
    recover(site_dir)
    clear_stale(site_dir.parent, f".{site_dir.name}.building-")
    tmp = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.building-", dir=site_dir.parent))
    handler = _Collect()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        # Snippets and relative config paths resolve from the project folder.
        with _cwd(config_file.parent):
            config = load_config(str(config_file), site_dir=str(tmp), strict=True)
            build(config)
        write_search_index(tmp, config_file.parent, directory_urls=bool(config.use_directory_urls))
        findings = scan_site(tmp)
        if findings:
            raise BuildFailed("the built site would load files from other hosts:\n  "
                              + "\n  ".join(f.format() for f in findings[:50]))
    except MkDocsException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        detail = "\n  ".join(handler.messages[-20:])
        raise BuildFailed(f"MkDocs failed for {config_file.name}: {exc}" + (f"\n  {detail}" if detail else "")) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        logger.removeHandler(handler)
    swap_in(tmp, site_dir)


def zip_tree(folder: Path, zip_path: Path) -> None:
    """Zip ``folder``'s contents (entries at the root), deterministically and atomically."""
    fd, tmp = tempfile.mkstemp(prefix=f".{zip_path.name}.", dir=zip_path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, path.read_bytes())
        os.replace(tmp, zip_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""Run MkDocs for the hosted and the offline edition, guard and package them.

Each edition is built into a temporary folder next to its destination and
swapped in only when the build and the third-party guard passed, so a failed
build leaves the previous site as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from digest.fsutil import clear_stale, recover, swap_in, tied_to_this_process
from digest.guard import scan_site
from digest.problems import BuildFailed
from digest.render.search import SEARCH_PAGES
from digest.searchindex import IndexBuild, write_search_index

ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same site gives the same zip bytes


def _run_mkdocs(config_file: Path, site_dir: Path) -> None:
    """MkDocs (strict) in a process of its own.

    MkDocs keeps every page in memory until the build ends; in its own process
    that memory is not added to what generating the pages left behind in
    ours (10,000 articles: 1.85 GB in one process before).
    """
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's end-of-life banner
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config_file),
           "--site-dir", str(site_dir)]
    # Snippets and relative config paths resolve from the project folder. The
    # child dies with us, so a killed build leaves no orphan writing into its
    # staging folder.
    run = subprocess.run(cmd, cwd=config_file.parent, env=env, capture_output=True, text=True, check=False,
                         preexec_fn=tied_to_this_process())
    if run.returncode != 0:
        said = [line for line in run.stderr.splitlines() if line.startswith(("WARNING", "ERROR", "Error", "Aborted"))]
        detail = "\n  ".join((said or run.stderr.strip().splitlines())[-20:])
        raise BuildFailed(f"MkDocs failed for {config_file.name}" + (f":\n  {detail}" if detail else ""))


def _settings(config_file: Path) -> tuple[Path, bool]:
    """The configuration's docs folder and whether it uses directory URLs."""
    from mkdocs.config import load_config

    cwd = Path.cwd()
    os.chdir(config_file.parent)
    try:
        config = load_config(str(config_file))
        return Path(config.docs_dir), bool(config.use_directory_urls)
    finally:
        os.chdir(cwd)


def mkdocs_build(config_file: Path, site_dir: Path) -> None:
    """Build with MkDocs (strict) into ``site_dir``, replacing it only on success."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    recover(site_dir)
    clear_stale(site_dir.parent, f".{site_dir.name}.building-")
    docs_dir, directory_urls = _settings(config_file)
    # Node indexes the generated pages while MkDocs builds the site.
    index = IndexBuild(docs_dir / SEARCH_PAGES, config_file.parent, directory_urls=directory_urls)
    tmp = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.building-", dir=site_dir.parent))
    try:
        _run_mkdocs(config_file, tmp)
        write_search_index(tmp, *index.finish(tmp))
        findings = scan_site(tmp)
        if findings:
            raise BuildFailed("the built site would load files from other hosts:\n  "
                              + "\n  ".join(f.format() for f in findings[:50]))
    except BaseException:
        index.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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

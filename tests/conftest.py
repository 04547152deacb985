"""Shared fixtures: temporary projects, golden-file updating, built sites."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURE_CORPUS = REPO / "tests" / "fixtures" / "corpus"
HAND_WRITTEN = ("mkdocs.yml", "mkdocs.offline.yml")
HAND_WRITTEN_DIRS = ("docs", "overrides")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files and expected outputs from the current code")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def make_project(root: Path, seeds: Path | dict[str, str | bytes] | None) -> Path:
    """A project folder like the repository's: config, hand-written docs, assets, seeds."""
    root.mkdir(parents=True, exist_ok=True)
    for name in HAND_WRITTEN:
        shutil.copy(REPO / name, root / name)
    for folder in HAND_WRITTEN_DIRS:
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("digest", ".digest*"))
    # The npm assets are installed once per checkout; a project only needs to see them.
    (root / "node_modules").symlink_to(REPO / "node_modules")
    target = root / "seeds"
    if isinstance(seeds, Path):
        shutil.copytree(seeds, target)
    else:
        target.mkdir()
        for name, content in (seeds or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (target / name).write_bytes(data)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Callable[[Path | dict[str, str | bytes] | None], Path]:
    def factory(seeds: Path | dict[str, str | bytes] | None = None) -> Path:
        return make_project(tmp_path / "project", seeds)
    return factory


@pytest.fixture(scope="session")
def built_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus built once, both editions, by the real pipeline."""
    from digest.cli import main

    root = make_project(tmp_path_factory.mktemp("built") / "project", FIXTURE_CORPUS / "seeds")
    assert main(["build", "--root", str(root)]) == 0
    return root


CHROMIUM = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


def _chromium_or_skip() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = (f"Chromium not found at {CHROMIUM}: install Debian's package with "
               "'apt-get install chromium' or set DIGEST_CHROMIUM to a Chromium binary")
    if os.environ.get("DIGEST_REQUIRE_BROWSER") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=FLAGS)
        yield b
        b.close()

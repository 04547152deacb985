"""Shared fixtures: temporary projects, golden-file updating, built sites."""

from __future__ import annotations

import html
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Builds run in the test's own process (or the subprocess it starts), not
# in a build server that would outlive the test; tests/test_daemon.py
# turns the server on where it is what is tested.
os.environ["DIGEST_DAEMON"] = "0"

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


def run(*args: str) -> tuple[int, str, str]:
    """``digest ARGS`` in this process: its exit code, output and errors."""
    import io

    from digest.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def annotation_files(seeds: Path) -> list[Path]:
    """The annotations in ``seeds``, sorted, without the registries."""
    return sorted(p for p in seeds.glob("*.yml") if p.stem not in ("entities", "sources"))


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


def fixture_seeds_with(folder: Path, ident: str, line: str) -> Path:
    """A copy of the fixture corpus's seeds in ``folder`` with ``line`` added to one annotation."""
    seeds = folder / "seeds"
    shutil.copytree(FIXTURE_CORPUS / "seeds", seeds)
    with (seeds / f"{ident}.yml").open("a", encoding="utf-8") as f:
        f.write(line)
    return seeds


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


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample digest of seeds/, built: every page kind, with markings."""
    from digest.cli import main

    root = make_project(tmp_path_factory.mktemp("sample") / "p", REPO / "seeds")
    assert main(["build", "--root", str(root)]) == 0
    return root


@pytest.fixture(scope="session")
def built_hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every payload of tests/test_hostile.py (HOSTILE) built, both editions."""
    from .test_hostile import HOSTILE

    root = make_project(tmp_path_factory.mktemp("hostile") / "p", HOSTILE)
    code, _, err = run("build", "--root", str(root))
    assert code == 0, err
    return root


def required_tool(found: bool, message: str) -> None:
    """Skip a test whose outside tool is missing; in CI (DIGEST_REQUIRE_BROWSER
    or CI set), fail instead: there a skipped check would pass unseen."""
    if found:
        return
    if os.environ.get("DIGEST_REQUIRE_BROWSER") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


CHROMIUM = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


def _chromium_or_skip() -> str:
    required_tool(Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is not None,
                  f"Chromium not found at {CHROMIUM}: install Debian's package with "
                  "'apt-get install chromium' or set DIGEST_CHROMIUM to a Chromium binary")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=FLAGS)
        yield b
        b.close()


_REF = re.compile(r'<(?:a|img|link|script)\b[^>]*?\b(?:href|src)="([^"]*)"')


def broken_links(root: Path) -> tuple[list[str], int]:
    """Every relative href and src of every page of a built site that names no
    file, or an #anchor that is no id on its page; and how many were checked.
    404.html is left out: it is served for any path, so its links are absolute."""
    ids: dict[Path, set[str]] = {}
    broken: list[str] = []
    checked = 0
    for page in sorted(root.rglob("*.html")):
        if page.name == "404.html":
            continue
        for url in _REF.findall(page.read_text(encoding="utf-8")):
            url = html.unescape(url)
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or url.startswith("//"):
                continue  # another scheme: the original article, mailto, data
            path, _, anchor = url.partition("#")
            target = (page.parent / path).resolve() if path else page
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.is_file():
                broken.append(f"{page.relative_to(root)}: {url}")
            elif anchor and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8")))
                if anchor not in ids[target]:
                    broken.append(f"{page.relative_to(root)}: {url} (no such anchor)")
    return broken, checked


def leftovers(paths: Iterable[Path]) -> list[Path]:
    """Staging folders and files a run left, among ``paths``: all but the
    trees a build keeps for the next one to stage in (fsutil.spare_of)."""
    return [p for p in paths if not p.name.endswith(".spare")]

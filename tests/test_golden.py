"""The whole generated tree for the shipped seeds and the fixture corpus,
compared with a committed copy. `make golden` regenerates the copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digest.pipeline import Options, Project, check
from digest.render import render_all
from digest.render.feeds import render_feeds

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
CORPORA = {"shipped": REPO, "fixture": REPO / "tests" / "fixtures" / "corpus"}


def rendered(root: Path, drafts: bool = False) -> dict[str, str | bytes]:
    """The pages, charts and feeds (the printed briefs are read back in test_delivery.py)."""
    digest = check(Project(root), Options(drafts=drafts)).digest
    return {**render_all(digest), **render_feeds(digest)}


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_generated_tree_matches_golden(name: str, update_golden: bool) -> None:
    pages = rendered(CORPORA[name])
    folder = GOLDEN / name
    if update_golden:
        shutil.rmtree(folder, ignore_errors=True)
        for path, content in pages.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return
    # Pages are Markdown, charts SVG, feeds XML and JSON: all compared byte for byte.
    expected = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
    assert sorted(pages) == sorted(expected), "the set of generated files changed: run `make golden` if intended"
    for path, content in pages.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        assert data == expected[path], f"{path} differs from tests/golden/{name}/{path}"


def test_rendering_is_deterministic() -> None:
    assert rendered(CORPORA["fixture"]) == rendered(CORPORA["fixture"])


def test_drafts_only_when_asked() -> None:
    without = rendered(CORPORA["fixture"])
    with_drafts = rendered(CORPORA["fixture"], drafts=True)
    assert "digest/articles/delta.md" not in without
    assert "digest/articles/delta.md" in with_drafts
    assert "<strong>Draft</strong>" in str(with_drafts["digest/articles/delta.md"])

"""The whole generated tree for the shipped seeds and the fixture corpus,
compared with a committed copy. `make golden` regenerates the copies."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digest.pipeline import Options, Project, check
from digest.render import render_all

REPO = Path(__file__).resolve().parent.parent
GOLDEN = REPO / "tests" / "golden"
CORPORA = {"shipped": REPO, "fixture": REPO / "tests" / "fixtures" / "corpus"}


def rendered(root: Path, drafts: bool = False) -> dict[str, str]:
    digest = check(Project(root), Options(drafts=drafts)).digest
    return render_all(digest)


@pytest.mark.parametrize("name", sorted(CORPORA))
def test_generated_tree_matches_golden(name: str, update_golden: bool) -> None:
    pages = rendered(CORPORA[name])
    folder = GOLDEN / name
    if update_golden:
        shutil.rmtree(folder, ignore_errors=True)
        for path, text in pages.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_text(text, encoding="utf-8")
        return
    expected = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
                for p in sorted(folder.rglob("*.md"))}
    assert sorted(pages) == sorted(expected), "the set of generated pages changed: run `make golden` if intended"
    for path, text in pages.items():
        assert text == expected[path], f"{path} differs from tests/golden/{name}/{path}"


def test_rendering_is_deterministic() -> None:
    assert rendered(CORPORA["fixture"]) == rendered(CORPORA["fixture"])


def test_drafts_only_when_asked() -> None:
    without = rendered(CORPORA["fixture"])
    with_drafts = rendered(CORPORA["fixture"], drafts=True)
    assert "digest/articles/delta.md" not in without
    assert "digest/articles/delta.md" in with_drafts
    assert "**Draft**" in with_drafts["digest/articles/delta.md"]

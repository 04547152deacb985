"""The CLI in-process: exit codes, output, and that failures write nothing."""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from digest.cli import EXIT_BUILD, EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE

from .conftest import run

ProjectFactory = Callable[..., Path]
GOOD = {
    "a.txt": "ASELSAN opened a plant in Baku.\n\nSecond paragraph.\n",
    "a.yml": "title: Plant opens\ndate: 2026-11-23\nsource: Wire\nsummary: A plant opened.\n"
             "entities:\n  organizations: [ASELSAN]\n",
}


def tree_hash(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_check_ok(project: ProjectFactory) -> None:
    root = project(GOOD)
    code, out, err = run("check", "--root", str(root))
    assert code == EXIT_OK
    assert out == "digest: 1 reviewed, 0 unreviewed articles in 1 editions; 0 errors, 0 warnings\n"
    assert err == ""


def test_usage_error() -> None:
    assert run("frobnicate")[0] == EXIT_USAGE
    assert run()[0] == EXIT_USAGE


def test_generate_writes_then_noop_then_removes_stale(project: ProjectFactory) -> None:
    root = project(GOOD)
    code, out, _ = run("generate", "--root", str(root))
    assert code == EXIT_OK
    assert (root / "docs/digest/articles/a.md").is_file()
    written = int(out.split("wrote ")[1].split(" ")[0])
    assert written > 5
    code, out, _ = run("generate", "--root", str(root))
    assert out == "digest: seeds/ unchanged since the last run; wrote 0 files\n"
    # The manifest holds each file's size, time and content hash: a file that
    # still has its size and time is not read again to compare.
    files = json.loads((root / "docs/digest/.digest-manifest.json").read_text(encoding="utf-8"))["files"]
    # An article's page also has its key (digest.render.reuse), so that the
    # next run need not render it again.
    for rel, (size, mtime_ns, digest, *key) in files.items():
        data = (root / "docs" / rel).read_bytes()
        assert [size, mtime_ns] == [len(data), (root / "docs" / rel).stat().st_mtime_ns]
        assert digest == hashlib.sha256(data).hexdigest()[:32]
        assert len(key) == (1 if rel.startswith("digest/articles/") else len(key))
    # A hand-edited generated page is noticed and restored.
    page = root / "docs/digest/articles/a.md"
    original = page.read_text(encoding="utf-8")
    page.write_text("edited by hand\n", encoding="utf-8")
    code, out, _ = run("generate", "--root", str(root))
    assert "wrote 1 files" in out and page.read_text(encoding="utf-8") == original
    # A changed seed with identical output rewrites nothing.
    (root / "seeds/a.txt").write_text(GOOD["a.txt"], encoding="utf-8")
    os.utime(root / "seeds/a.txt", ns=(1, 1))
    code, out, _ = run("generate", "--root", str(root))
    assert "wrote 0 files" in out and "unchanged since" not in out
    (root / "seeds/a.yml").unlink()  # the article becomes unreviewed: its hubs go away
    code, out, _ = run("generate", "--root", str(root))
    assert code == EXIT_OK
    assert not (root / "docs/digest/entities/aselsan.md").exists()
    assert "removed 0" not in out


def test_failed_check_changes_nothing(project: ProjectFactory) -> None:
    root = project(GOOD)
    assert run("build", "--root", str(root), "--edition", "hosted")[0] == EXIT_OK
    docs_before, site_before = tree_hash(root / "docs"), tree_hash(root / "site")
    (root / "seeds/a.yml").write_text("title: [broken\n", encoding="utf-8")
    (root / "seeds/b.yml").write_text("title: T\n", encoding="utf-8")
    code, out, err = run("build", "--root", str(root))
    assert code == EXIT_PROBLEMS
    assert out == ""
    assert "seeds/a.yml:2:1: yaml: the file is not valid YAML" in err
    assert "seeds/b.yml:1:1: file: annotation without an article" in err
    assert err.endswith("digest: 5 errors, 0 warnings; nothing was written\n")
    assert tree_hash(root / "docs") == docs_before
    assert tree_hash(root / "site") == site_before


def test_warnings_pass_unless_strict(project: ProjectFactory) -> None:
    root = project({**GOOD, "a.yml": GOOD["a.yml"] + "corrections:\n  Erdoan: Erdoğan\n"})
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_OK
    assert "seeds/a.yml:8:11: corrections.Erdoan: warning: 'Erdoan' does not occur in seeds/a.txt" in err
    assert run("check", "--strict", "--root", str(root))[0] == EXIT_PROBLEMS


def test_foreign_file_in_generated_folder_is_left_alone(project: ProjectFactory) -> None:
    root = project(GOOD)
    foreign = root / "docs/digest/articles/a.md"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("my own notes\n", encoding="utf-8")
    code, _, err = run("generate", "--root", str(root))
    assert code == EXIT_BUILD
    assert "docs/digest/articles/a.md" in err and "not generated by Briefing Digest" in err
    assert foreign.read_text(encoding="utf-8") == "my own notes\n"


def test_hand_written_docs_are_never_touched(project: ProjectFactory) -> None:
    root = project(GOOD)
    before = {p: h for p, h in tree_hash(root / "docs").items()}
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    after = tree_hash(root / "docs")
    assert {p: after[p] for p in before} == before


def test_size_limit_names_the_limit_and_the_option(project: ProjectFactory) -> None:
    root = project({**GOOD, "a.txt": "word " * 300_000})
    code, _, err = run("check", "--root", str(root), "--max-article-mb", "1")
    assert code == EXIT_PROBLEMS
    assert "seeds/a.txt:1:1: file: the file is 1,500,000 bytes; the limit is 1,048,576 bytes" in err
    assert "--max-article-mb" in err
    assert run("check", "--root", str(root), "--max-article-mb", "2")[0] == EXIT_OK


@pytest.mark.parametrize("missing", ["seeds"])
def test_missing_seeds_folder(tmp_path: Path, missing: str) -> None:
    code, _, err = run("check", "--root", str(tmp_path))
    assert code == EXIT_PROBLEMS
    assert "the seeds folder does not exist" in err


def test_generation_runs_without_the_cycle_collector_and_restores_it(
        project: ProjectFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.pipeline

    seen: list[bool] = []
    real_check = digest.pipeline.check

    def spying_check(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_check(*args, **kwargs)

    real_build_site = digest.pipeline.build_site

    def spying_build_site(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real_build_site(*args, **kwargs)

    monkeypatch.setattr(digest.pipeline, "check", spying_check)  # digest check, generate and build (cli imports it late)
    monkeypatch.setattr(digest.pipeline, "build_site", spying_build_site)  # digest build: the editions too
    root = project(GOOD)
    assert run("build", "--root", str(root))[0] == EXIT_OK
    assert seen == [False, False] and gc.isenabled()
    seen.clear()
    (root / "seeds/a.yml").write_text((root / "seeds/a.yml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert run("generate", "--root", str(root))[0] == EXIT_OK
    (root / "seeds/a.yml").write_text("title: [broken\n", encoding="utf-8")
    assert run("generate", "--root", str(root))[0] == EXIT_PROBLEMS  # a failed check restores it too
    assert run("check", "--root", str(root))[0] == EXIT_PROBLEMS
    assert seen == [False, False, False]
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that had it off keeps it off
        assert run("check", "--root", str(root))[0] == EXIT_PROBLEMS
        assert not gc.isenabled()
    finally:
        gc.enable()

"""Scale features: long lists split into pages, progress output, the bench."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from digest.cli import main
from digest.pipeline import Options, Project, check
from digest.progress import Progress
from digest.render import render_all
from digest.render.lists import HUB_PAGE_SIZE
from digest.synth import write_corpus

from .conftest import REPO, make_project


def test_synthetic_corpus_is_deterministic_and_valid(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a" / "seeds", 30)
    write_corpus(tmp_path / "b" / "seeds", 30)
    files = sorted(p.name for p in (tmp_path / "a/seeds").iterdir())
    assert len(files) == 62
    for name in files:
        assert (tmp_path / "a/seeds" / name).read_bytes() == (tmp_path / "b/seeds" / name).read_bytes()
    result = check(Project(tmp_path / "a"), Options(strict=True))
    assert len(result.digest.reviewed) == 30 and result.problems == ()


def test_long_hubs_and_editions_are_split(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(130):
        day = dt.date(2026, 11, 23) - dt.timedelta(days=i // 2)
        (seeds / f"a{i:03d}.txt").write_text(f"Article {i}.\n", encoding="utf-8")
        (seeds / f"a{i:03d}.yml").write_text(f"title: Article {i}\ndate: {day}\nsource: Wire\nsummary: S.\n"
                                             "topics: [Common]\n", encoding="utf-8")
    digest = check(Project(tmp_path)).digest
    pages = render_all(digest)
    first, second = pages["digest/topics/common.md"], pages["digest/topics/common/2.md"]
    assert f"## Articles 1–{HUB_PAGE_SIZE} of 130" in first
    assert f"## Articles {HUB_PAGE_SIZE + 1}–130 of 130" in second
    assert "[2](common/2.md)" in first and "[1](../common.md)" in second
    listed = [line for page in (first, second) for line in page.splitlines() if line.startswith("- [")]
    assert len(listed) == 130 and listed[0].startswith("- [Article 0]") and listed[-1].startswith("- [Article 129]")
    # The editions index rolls up by month: one line per month, not per day.
    index = pages["digest/editions/index.md"]
    assert [line.split("]")[0] for line in index.splitlines() if line.startswith("- ")] == [
        "- [November 2026", "- [October 2026", "- [September 2026"]
    assert "digest/editions/2026-11.md" in pages and "digest/editions/2026-10.md" in pages


def test_progress_is_a_bar_on_terminals_and_lines_in_logs() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        progress = Progress(stream, enabled=True)
        progress.start("rendering pages", 1000)
        for _ in range(1000):
            progress.advance()
        progress.done()
    lines = log.getvalue().splitlines()
    assert lines[0] == "digest: rendering pages: 100/1,000"
    assert len(lines) == 11 and re.fullmatch(r"digest: rendering pages: 1,000 in \d+\.\d s", lines[-1])
    assert "[##############################] 1,000/1,000" in tty.getvalue() and "\r" in tty.getvalue()
    quiet = io.StringIO()
    Progress(quiet, enabled=False).start("x", 10)
    assert quiet.getvalue() == ""


def test_long_runs_report_progress_short_runs_do_not(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", None)
    write_corpus(root / "seeds", 500)  # 1,002 files: a long run
    out, err = io.StringIO(), io.StringIO()
    assert main(["generate", "--root", str(root)], out=out, err=err) == 0
    assert "digest: reading seeds: 1,002 in" in err.getvalue()
    assert "digest: rendering pages:" in err.getvalue()


def test_bench_prints_every_figure(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["bench", "40", "--no-search", "--root", str(REPO), "--keep", str(tmp_path)], out=out) == 0
    table = out.getvalue()
    for figure in ("generation, seeds to Markdown (40 articles)", "no-op regeneration", "0 files rewritten",
                   "full build, both editions", "baseline: MkDocs on plain pages", "ratio hosted / baseline",
                   "built size per article (hosted)", "peak memory", "one annotation's title changed"):
        assert figure in table, figure
    changed = int(re.search(r"one annotation's title changed\s*\|\s*(\d+) files rewritten", table).group(1))
    # The article, its edition, the home page, its hubs and search text: a handful, never everything.
    assert 3 <= changed <= 20


def test_editions_open_with_what_is_new(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    plan = [  # (day, entities, topics)
        (1, ["ASELSAN"], ["drones"]), (2, ["ASELSAN", "Baykar"], ["drones"]),
        (3, ["ROKETSAN"], ["drones", "missiles"]), (3, ["Baykar"], ["drones", "missiles"]),
    ]
    for i, (day, entities, topics) in enumerate(plan):
        (seeds / f"a{i}.txt").write_text("Text.\n", encoding="utf-8")
        (seeds / f"a{i}.yml").write_text(
            f"title: T{i}\ndate: 2026-11-0{day}\nsource: S\nsummary: S.\ntopics: [{', '.join(topics)}]\n"
            f"entities:\n  organizations: [{', '.join(entities)}]\n", encoding="utf-8")
    digest = check(Project(tmp_path)).digest
    first, second, third = (dt.date(2026, 11, d) for d in (1, 2, 3))
    assert first not in digest.briefs  # everything is new in the first edition: nothing to brief
    assert digest.briefs[second].first_seen == ("baykar",) and digest.briefs[second].rising == ()
    assert digest.briefs[third].first_seen == ("roketsan",)
    assert digest.briefs[third].rising == (("drones", 2, 1), ("missiles", 2, 0))
    page = render_all(digest)["digest/editions/2026-11-03.md"]
    assert '!!! info "New since the previous editions"' in page
    assert "**First seen:** [ROKETSAN](../entities/roketsan.md)" in page
    assert "[drones](../topics/drones.md) (2 articles; at most 1 in each of the previous 7 editions)" in page

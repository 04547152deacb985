"""``digest bench N``: measure the real pipeline on a synthetic corpus.

Every figure comes from running the real commands in child processes on a
corpus made by :mod:`digest.synth`, in a temporary project, in one run, so
the numbers compare with each other (and with the plain-pages baseline).
The hosted edition and the baseline are built ``rounds`` times, in turns,
and the ratio is the median of the pairs: on this machine one pair can be
a third off the next.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from digest.pipeline import HOSTED_STEP, OFFLINE_STEP
from digest.synth import write_corpus

CHILD = ("import resource, sys\nfrom digest.cli import main\ncode = main(sys.argv[1:])\n"
         "peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,"
         " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
         "sys.stderr.write(f'\\nBENCH-MAXRSS-KB {peak}\\n')\nsys.exit(code)\n")


@dataclass
class Run:
    seconds: float
    peak_mb: float
    out: str
    err: str


@dataclass
class Report:
    n: int
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))

    def table(self) -> str:
        width = max(len(r[0]) for r in self.rows)
        lines = [f"| {'figure'.ljust(width)} | value |", f"| {'-' * width} | --- |"]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in self.rows]
        return "\n".join(lines)


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _tree_rss_kb(root_pid: int) -> int:
    """The resident memory of a process and all its descendants, now (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            fields = text[text.rindex(")") + 2:].split()
        except (OSError, ValueError):
            continue  # it ended meanwhile
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * _PAGE_KB
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def _digest(root: Path, *args: str) -> Run:
    """Run a digest command in a child; its time, and its peak memory: the
    largest of its processes (getrusage), or, when they run side by side
    (MkDocs and Node), all of them together, sampled every 0.2 s."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    started = time.perf_counter()
    # --progress: each step's time, which the table reads, whatever the size.
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args, "--progress", "--root", str(root)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    together = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal together
        while not done.wait(0.2):
            together = max(together, _tree_rss_kb(proc.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"digest {' '.join(args)} failed:\n{err[-3000:]}")
    peak = re.search(r"BENCH-MAXRSS-KB (\d+)", err)
    largest = int(peak.group(1)) if peak else 0
    return Run(seconds, max(largest, together) / 1024, out, err)


def _written(run: Run) -> int:
    m = re.search(r"wrote (\d+) files", run.out)
    return int(m.group(1)) if m else -1


def _stage(run: Run, name: str) -> float:
    m = re.search(rf"{re.escape(name)}: [\d,]+ in ([\d.]+) s", run.err)
    return float(m.group(1)) if m else float("nan")


def make_project(root: Path, repo: Path) -> None:
    root.mkdir(parents=True)
    for name in ("mkdocs.yml", "mkdocs.offline.yml"):
        shutil.copy(repo / name, root / name)
    for folder in ("docs", "overrides"):
        shutil.copytree(repo / folder, root / folder, ignore=shutil.ignore_patterns("digest", ".digest*"))
    (root / "node_modules").symlink_to((repo / "node_modules").resolve())


def _baseline_project(root: Path, seeds: Path, repo: Path) -> Path:
    """The same MkDocs configuration on plain pages with the same text; its
    configuration file."""
    docs = root / "docs"
    (docs / "articles").mkdir(parents=True)
    (docs / "index.md").write_text("# Baseline\n", encoding="utf-8")
    for text_file in sorted(seeds.glob("*.txt")):
        title = re.search(r'^title: (.*)$', (seeds / f"{text_file.stem}.yml").read_text(encoding="utf-8"), re.M)
        heading = json.loads(title.group(1)) if title else text_file.stem
        (docs / "articles" / f"{text_file.stem}.md").write_text(
            f"# {heading}\n\n{text_file.read_text(encoding='utf-8')}", encoding="utf-8")
    config = (repo / "mkdocs.yml").read_text(encoding="utf-8")
    config = config[: config.index("\nnav:")] + "\nnav:\n  - Home: index.md\nnot_in_nav: |\n  /articles/\n"
    # Plain MkDocs and Material: without the digest's template override and
    # its hooks (the generated-pages hook has nothing to do on plain pages;
    # leaving out the indentation hook spares the baseline its cost).
    config = config.replace("  custom_dir: overrides\n", "")
    config = re.sub(r"\n(#.*\n)*hooks:\n(  - .*\n)+", "\n", config)
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    return root / "mkdocs.yml"


def _baseline(config: Path) -> float:
    """One MkDocs build of the baseline project: its time."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)], check=True,
                   env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, cwd=config.parent)
    return time.perf_counter() - started


def offline_search_seconds(index_html: Path, query: str, tries: int = 3) -> float:
    """Median time from the first keystroke of a query to the first result."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("DIGEST_CHROMIUM", "/usr/bin/chromium")
    flags = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync"]
    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags)
        for _ in range(tries):
            page = browser.new_page()
            page.goto(index_html.as_uri())
            page.wait_for_load_state("load")
            started = time.perf_counter()
            page.click("input.md-search__input")
            page.keyboard.type(query)
            page.locator(".md-search-result__item").first.wait_for(timeout=120_000)
            times.append(time.perf_counter() - started)
            page.close()
        browser.close()
    return statistics.median(times)


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench(n: int, repo: Path, out: TextIO, keep: Path | None = None, search: bool = True,
          rounds: int = 3) -> Report:
    """Run every measurement for ``n`` articles and print the table to ``out``."""
    work = Path(tempfile.mkdtemp(prefix=f"digest-bench-{n}-", dir=keep))
    report = Report(n)
    try:
        root = work / "project"
        make_project(root, repo)
        write_corpus(root / "seeds", n)

        def say(text: str) -> None:
            print(f"bench: {text}", file=out, flush=True)

        say(f"{n} articles in {root}")
        gen = _digest(root, "generate")
        report.add(f"generation, seeds to Markdown ({n:,} articles)", f"{gen.seconds:.1f} s")
        noop = _digest(root, "generate")
        report.add("no-op regeneration", f"{noop.seconds:.2f} s, {_written(noop)} files rewritten")
        build = _digest(root, "build")
        hosted, offline = _stage(build, HOSTED_STEP), _stage(build, OFFLINE_STEP)
        report.add("full build, both editions (`digest build`)", f"{build.seconds:.1f} s")
        report.add("hosted edition (MkDocs + search index + guard)", f"{hosted:.1f} s")
        report.add("offline edition (from the hosted one + guard + zip)", f"{offline:.1f} s")
        say("baseline: plain pages, same text, same configuration")
        baseline = _baseline_project(work / "baseline", root / "seeds", repo)
        pairs = [(hosted, _baseline(baseline))]
        # The machine's speed drifts by a third between minutes (README,
        # "Scale"): more pairs, each in turn first, and their median ratio.
        for i in range(1, rounds):
            say(f"hosted edition and baseline again ({i + 1} of {rounds})")
            first = _baseline(baseline) if i % 2 else None
            shutil.rmtree(root / ".digest-cache", ignore_errors=True)  # index it again, as the first time
            again = _stage(_digest(root, "build", "--edition", "hosted"), HOSTED_STEP)
            pairs.append((again, first if first is not None else _baseline(baseline)))
        ratios = [h / b for h, b in pairs]
        report.add("baseline: MkDocs on plain pages with the same text", ", ".join(f"{b:.1f} s" for _, b in pairs))
        report.add("ratio hosted / baseline" + (f" (median of {rounds} pairs)" if rounds > 1 else ""),
                   f"{statistics.median(ratios):.2f}" + (f" ({', '.join(f'{r:.2f}' for r in ratios)}; hosted "
                                                       + ", ".join(f"{h:.1f} s" for h, _ in pairs) + ")"
                                                       if rounds > 1 else ""))
        report.add("built size per article (hosted)", f"{_du(root / 'site') / n / 1024:.1f} KB")
        report.add("peak memory (generation, build)", f"{gen.peak_mb:.0f} MB, {build.peak_mb:.0f} MB")
        # One annotation changes: count the pages rewritten.
        target = sorted((root / "seeds").glob("*.yml"))[n // 2]
        text = target.read_text(encoding="utf-8")
        target.write_text(re.sub(r"^title: .*$", 'title: "A changed title"', text, count=1, flags=re.M),
                          encoding="utf-8")
        change = _digest(root, "generate")
        report.add("one annotation's title changed", f"{_written(change)} files rewritten, {change.seconds:.1f} s")
        if search:
            say("offline search in Chromium")
            entity = next(line for line in (root / "seeds/entities.yml").read_text(encoding="utf-8").splitlines()
                          if line.startswith('"'))
            query = json.loads(entity.rstrip(":")).split(" ")[0]
            seconds = offline_search_seconds(root / "dist/offline/index.html", query)
            report.add(f"offline search, typing '{query}' to first result", f"{seconds:.2f} s")
        print(report.table(), file=out, flush=True)
        return report
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)

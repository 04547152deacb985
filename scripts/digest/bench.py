"""``digest bench N [N ...]``: measure the real pipeline on synthetic corpora.

Every figure comes from running the real commands in child processes on a
corpus made by :mod:`digest.synth`, in a temporary project, in one run, so
the numbers compare with each other (and with the plain-pages baseline).
Full builds and baseline builds are made ``rounds`` times, in turns, and
each figure is the median: on this machine one run can be a third off the
next. With several sizes, the rounds of all sizes take turns too, and a last
table compares each size's median full build with the size before it.
"""

from __future__ import annotations

import itertools
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from digest import daemon
from digest.memo import MEMO_FILE
from digest.names import CACHE
from digest.pipeline import FEEDS_STEP, HOSTED_STEP, OFFLINE_STEP
from digest.printed import PRINT_STEP
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
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: str) -> None:
        self.rows.append((name, value))

    def table(self) -> str:
        width = max(len(r[0]) for r in self.rows)
        lines = [f"| {'figure'.ljust(width)} | value |", f"| {'-' * width} | --- |"]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in self.rows]
        return "\n".join(lines)


_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _pss_kb(pid: int, rss_kb: int) -> int:
    """A process's proportional share of memory (Linux: pages it shares with
    another process, such as a forked child and its parent, count half to
    each); its resident memory where the system does not say."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return rss_kb
    m = re.search(r"^Pss:\s+(\d+) kB", text, re.M)
    return int(m.group(1)) if m else rss_kb


def _tree_memory_kb(root_pid: int, without_root: bool = False) -> int:
    """The memory of a process and all its descendants together, now (Linux);
    ``without_root``: of its descendants only.

    Summed as proportional shares, not resident sizes: a forked child's
    resident size counts every page it still shares with its parent, which
    the sum would count twice (generation forks one while it holds the model).
    """
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
        if pid in rss and not (without_root and pid == root_pid):
            total += _pss_kb(pid, rss[pid])
        todo += children.get(pid, [])
    return total


def _resident_peak_kb(pid: int) -> int:
    """A running process's own peak resident memory (Linux's VmHWM)."""
    m = re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(m.group(1)) if m else 0


@contextmanager
def _sampled(pid: int, without_root: bool = False) -> Iterator[Callable[[], int]]:
    """The peak memory of a process and its descendants together (KB),
    sampled every 0.2 s while the block runs; read it with the function
    given. ``without_root``: of its descendants only (a large process's
    proportional share costs the kernel a walk of its memory: sampled five
    times a second, the build server's took 0.15 s from a 2.5 s build)."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.2):
            peak = max(peak, _tree_memory_kb(pid, without_root))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield lambda: peak
    finally:
        done.set()
        sampler.join()


@contextmanager
def _stopped(proc: subprocess.Popen[str]) -> Iterator[None]:
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _edit_build(root: Path, *args: str) -> Run:
    """``digest build`` after an edit, through the build server, as an
    analyst runs it: what earlier builds wrote is on disk first, as it is
    when edits come a minute apart (each build syncs the file system
    before it swaps its trees in, which would otherwise wait for the
    writing of the full build's gigabytes)."""
    os.sync()
    return _digest(root, "build", *args, server="--no-daemon" not in args)


def _digest(root: Path, *args: str, server: bool = False) -> Run:
    """Run a digest command in a child; its time, and its peak memory: the
    largest of its processes (getrusage), or, when they run side by side
    (MkDocs and Node), all of them together (proportional shares), sampled
    every 0.2 s. ``server``: a build goes to the project's build server
    (digest.daemon), as a user's does, whose memory is not the child's;
    else it runs in the child."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", daemon.ENABLE: "1" if server else "0"}
    started = time.perf_counter()
    # --progress: each step's time, which the table reads, whatever the size.
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args, "--progress", "--root", str(root)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    with _sampled(proc.pid) as together:
        out, err = proc.communicate()
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"digest {' '.join(args)} failed:\n{err[-3000:]}")
    peak = re.search(r"BENCH-MAXRSS-KB (\d+)", err)
    largest = int(peak.group(1)) if peak else 0
    return Run(seconds, max(largest, together()) / 1024, out, err)


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


@dataclass
class _Size:
    """One corpus size's project and what its runs measured."""

    n: int
    root: Path
    baseline: Path
    report: Report
    gen: Run
    builds: list[Run] = field(default_factory=list)
    baselines: list[float] = field(default_factory=list)

    def full(self) -> float:
        """The median full build."""
        return statistics.median(b.seconds for b in self.builds)

    def baseline_median(self) -> float:
        return statistics.median(self.baselines)


def _prepare(n: int, work: Path, repo: Path, say: Callable[[str], None], long: bool = False) -> _Size:
    """The project of ``n`` articles (in synth's long shape with ``long``) and
    its baseline, generated; the generation and the no-op regeneration timed."""
    root = work / f"project-{n}"
    make_project(root, repo)
    write_corpus(root / "seeds", n, long=long)
    baseline = _baseline_project(work / f"baseline-{n}", root / "seeds", repo)
    # Writing the corpus and the baseline's pages is not the generation's
    # work: let it reach the disk first, or the generation's own writes wait
    # behind it (12,000 files took 4.2 s to write instead of 1.2 s right after
    # as many files had been deleted).
    os.sync()
    say(f"{n} articles in {root}")
    size = _Size(n, root, baseline, Report(), _digest(root, "generate"))
    size.report.add(f"generation, seeds to Markdown ({n:,} {'long ' if long else ''}articles)",
                    f"{size.gen.seconds:.1f} s")
    noop = _digest(root, "generate")
    size.report.add("no-op regeneration", f"{noop.seconds:.2f} s, {_written(noop)} files rewritten")
    return size


def _round(size: _Size, i: int, say: Callable[[str], None]) -> None:
    """One full build and one baseline build, in turns: each goes first every other round."""
    say(f"{size.n} articles: full build and baseline ({i + 1})")
    first = _baseline(size.baseline) if i % 2 else None
    shutil.rmtree(size.root / CACHE, ignore_errors=True)  # the search index made again, as the first time
    size.builds.append(_digest(size.root, "build"))
    size.baselines.append(first if first is not None else _baseline(size.baseline))


def _seconds(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.1f} s" for v in values)


def _finish(size: _Size, search: bool, say: Callable[[str], None]) -> None:
    """The build figures from the rounds; then size, memory, a change and search."""
    report, n, root = size.report, size.n, size.root
    hosted = [_stage(b, HOSTED_STEP) for b in size.builds]
    offline = [_stage(b, OFFLINE_STEP) for b in size.builds]
    fulls = [b.seconds for b in size.builds]
    several = len(size.builds) > 1
    runs = f", median of {len(fulls)}" if several else ""
    report.add(f"full build, both editions (`digest build`){runs}",
               f"{size.full():.1f} s" + (f" ({_seconds(fulls)})" if several else ""))
    report.add("hosted edition (MkDocs + search index + guard)", _seconds(hosted))
    report.add("offline edition (from the hosted one + guard + zip)", _seconds(offline))
    report.add("baseline: MkDocs on plain pages with the same text", _seconds(size.baselines))
    ratios = [h / b for h, b in zip(hosted, size.baselines, strict=True)]
    report.add("ratio hosted / baseline" + (f" (median of {len(ratios)} pairs)" if several else ""),
               f"{statistics.median(ratios):.2f}" + (f" ({', '.join(f'{r:.2f}' for r in ratios)})" if several else ""))
    report.add("ratio full build / baseline (medians)", f"{size.full() / size.baseline_median():.2f}")
    report.add("built size per article (hosted)", f"{_du(root / 'site') / n / 1024:.1f} KB")
    report.add("peak memory (generation, build)",
               f"{size.gen.peak_mb:.0f} MB, {max(b.peak_mb for b in size.builds):.0f} MB")
    # Both are made by the generation; against generation + full build.
    whole = size.gen.seconds + size.full()
    feeds, printing = _stage(size.gen, FEEDS_STEP), _stage(size.gen, PRINT_STEP)
    printed = len(list((root / "site" / "digest" / "briefs").glob("*.pdf")))
    report.add("feeds (Atom + JSON Feed, every hub), of generation + full build",
               f"{feeds:.2f} s ({feeds / whole:.1%}), {len(list((root / 'site/digest/feeds').rglob('*.*')))} files")
    report.add(f"printed briefs of the newest {printed} editions, of generation + full build",
               f"{printing:.2f} s ({printing / whole:.1%}), {printing / max(printed, 1):.2f} s a brief")
    say(f"{n} articles: damaged-text detection")
    warnings, check_seconds, detect_seconds = _damage_figures(root)
    report.add("damaged-text warnings (random words: coincidences)", f"{warnings / n * 1000:.1f} per 1,000 articles")
    report.add("damaged-text detection / `digest check` without memo",
               f"{detect_seconds:.2f} s / {check_seconds:.1f} s ({detect_seconds / check_seconds:.1%})")
    say(f"{n} articles: the analyst's loop")
    _loop(size, say)
    say(f"{n} articles: a printed brief for every edition")
    every = _digest(root, "generate", "--all-briefs")
    editions = len(list((root / "docs/digest/editions").glob("????-??-??.md")))
    report.add(f"printed briefs of all {editions} editions (`--all-briefs`; the newest reused)",
               f"{_stage(every, PRINT_STEP):.1f} s ({_stage(every, PRINT_STEP) / whole:.0%} of generation + full build)")
    if search:
        say(f"{n} articles: offline search in Chromium")
        entity = next(line for line in (root / "seeds/entities.yml").read_text(encoding="utf-8").splitlines()
                      if line.startswith('"'))
        query = json.loads(entity.rstrip(":")).split(" ")[0]
        seconds = offline_search_seconds(root / "dist/offline/index.html", query)
        report.add(f"offline search, typing '{query}' to first result", f"{seconds:.2f} s")


def _damage_figures(root: Path) -> tuple[int, float, float]:
    """The damage warnings ``digest check`` gives (run without the memo, so
    every article is read), its time, and the detector's own time over every
    text (measured here, on the same seeds and names)."""
    from digest.annotate import known
    from digest.damage import Detector
    from digest.memo import Memo

    memo = root / MEMO_FILE
    aside = memo.with_suffix(".aside")
    if memo.exists():
        memo.rename(aside)
    try:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "digest", "check", "--root", str(root)], capture_output=True,
                              text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
        check_seconds = time.perf_counter() - started
    finally:
        if aside.exists():
            aside.rename(memo)
    warnings = sum(": text: warning:" in line for line in proc.stderr.splitlines())
    seen = known(root / "seeds", Memo.off())  # every name the registries and annotations know, as the check has them
    started = time.perf_counter()
    detector = Detector(seen.spellings)
    for ident, seed in seen.raw.articles.items():
        annotated = seen.checked.annotations.get(ident)
        detector.find(seed.text, (annotated.values.get("corrections") or {}) if annotated else {})
    return warnings, check_seconds, time.perf_counter() - started


def _how(run: Run) -> str:
    """Which kind of build ran, as the build said it."""
    m = re.search(r"^digest: (full build|incremental build|no build needed)", run.out, re.M)
    return m.group(1) if m else "?"


def _set_title(path: Path, title: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"^title: .*$", f"title: {json.dumps(title)}", text, count=1, flags=re.M),
                    encoding="utf-8")


def _loop(size: _Size, say: Callable[[str], None]) -> None:
    """The analyst's loop on the built project: a build after no change, one
    title (three in turn), one article added (three in turn), one alias;
    then ``digest serve``, from a save
    to the served page holding it."""
    report, root = size.report, size.root
    seeds = root / "seeds"
    annotations = sorted(p for p in seeds.glob("*.yml") if p.stem not in ("entities", "sources"))
    # The rounds' builds started from a clean cache: one edit first, so the
    # rows below measure the loop as it runs all day (memo and record made).
    _set_title(annotations[1], "A title changed to warm the cache")
    warm = _digest(root, "build", server=True)
    report.add("first edit after a clean build (`digest build`; makes the memo, starts the build server)",
               f"{warm.seconds:.1f} s, {_how(warm)}")
    server = daemon.server_pid(root)
    if server is None:
        raise RuntimeError("digest build started no build server")
    # The server's own peak from the kernel, its children's sampled
    # (sampling the server itself costs its builds time: see _sampled).
    with _sampled(server, without_root=True) as children_peak:
        same = _digest(root, "build", server=True)
        report.add("no change (`digest build`)", f"{same.seconds:.2f} s, {_how(same)}, {_written(same)} files written")
        titles = []
        for k, at in enumerate((2, 3, 5)):  # an analyst's edits, one after another
            _set_title(annotations[len(annotations) * at // 7], f"A changed title {k}")
            time.sleep(1)  # saved, then built a moment later, as by hand
            titles.append(_edit_build(root))
        title = titles[-1]
        report.add("one title changed (`digest build`, both editions + zip), three edits in turn",
                   f"{statistics.median(t.seconds for t in titles):.1f} s, median of"
                   f" {', '.join(f'{t.seconds:.2f}' for t in titles)} s; {_how(title)}, {_written(title)} files written")
        adds = []
        for k, at in enumerate((1, 3, 4)):  # like the titles: single builds vary by 10 to 20%
            source = annotations[len(annotations) * at // 9]
            for suffix in (".txt", ".yml"):
                shutil.copy(source.with_suffix(suffix), seeds / f"bench-added-{k}{suffix}")
            _set_title(seeds / f"bench-added-{k}.yml", f"An article added {k}")
            time.sleep(1)
            adds.append(_edit_build(root))
        added = adds[-1]
        report.add("one article added (`digest build`), three articles in turn",
                   f"{statistics.median(a.seconds for a in adds):.1f} s, median of"
                   f" {', '.join(f'{a.seconds:.2f}' for a in adds)} s; {_how(added)}, {_written(added)} files written")
        registry = seeds / "entities.yml"
        text = registry.read_text(encoding="utf-8")
        texts = [p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt"))]
        # An alias the articles use: renaming it changes every page that mentions
        # the entity through it, and its dossier.
        alias = next((a for line in text.splitlines() if line.strip().startswith("aliases:")
                      for a in json.loads(line.split(":", 1)[1])
                      if sum(1 for t in texts if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", t)) >= 3), None)
        if alias:
            registry.write_text(text.replace(json.dumps(alias), json.dumps(f"{alias} renamed"), 1),
                                encoding="utf-8")
            changed = _edit_build(root)
            report.add("one registry alias the articles use renamed (`digest build`; no target)",
                       f"{changed.seconds:.1f} s, {_how(changed)}, {_written(changed)} files written")
        server_kb = _resident_peak_kb(server)
        daemon.stop(root)
    report.add("build server: peak memory (the server's own peak + its children's)",
               f"{(server_kb + children_peak()) / 1024:.0f} MB")
    _set_title(annotations[len(annotations) * 6 // 7], "A title changed in a new process")
    alone = _edit_build(root, "--no-daemon")
    report.add("one title changed, `digest build --no-daemon` (a new process)",
               f"{alone.seconds:.1f} s, {_how(alone)}")
    times, peak = _serve_roundtrip(root, [annotations[len(annotations) // 4 + k] for k in range(SAVES)])
    report.add("`digest serve`: save to the served page holding the change",
               f"{statistics.median(times):.1f} s, median of {len(times)} saves in turn"
               f" ({', '.join(f'{t:.1f}' for t in times)} s)")
    report.add("`digest serve`: peak memory (the server's own peak + its children's)", f"{peak:.0f} MB")


SAVES = 3  # saves timed in one `digest serve`, one after another, as an analyst makes them


def _serve_roundtrip(root: Path, annotations: list[Path], timeout: float = 600) -> tuple[list[float], float]:
    """Start ``digest serve``; for each annotation in turn, save a new
    title and poll the article's page until it shows the title: the seconds
    from each save, and the peak memory of the server and its children
    meanwhile."""
    import urllib.request

    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "digest", "serve", "--root", str(root),
                             "--dev-addr", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)
    with _sampled(proc.pid, without_root=True) as peak, _stopped(proc):
        assert proc.stdout is not None
        address = ""
        for line in proc.stdout:
            m = re.search(r"serving the hosted edition at (http://\S+/)", line)
            if m:
                address = m.group(1)
                break
        if not address:
            raise RuntimeError("digest serve did not start")
        said: list[str] = []  # the builds' lines, one a build
        stdout = proc.stdout
        threading.Thread(target=lambda: said.extend(line for line in stdout if line.startswith("digest: ")),
                         daemon=True).start()  # keeps its pipe drained
        # The watcher starts just after that line; an analyst saves later than that.
        time.sleep(1)
        built = root / "site" / "digest" / "articles"
        times: list[float] = []
        for annotation in annotations:
            page = address + ("digest/articles/" + (f"{annotation.stem}.html"
                                                   if (built / f"{annotation.stem}.html").is_file()
                                                   else f"{annotation.stem}/"))
            title = f"Saved at {time.time_ns()}"
            builds = len(said)
            _set_title(annotation, title)
            started = time.perf_counter()
            shown = False
            while not shown:
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(f"{page} did not show the change within {timeout:.0f} s")
                with suppress(OSError), urllib.request.urlopen(page, timeout=10) as response:
                    shown = title.encode() in response.read()
                if not shown:
                    time.sleep(0.05)
            times.append(time.perf_counter() - started)
            # The build goes on (the offline edition, the zip): the next
            # save comes once it has said it is done, as it would be.
            while len(said) == builds and time.perf_counter() - started < timeout:
                time.sleep(0.05)
        return times, (_resident_peak_kb(proc.pid) + peak()) / 1024


def _growth(sizes: Sequence[_Size]) -> Report:
    """How each size's median full build compares with the size before it:
    the ratio of times against the ratio of articles."""
    report = Report()
    for small, large in itertools.pairwise(sizes):
        report.add(f"full build, {large.n:,} / {small.n:,} articles (x{large.n / small.n:g} the articles)",
                   f"{large.full() / small.full():.2f} ({large.full():.1f} s / {small.full():.1f} s)")
        report.add(f"baseline, {large.n:,} / {small.n:,} articles",
                   f"{large.baseline_median() / small.baseline_median():.2f}")
    return report


def bench(sizes: Sequence[int], repo: Path, out: TextIO, keep: Path | None = None, search: bool = True,
          rounds: int = 3, long: bool = False) -> list[Report]:
    """Run every measurement for each number of articles in ``sizes`` and
    print a table for each (and, for several sizes, how the build grows).

    The full builds and the baselines of all sizes take turns, round by
    round, so a slow spell of the machine falls on every size alike.
    """
    work = Path(tempfile.mkdtemp(prefix="digest-bench-", dir=keep))

    def say(text: str) -> None:
        print(f"bench: {text}", file=out, flush=True)

    try:
        prepared = [_prepare(n, work, repo, say, long) for n in sizes]
        for i in range(rounds):
            for size in prepared:
                _round(size, i, say)
        for size in prepared:
            _finish(size, search, say)
        reports = [size.report for size in prepared]
        if len(prepared) > 1:
            reports.append(_growth(sorted(prepared, key=lambda s: s.n)))
        print("\n\n".join(r.table() for r in reports), file=out, flush=True)
        return reports
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)

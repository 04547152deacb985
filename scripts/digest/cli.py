"""The ``digest`` command: thin glue from arguments to the library."""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from digest.fsutil import Busy, give_back_memory, project_lock
from digest.load import Limits
from digest.model import Digest
from digest.pipeline import Checked, Options, Project, build_site, check, generate, tidy, up_to_date
from digest.problems import CheckFailed, DigestError, summary_line
from digest.progress import LONG_RUN, Progress

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_BUILD, EXIT_BUSY = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digest", description="Turn annotated articles in seeds/ into a digest site.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=Path("."), help="project folder (default: current folder)")
    common.add_argument("--strict", action="store_true", help="treat warnings as errors")
    common.add_argument("--drafts", action="store_true", help="include annotations marked draft: true")
    common.add_argument("--progress", action="store_true",
                        help=f"show each step's count and time even for a short run (on from {LONG_RUN:,} files)")
    common.add_argument("--max-article-mb", type=float, default=Limits.max_article_bytes / 2**20,
                        help="refuse article files larger than this (default: %(default)s MiB)")
    common.add_argument("--max-annotation-mb", type=float, default=Limits.max_annotation_bytes / 2**20,
                        help="refuse annotation files larger than this (default: %(default)s MiB)")
    sub.add_parser("check", parents=[common], help="validate seeds/ and print every problem")
    sub.add_parser("generate", parents=[common], help="check, then write the Markdown under docs/digest/")
    b = sub.add_parser("build", parents=[common], help="check, generate, and build the hosted and offline editions")
    b.add_argument("--edition", choices=("both", "hosted", "offline"), default="both")
    b.add_argument("--full", action="store_true",
                   help="build every page of both editions, even when only some changed")
    bench = sub.add_parser("bench", help="measure the pipeline on a synthetic corpus of N articles (or of each N)")
    bench.add_argument("n", type=int, nargs="*", default=[1000],
                       help="numbers of articles (default: 1000); with several, also how the build grows")
    bench.add_argument("--root", type=Path, default=Path("."), help="project whose configuration and assets to use")
    bench.add_argument("--keep", type=Path, default=None, help="keep the generated project under this folder")
    bench.add_argument("--no-search", action="store_true", help="skip the browser search measurement")
    bench.add_argument("--long", action="store_true",
                       help="a heavier corpus: longer articles, three quotes and 8 to 20 entities each, 1,500 entities")
    bench.add_argument("--rounds", type=int, default=3,
                       help="full and baseline builds, in turns; each figure is their median (default: %(default)s)")
    return parser


def _counts(digest: Digest) -> str:
    return (f"{len(digest.reviewed)} reviewed, {len(digest.unreviewed)} unreviewed articles in "
            f"{len(digest.editions)} editions")


def _check(project: Project, options: Options, err: TextIO) -> Checked | None:
    """Run the check and print its problems; None when it failed."""
    try:
        result = check(project, options)
    except CheckFailed as exc:
        for problem in exc.problems:
            print(problem.format(), file=err)
        print(f"digest: {summary_line(exc.problems)}; nothing was written", file=err)
        return None
    for problem in result.problems:
        print(problem.format(), file=err)
    return result


@contextlib.contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a corpus is read and rendered.

    Generation builds millions of objects that live until it ends (YAML
    nodes, the model, the pages), and the collector scanned them again each
    time the heap had grown by a quarter: at 10,000 articles that was 4 of
    23 s, and reading took 6.3 s with it against 3.5 s without. The run
    makes little cyclic garbage (peak memory is the same either way), and
    main() collects once generation is over.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(project: Project, options: Options, out: TextIO, err: TextIO) -> bool:
    """Check and write docs/digest/; False when the check failed. A function of
    its own so that the corpus and the Digest are freed when it returns."""
    with _without_cycle_collection():
        return _check_and_write(project, options, out, err)


def _check_and_write(project: Project, options: Options, out: TextIO, err: TextIO) -> bool:
    result = _check(project, options, err)
    if result is None:
        return False
    report = generate(project, result.digest, options)
    print(f"digest: {_counts(result.digest)}; wrote {len(report.written)} files, {report.unchanged} unchanged, "
          f"removed {len(report.removed)}", file=out)
    return True


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    if args.command == "bench":
        from digest.bench import bench

        if args.rounds < 1:
            print("digest bench: --rounds must be at least 1", file=err)
            return EXIT_USAGE
        if min(args.n) < 1 or len(set(args.n)) != len(args.n):
            print("digest bench: each number of articles must be positive, and given once", file=err)
            return EXIT_USAGE
        bench(args.n, args.root.resolve(), out, keep=args.keep, search=not args.no_search, rounds=args.rounds,
              long=args.long)
        return EXIT_OK
    project = Project(args.root.resolve())
    seeds_count = sum(1 for _ in project.seeds.iterdir()) if project.seeds.is_dir() else 0
    progress = Progress(err, enabled=args.progress or seeds_count >= LONG_RUN)
    options = Options(strict=args.strict, drafts=args.drafts, progress=progress,
                      limits=Limits(int(args.max_article_mb * 2**20), int(args.max_annotation_mb * 2**20)))
    started = time.perf_counter()
    if args.command == "check":
        with _without_cycle_collection():
            result = _check(project, options, err)
        if result is None:
            return EXIT_PROBLEMS
        print(f"digest: {_counts(result.digest)}; {summary_line(result.problems)}", file=out)
        return EXIT_OK
    try:
        with project_lock(project.root):
            tidy(project)
            if up_to_date(project, options):
                print("digest: seeds/ unchanged since the last run; wrote 0 files", file=out)
            elif not _generate(project, options, out, err):
                return EXIT_PROBLEMS
            # The corpus and the model are gone by now (their cycles collected
            # here, the memory handed back to the system), so the site build's
            # own work (the search documents, the guard) does not add to it;
            # MkDocs and Node run as child processes.
            gc.collect()
            give_back_memory()
            if args.command == "build":
                how = build_site(project, hosted=args.edition in ("both", "hosted"), offline=args.edition in ("both", "offline"),
                                 progress=progress, incremental=not args.full)
                built = [str(p.relative_to(project.root)) for p, on in (
                    (project.site, args.edition != "offline"), (project.offline_zip, args.edition != "hosted")) if on]
                print(f"digest: {how}", file=out)
                print(f"digest: built {', '.join(built)} in {time.perf_counter() - started:.1f} s", file=out)
    except Busy as exc:
        print(f"digest: {exc}", file=err)
        return EXIT_BUSY
    except DigestError as exc:
        print(f"digest: {exc}", file=err)
        return EXIT_BUILD
    return EXIT_OK

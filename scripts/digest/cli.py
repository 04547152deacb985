"""The ``digest`` command: thin glue from arguments to the library.

The library is imported only once the command needs it: ``digest build``
hands its build to the project's build server (digest.daemon) having
imported no more than the command line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from digest.limits import Limits
from digest.progress import LONG_RUN

if TYPE_CHECKING:
    from digest.pipeline import Checked, Options, Project, Warm
    from digest.problems import CheckFailed

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
    common.add_argument("--audience", type=_audience, default=None, metavar="LABEL",
                        help="build for readers cleared for this TLP label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED): "
                             "only items marked at or below it; 'full' for every item (default: as mkdocs.yml's "
                             "extra.digest.audience says, else full)")
    common.add_argument("--all-briefs", action="store_true",
                        help="a printed brief (PDF) for every edition, not only the newest (extra.digest.print.newest)")
    sub.add_parser("check", parents=[common], help="validate seeds/ and print every problem")
    sub.add_parser("generate", parents=[common], help="check, then write the Markdown under docs/digest/")
    b = sub.add_parser("build", parents=[common], help="check, generate, and build the hosted and offline editions")
    b.add_argument("--edition", choices=("both", "hosted", "offline"), default="both")
    b.add_argument("--full", action="store_true",
                   help="build every page of both editions, even when only some changed")
    b.add_argument("--no-daemon", action="store_true",
                   help="build in this process, not in the project's build server (which this command starts "
                        "when none runs, and which keeps what it read between builds)")
    daemon = sub.add_parser("daemon", help="the project's build server, which digest build starts and uses")
    daemon.add_argument("--root", type=Path, default=Path("."), help="project folder (default: current folder)")
    daemon.add_argument("--stop", action="store_true", help="stop the project's build server, if one runs")
    daemon.add_argument("--stamp", default="", help=argparse.SUPPRESS)  # the clients it serves (daemon.stamp)
    serve = sub.add_parser("serve", parents=[common],
                           help="build, serve the hosted edition, and rebuild and reload on every save")
    serve.add_argument("--dev-addr", default="127.0.0.1:8000", metavar="HOST:PORT",
                       help="where to serve (default: %(default)s)")
    new = sub.add_parser("new", help="bring an article (.txt, .md or a saved .html page) into seeds/ with a draft annotation")
    new.add_argument("path", type=Path, help="the article's file")
    new.add_argument("--root", type=Path, default=Path("."), help="project folder (default: current folder)")
    new.add_argument("--id", dest="ident", default=None, help="the new item's id (default: from the date and the title)")
    new.add_argument("--date", type=_date, default=None, help="the digest date, YYYY-MM-DD (default: today)")
    suggest = sub.add_parser("suggest", help="print an item's corrections: block with the damaged words' fixes added")
    suggest.add_argument("ident", metavar="ID", help="the article's id (its file name without extension)")
    suggest.add_argument("--root", type=Path, default=Path("."), help="project folder (default: current folder)")
    schema = sub.add_parser("schema", help="write the JSON Schema of annotations and registries to docs/schema/")
    schema.add_argument("--root", type=Path, default=Path("."), help="project folder (default: current folder)")
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


def _audience(text: str) -> str:
    from digest.schema import TLP_LABELS, tlp_label

    if text.strip().lower() == "full":
        return ""
    label = tlp_label(text)
    if label is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TLP label; use one of {', '.join(TLP_LABELS)} or full")
    return label


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, not {text!r}") from None


def build_options_key(argv: Sequence[str]) -> tuple[object, ...]:
    """What in a ``digest build`` command line shapes what a build learns
    (digest.daemon keeps one build's state for the next only when equal)."""
    args = _parser().parse_args(argv)
    return (args.strict, args.drafts, args.max_article_mb, args.max_annotation_mb, args.audience, args.all_briefs)


def _annotate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``digest new``, ``digest suggest`` and ``digest schema``."""
    from digest.annotate import Refusal, new_item, suggest
    from digest.fsutil import Busy
    from digest.schema_json import SCHEMA_DIR, write

    root = args.root.resolve()
    if args.command == "schema":
        changed = write(root)
        print(f"digest: {SCHEMA_DIR.as_posix()}/: " + (f"wrote {', '.join(changed)}" if changed else "up to date"), file=out)
        return EXIT_OK
    try:
        if args.command == "suggest":
            out.write(suggest(root, args.ident))
            return EXIT_OK
        made = new_item(root, args.path, ident=args.ident, date=args.date)
    except Refusal as exc:
        print(f"digest {args.command}: {exc}; nothing was written", file=err)
        return EXIT_PROBLEMS
    except Busy as exc:
        print(f"digest: {exc}", file=err)
        return EXIT_BUSY
    for note in made.notes:
        print(f"digest new: warning: {note}", file=err)
    print(f"digest new: wrote {made.article.relative_to(root)} and {made.annotation.relative_to(root)} "
          "(a draft: write its summary, then delete 'draft: true')", file=out)
    return EXIT_OK


def _check(project: Project, options: Options, err: TextIO) -> Checked | None:
    """Run the check and print its problems; None when it failed."""
    from digest.pipeline import check
    from digest.problems import CheckFailed

    try:
        result = check(project, options)
    except CheckFailed as exc:
        _failed(exc, err)
        return None
    for problem in result.problems:
        print(problem.format(), file=err)
    return result


def _failed(exc: CheckFailed, err: TextIO) -> None:
    from digest.problems import summary_line

    for problem in exc.problems:
        print(problem.format(), file=err)
    print(f"digest: {summary_line(exc.problems)}; nothing was written", file=err)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None,
         warm: Warm | None = None) -> int:
    """The command; ``warm``: the build server's state, for its builds (digest.daemon)."""
    out = out or sys.stdout
    err = err or sys.stderr
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    if args.command == "daemon":
        from digest import daemon

        if args.stop:
            print("digest: the build server " + ("stopped" if daemon.stop(args.root.resolve()) else "was not running"),
                  file=out)
            return EXIT_OK
        return daemon.run(args.root, args.stamp or daemon.stamp())
    if args.command == "build" and warm is None:
        from digest import daemon

        if daemon.wanted(args.no_daemon):
            code = daemon.build(args.root.resolve(), argv, out, err)
            if code is not None:
                return code
    from digest.fsutil import Busy
    from digest.pipeline import Options, Project, counts, run_build, without_cycle_collection
    from digest.problems import CheckFailed, DigestError, summary_line
    from digest.progress import Progress

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
    if args.command in ("new", "suggest", "schema"):
        return _annotate(args, out, err)
    project = Project(args.root.resolve())
    seeds_count = sum(1 for _ in project.seeds.iterdir()) if project.seeds.is_dir() else 0
    progress = Progress(err, enabled=args.progress or seeds_count >= LONG_RUN)
    options = Options(strict=args.strict, drafts=args.drafts, progress=progress, audience=args.audience,
                      all_briefs=args.all_briefs,
                      limits=Limits(int(args.max_article_mb * 2**20), int(args.max_annotation_mb * 2**20)))
    if args.command == "check":
        with without_cycle_collection():
            result = _check(project, options, err)
        if result is None:
            return EXIT_PROBLEMS
        print(f"digest: {counts(result.digest)}; {summary_line(result.problems)}", file=out)
        return EXIT_OK
    try:
        if args.command == "serve":
            from digest.serve import parse_address, serve

            try:
                address = parse_address(args.dev_addr)
            except ValueError as exc:
                print(f"digest serve: --dev-addr: {exc}", file=err)
                return EXIT_USAGE
            return serve(project, options, address, out, err)
        built = run_build(project, options, hosted=args.command == "generate" or args.edition in ("both", "hosted"),
                          offline=args.command == "generate" or args.edition in ("both", "offline"),
                          incremental=not getattr(args, "full", False), site=args.command == "build", warm=warm)
    except CheckFailed as exc:
        _failed(exc, err)
        return EXIT_PROBLEMS
    except Busy as exc:
        print(f"digest: {exc}", file=err)
        return EXIT_BUSY
    except DigestError as exc:
        print(f"digest: {exc}", file=err)
        return EXIT_BUILD
    for problem in built.problems:
        print(problem.format(), file=err)
    if built.report is None:
        print("digest: seeds/ unchanged since the last run; wrote 0 files", file=out)
    else:
        print(f"digest: {built.counts}; wrote {len(built.report.written)} files, {built.report.unchanged} unchanged, "
              f"removed {len(built.report.removed)}", file=out)
        if built.learned:
            print(f"digest: {built.learned}", file=out)
    for note in built.notes:
        print(f"digest: {note}", file=out)
    if args.command == "build":
        shown = [str(p.relative_to(project.root)) for p, on in (
            (project.site, args.edition != "offline"), (project.offline_zip, args.edition != "hosted")) if on]
        print(f"digest: {built.how}", file=out)
        print(f"digest: built {', '.join(shown)} in {built.seconds:.1f} s", file=out)
    return EXIT_OK

"""Stage 1: read ``seeds/`` into raw records, keeping every YAML node's position.

Nothing here judges the annotations' content; it only finds the files, decodes
them and parses YAML into nodes. File-level problems (names, encodings, sizes,
YAML syntax) are reported here.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import charset_normalizer
import yaml

from digest.limits import Limits
from digest.memo import MISS, Memo
from digest.memo import key as memo_key
from digest.problems import Problem, Severity
from digest.progress import QUIET, Progress
from digest.reading import Folder, Refused, open_folder
from digest.schema import ID_RE

ARTICLE_SUFFIXES: Final = (".txt", ".md")
ANNOTATION_SUFFIXES: Final = (".yml", ".yaml")
REGISTRIES: Final = ("sources", "entities")


@dataclass(frozen=True)
class ArticleFile:
    id: str
    rel: str  # the path as shown to people, e.g. seeds/x.txt
    format: str  # "txt" or "md"
    text: str
    digest: bytes = b""  # a hash of the file's bytes, for digest.memo's keys


@dataclass(frozen=True)
class YamlFile:
    id: str
    rel: str
    node: yaml.Node | None  # None when the file is empty, failed to parse, or is known
    digest: bytes = b""  # a hash of the path and the bytes: the file's key in digest.memo
    load_problems: tuple[Problem, ...] = ()  # this file's problems found while reading it
    known: Any = None  # the schema's outcome, remembered by an earlier run (digest.validate)


# What a run that stays (digest serve) knows of each seed file it read, by
# name: the file's stamp (reading.Entry), and what reading it gave: an
# article's record and its problems, or an annotation's key in digest.memo.
Known = dict[str, tuple[tuple[int, ...], "ArticleFile | bytes", tuple[Problem, ...]]]
# A file changed less than this long ago is read again next time, whatever
# its stamp: a save in the same tick of the file system's clock as the
# read before it would leave its size and times as they were.
SETTLED_NS: Final = 1_000_000_000


@dataclass
class RawCorpus:
    articles: dict[str, ArticleFile] = field(default_factory=dict)
    annotations: dict[str, YamlFile] = field(default_factory=dict)
    registries: dict[str, YamlFile] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    known: Known = field(default_factory=dict)  # for the next run's ``known`` (see load)


def _problem(rel: str, fld: str, message: str, hint: str = "",
             severity: Severity = Severity.ERROR, line: int = 1, col: int = 1) -> Problem:
    return Problem(rel, line, col, fld, message, hint, severity)


ALIAS_MESSAGE: Final = "YAML aliases (*name) are not supported"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses aliases where they are written.

    Refusing them outright bounds memory and time: an alias bomb never expands,
    and the error points at the ``*name`` the analyst typed.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, ALIAS_MESSAGE,
                event.start_mark)
        return super().compose_node(parent, index)


def decode(data: bytes, rel: str, problems: list[Problem], empty_hint: str) -> str | None:
    """Bytes to text: UTF-8 (with or without BOM) first, then a detected legacy
    encoding, announced with a warning. Never replaces a character silently."""
    if not data.strip():
        problems.append(_problem(rel, "file", "the file is empty", empty_hint))
        return None
    if b"\x00" in data[:65536]:
        problems.append(_problem(rel, "file", "the file looks binary (it contains NUL bytes)",
                                 "save the article as plain text (UTF-8)"))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        best = charset_normalizer.from_bytes(data).best()
        if best is None:
            problems.append(_problem(rel, "file", f"the file is not UTF-8 ({exc.reason} at byte {exc.start}) "
                                     "and no other text encoding fits it",
                                     "re-save the file as UTF-8"))
            return None
        text = str(best)
        problems.append(_problem(rel, "file", f"the file is not UTF-8; it was read as {best.encoding}",
                                 "re-save it as UTF-8 to silence this warning", Severity.WARNING))
    # One newline convention inside, whatever the file used.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_yaml(text: str, rel: str, problems: list[Problem]) -> yaml.Node | None:
    """Compose YAML into nodes (not Python values), so positions survive."""
    try:
        # libyaml composes about ten times faster; the pure-Python loader runs
        # only when the text may hold an alias, to refuse it where it is written.
        loader = _Loader if "*" in text or not hasattr(yaml, "CSafeLoader") else yaml.CSafeLoader
        node = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if exc.problem == ALIAS_MESSAGE:
            problems.append(_problem(rel, "yaml", ALIAS_MESSAGE, "write the value out in full instead of referring to an anchor",
                                     line=line, col=col))
            return None
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        problems.append(_problem(rel, "yaml", f"the file is not valid YAML: {what}",
                                 "check the indentation and quote text that contains ': ' or starts with a special character",
                                 line=line, col=col))
        return None
    except yaml.YAMLError as exc:
        problems.append(_problem(rel, "yaml", f"the file is not valid YAML: {exc}"))
        return None
    return node


_NAME_RE = re.compile(r"^(?P<stem>.*?)(?P<suffix>\.[A-Za-z]+)?$")


def load(seeds: Path, *, display_root: Path | None = None, limits: Limits | None = None,
         progress: Progress = QUIET, memo: Memo | None = None, known: Known | None = None,
         lstats: Mapping[str, os.stat_result] | None = None) -> RawCorpus:
    """Read every file in ``seeds`` (not recursive) into a :class:`RawCorpus`.

    An annotation whose bytes an earlier run checked (``memo``) is not parsed
    again: its record carries that run's outcome instead of YAML nodes.

    ``known`` is what an earlier load in this process found (its
    ``RawCorpus.known``): a file whose stamp is the one it had then, and
    that had settled by then, is not read again (a regular file, not a
    link; the registries are always read). `digest serve` passes it: at
    10,000 articles, reading every file took 0.8 s of each rebuild.

    ``lstats``: the folder's listing with each name's lstat, taken by the
    caller just before (reading.Folder)."""
    limits = limits or Limits()
    corpus = RawCorpus()
    problems = corpus.problems
    if not seeds.is_dir():
        problems.append(_problem(str(seeds), "seeds", "the seeds folder does not exist",
                                 "create it and put the articles (.txt or .md) in it"))
        return corpus
    base = display_root if display_root is not None else seeds.parent
    with open_folder(seeds, lstats) as folder:
        _load_files(folder, base, limits, corpus, progress, memo or Memo.off(), known or {})
    progress.done()
    return corpus


def _split_suffix(name: str) -> tuple[str, str]:
    """A file name's stem and suffix, as pathlib.PurePath's ``stem`` and ``suffix``."""
    i = name.rfind(".")
    return (name[:i], name[i:]) if 0 < i < len(name) - 1 else (name, "")


def _load_files(folder: Folder, base: Path, limits: Limits, corpus: RawCorpus, progress: Progress,
                memo: Memo, known: Known) -> None:
    problems = corpus.problems
    settled = time.time_ns() - SETTLED_NS
    folded: dict[tuple[str, str], str] = {}
    names = folder.names()
    progress.start("reading seeds", len(names))
    # Names as plain strings: at 20,000 files, pathlib's objects for each
    # name (its path, relative path, stem and suffix) cost 0.4 s a run.
    try:
        prefix = folder.path.relative_to(base).as_posix() + "/"
    except ValueError:
        prefix = folder.path.as_posix() + "/"
    prefix = prefix.removeprefix("./")
    for name in names:
        progress.advance()
        if name.startswith((".", "_")):
            continue
        rel = prefix + name
        entry = folder.entry(name)
        if entry.refused is not None:
            problems.append(_problem(rel, "file", entry.refused.message, entry.refused.hint))
            continue
        if entry.kind == "folder":
            problems.append(_problem(rel, "file", "folders inside seeds/ are not read",
                                     "move its files up into seeds/, or start its name with _ to silence this",
                                     Severity.WARNING))
            continue
        stem, suffix = _split_suffix(name)
        suffix = suffix.lower()
        role = ("article" if suffix in ARTICLE_SUFFIXES else
                "annotation" if suffix in ANNOTATION_SUFFIXES else None)
        if role is None:
            problems.append(_problem(rel, "file", f"'{name}' is neither an article (.txt, .md) nor an annotation (.yml, .yaml)",
                                     "remove it, or start its name with _ so that it is ignored", Severity.WARNING))
            continue
        if not ID_RE.match(stem):
            bad = "".join(sorted({c for c in stem if not ID_RE.match(c)}))
            problems.append(_problem(rel, "id", f"the id '{stem}' contains characters outside A-Z a-z 0-9 . _ -: {bad!r}",
                                     "rename the file using only letters, digits, '.', '_' and '-'"))
            continue
        kind = "registry" if role == "annotation" and stem in REGISTRIES else role
        if role == "article" and stem in REGISTRIES:
            problems.append(_problem(rel, "id", f"'{stem}' is a reserved name (seeds/{stem}.yml is a registry)",
                                     "rename the article"))
            continue
        key = (kind if kind != "registry" else "annotation", stem.casefold())
        if key in folded:
            problems.append(_problem(rel, "id", f"'{name}' and '{folded[key]}' claim the same id"
                                     + (" (ids are compared ignoring case)" if folded[key].rsplit(".", 1)[0] != stem else ""),
                                     "keep one of the two files, or rename one"))
            continue
        folded[key] = name
        stamp = entry.stamp if entry.stamp is not None and max(entry.stamp[1], entry.stamp[2]) < settled else None
        if stamp is not None and kind != "registry":
            hit = known.get(name)
            if hit is not None and hit[0] == stamp:
                if isinstance(hit[1], ArticleFile) and role == "article":
                    corpus.articles[stem] = hit[1]
                    problems.extend(hit[2])
                    corpus.known[name] = hit
                    continue
                if isinstance(hit[1], bytes) and role == "annotation":
                    remembered = memo.recall("annotation", hit[1])
                    if remembered is not MISS:  # else read and checked again below
                        earlier, outcome = remembered
                        problems.extend(earlier)
                        corpus.annotations[stem] = YamlFile(stem, rel, None, hit[1], tuple(earlier), outcome)
                        corpus.known[name] = hit
                        continue
        limit = limits.max_article_bytes if role == "article" else limits.max_annotation_bytes
        try:
            data = folder.read(name, limit)
        except Refused as exc:
            problems.append(_problem(rel, "file", exc.message, exc.hint))
            if role == "article":  # keep a record so that its annotation is not also reported as orphaned
                corpus.articles[stem] = ArticleFile(stem, rel, suffix[1:], "")
            continue
        empty_hint = ("put the article's text in it, or delete it" if role == "article" else
                      "write the annotation's fields in it, or delete it")
        k = memo_key("annotation", rel, data) if role == "annotation" and kind != "registry" else b""
        if k and stamp is not None:
            corpus.known[name] = (stamp, k, ())
        if k:
            remembered = memo.recall("annotation", k)
            if remembered is not MISS:
                earlier, outcome = remembered
                problems.extend(earlier)
                corpus.annotations[stem] = YamlFile(stem, rel, None, k, tuple(earlier), outcome)
                continue
        before = len(problems)
        text = decode(data, rel, problems, empty_hint)
        if role == "article":
            if text is not None:
                corpus.articles[stem] = ArticleFile(stem, rel, suffix[1:], text, hashlib.sha256(data).digest())
                if stamp is not None:
                    corpus.known[name] = (stamp, corpus.articles[stem], tuple(problems[before:]))
            else:
                # Keep an empty record so its annotation is not also reported as orphaned.
                corpus.articles[stem] = ArticleFile(stem, rel, suffix[1:], "")
            continue
        node = parse_yaml(text, rel, problems) if text is not None else None
        if text is not None and node is None and not any(p.path == rel for p in problems[before:]):
            problems.append(_problem(rel, "file", "the file holds no YAML values (only comments or blank lines)",
                                     "write the fields in it, or delete it"))
        if kind == "registry":
            corpus.registries[stem] = YamlFile(stem, rel, node)
        else:
            corpus.annotations[stem] = YamlFile(stem, rel, node, k, tuple(problems[before:]))

"""Stage 2: read annotation and registry nodes against the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from digest.load import RawCorpus
from digest.memo import Memo
from digest.problems import Problem
from digest.schema import ANNOTATION, ENTITY_ENTRY, INVALID, SOURCE_ENTRY, Reader, read_registry


@dataclass(frozen=True)
class Annotation:
    """An annotation's values after the schema, with where each value came from."""

    id: str
    rel: str
    values: dict[str, Any]
    marks: dict[str, tuple[int, int]]
    complete: bool  # False when a field was wrong: cross-checks run, no page is made

    def at(self, where: str) -> tuple[int, int]:
        """Line and column of a value, falling back to its parent, then 1:1."""
        while where:
            if where in self.marks:
                return self.marks[where]
            where = where.rpartition(".")[0] if "." in where else where.rpartition("[")[0]
        return (1, 1)


@dataclass
class Checked:
    annotations: dict[str, Annotation] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    registry_marks: dict[str, tuple[str, dict[str, tuple[int, int]]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def validate(raw: RawCorpus, memo: Memo | None = None) -> Checked:
    """Check every annotation and registry; collect all problems, stop at none.

    An annotation an earlier run checked (its record's ``known``) is not read
    again; each one read here is kept in ``memo`` for the next run."""
    memo = memo or Memo.off()
    out = Checked(problems=list(raw.problems))
    for name, entry in (("sources", SOURCE_ENTRY), ("entities", ENTITY_ENTRY)):
        registry = raw.registries.get(name)
        if registry is None or registry.node is None:
            continue
        reader = Reader(registry.rel)
        entries = read_registry(registry.node, entry, reader)
        out.problems.extend(reader.problems)
        out.registry_marks[name] = (registry.rel, reader.marks)
        if name == "sources":
            out.sources = entries
        else:
            out.entities = entries
    for ident, record in sorted(raw.annotations.items()):
        if ident not in raw.articles:
            out.problems.append(Problem(record.rel, 1, 1, "file",
                                        f"annotation without an article: no seeds/{ident}.txt or seeds/{ident}.md",
                                        "add the article's text, or rename the annotation to match its article"))
        values: dict[str, Any] | None
        if record.known is not None:
            values, marks, complete, problems = record.known
        elif record.node is None:
            values, marks, complete, problems = None, {}, False, ()
        else:
            reader = Reader(record.rel)
            read = ANNOTATION.read(record.node, "", reader)
            values = None if read is INVALID else read
            marks, problems = reader.marks, tuple(reader.problems)
            complete = not any(p.is_error for p in problems)
        if record.known is None and record.digest:
            memo.keep("annotation", record.digest, (record.load_problems, (values, marks, complete, problems)))
        out.problems.extend(problems)
        if values is not None:
            out.annotations[ident] = Annotation(ident, record.rel, values, marks, complete)
    return out

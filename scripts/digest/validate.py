"""Stage 2: read annotation and registry nodes against the schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from digest.load import RawCorpus
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


def validate(raw: RawCorpus) -> Checked:
    """Check every annotation and registry; collect all problems, stop at none."""
    out = Checked(problems=list(raw.problems))
    for name, entry in (("sources", SOURCE_ENTRY), ("entities", ENTITY_ENTRY)):
        record = raw.registries.get(name)
        if record is None or record.node is None:
            continue
        reader = Reader(record.rel)
        values = read_registry(record.node, entry, reader)
        out.problems.extend(reader.problems)
        out.registry_marks[name] = (record.rel, reader.marks)
        if name == "sources":
            out.sources = values
        else:
            out.entities = values
    for ident, record in sorted(raw.annotations.items()):
        if ident not in raw.articles:
            out.problems.append(Problem(record.rel, 1, 1, "file",
                                        f"annotation without an article: no seeds/{ident}.txt or seeds/{ident}.md",
                                        "add the article's text, or rename the annotation to match its article"))
        if record.node is None:
            continue
        reader = Reader(record.rel)
        values = ANNOTATION.read(record.node, "", reader)
        out.problems.extend(reader.problems)
        if values is not INVALID:
            complete = not any(p.is_error for p in reader.problems)
            out.annotations[ident] = Annotation(ident, record.rel, values, reader.marks, complete)
    return out

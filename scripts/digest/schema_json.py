"""JSON Schema for the annotation format and the registries, made from
:mod:`digest.schema` (the one source of truth), for editors.

An editor with the YAML language server reads the schema named on an
annotation's first line (``# yaml-language-server: $schema=...``) and checks
keys, types, ranges and allowed words as the analyst types. What the schema
cannot see stays with ``digest check``: that a quote occurs in the text, that
a related id exists, that a date exists in the calendar, that two names are
the same entity.

The files are committed under ``docs/schema/`` (so the site publishes them at
``schema/*.json``); ``digest schema`` writes them again, and a test fails when
they differ from what this module makes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Final

from digest.schema import (
    ANNOTATION,
    ENTITY_ENTRY,
    KIND_ALIASES,
    REGISTRY_NAME,
    SOURCE_ENTRY,
    TLP_LABELS,
    Bool,
    Choice,
    Date,
    IntRange,
    ListOf,
    MapOf,
    Pattern,
    Record,
    Text,
    Tlp,
    Type,
    Url,
    _Kind,
)

DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR: Final = Path("docs") / "schema"
FILES: Final = ("annotation.json", "sources.json", "entities.json")


def of(t: Type) -> dict[str, Any]:
    """The JSON Schema of one field type."""
    if isinstance(t, Text):
        # Any scalar is read as its text (title: 1984 is the title "1984").
        out: dict[str, Any] = {"type": ["string", "number", "boolean"], "minLength": t.min_len}
        if t.max_len is not None:
            out["maxLength"] = t.max_len
        return out
    if isinstance(t, Choice):
        return {"enum": list(t.choices)}
    if isinstance(t, Date):
        # YAML 1.2, which editors speak, reads 2026-11-23 as text.
        return {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "a date, YYYY-MM-DD"}
    if isinstance(t, IntRange):
        return {"type": "integer", "minimum": t.low, "maximum": t.high}
    if isinstance(t, Bool):
        return {"type": "boolean"}
    if isinstance(t, Url):
        return {"type": "string", "pattern": "^https?://[^\\s/]+", "description": "an http(s) address"}
    if isinstance(t, Pattern):
        return {"type": "string", "pattern": t.regex.pattern, "description": t.expected}
    if isinstance(t, ListOf):
        return {"type": "array", "items": of(t.item)}
    if isinstance(t, MapOf):
        return {"type": "object", "propertyNames": of(t.key), "additionalProperties": of(t.value)}
    if isinstance(t, Tlp):
        # Any case, with or without 'TLP:' (JSON Schema patterns have no flag for case).
        def anycase(word: str) -> str:
            return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in word)
        return {"type": "string", "pattern": f"^\\s*({anycase('tlp:')})?({'|'.join(anycase(w) for w in TLP_LABELS)})\\s*$",
                "description": "a TLP 2.0 label: " + ", ".join(TLP_LABELS)}
    if isinstance(t, _Kind):
        return {"enum": sorted(KIND_ALIASES)}
    if isinstance(t, Record):
        return _record(t)
    raise TypeError(f"no JSON Schema for {type(t).__name__}")  # a new type must say how it looks


def _record(r: Record) -> dict[str, Any]:
    properties = {}
    for name, spec in r.fields.items():
        inner = of(spec.type)
        # An empty value ('key:' with nothing after it) means the default.
        properties[name] = inner if spec.required and not spec.draft_may_omit else {"anyOf": [inner, {"type": "null"}]}
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    always = [n for n, s in r.fields.items() if s.required and not s.draft_may_omit]
    if always:
        out["required"] = always
    unless_draft = [n for n, s in r.fields.items() if s.required and s.draft_may_omit]
    if unless_draft:
        out["if"] = {"properties": {"draft": {"const": True}}, "required": ["draft"]}
        out["else"] = {"required": unless_draft, "properties": {n: of(r.fields[n].type) for n in unless_draft}}
    if r.scalar_as:
        return {"anyOf": [of(r.fields[r.scalar_as].type), out]}
    return out


def schemas(base: str = "") -> dict[str, dict[str, Any]]:
    """Each schema file's content by name; ``base`` is the address the files are published under."""
    annotation = {"$schema": DIALECT, "$id": f"{base}annotation.json", "title": "Briefing Digest annotation",
                  "description": "One article's annotation: seeds/<id>.yml", **_record(ANNOTATION)}
    sources = {"$schema": DIALECT, "$id": f"{base}sources.json", "title": "Briefing Digest source registry",
               "description": "seeds/sources.yml: each outlet's name and its details",
               **of(MapOf(value=SOURCE_ENTRY, key=REGISTRY_NAME))}
    entities = {"$schema": DIALECT, "$id": f"{base}entities.json", "title": "Briefing Digest entity registry",
                "description": "seeds/entities.yml: each entity's canonical name and its details",
                **of(MapOf(value=ENTITY_ENTRY, key=REGISTRY_NAME))}
    return {"annotation.json": annotation, "sources.json": sources, "entities.json": entities}


def rendered() -> dict[str, bytes]:
    """The files as committed: stable key order, one trailing newline."""
    return {name: (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            for name, value in schemas().items()}


def write(root: Path) -> list[str]:
    """Write the schema files under ``root``/docs/schema/; the names that changed."""
    folder = root / SCHEMA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, data in rendered().items():
        path = folder / name
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
            changed.append(name)
    return changed

"""The annotation format, version 1, written once as data.

Each field has a type object that reads a YAML *node* (not a Python value), so
every problem can name the line and column it came from. Types report problems
into a :class:`Reader` and return ``INVALID`` when the value cannot be used.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from digest.problems import Problem, Severity


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Final = _Invalid()

STR_TAG = "tag:yaml.org,2002:str"
NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"

ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
LANG_RE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def describe(node: yaml.Node) -> str:
    """How a node looks to a person: 'a list', 'a mapping', 'the number 12'."""
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    assert isinstance(node, yaml.ScalarNode)
    if node.tag == NULL_TAG:
        return "nothing (an empty value)"
    if node.tag == BOOL_TAG:
        return f"the boolean {node.value}"
    if node.tag in (INT_TAG, "tag:yaml.org,2002:float"):
        return f"the number {node.value}"
    value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    return f"{value!r}"


@dataclass
class Reader:
    """Collects problems for one file while its nodes are read."""

    path: str
    problems: list[Problem] = field(default_factory=list)
    marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)

    def report(
        self,
        node: yaml.Node | None,
        where: str,
        message: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
    ) -> None:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        self.problems.append(Problem(self.path, line, col, where, message, hint, severity))

    def enter(self, node: yaml.Node, where: str) -> bool:
        """Record where a value came from; refuse a node met twice (YAML aliases).

        Aliases are refused rather than expanded: expanding them is how a
        'billion laughs' file makes a small annotation take unbounded memory.
        """
        if id(node) in self.seen:
            self.report(node, where, "YAML aliases (*name) are not supported in annotations",
                        "write the value out in full instead of referring to an anchor")
            return False
        self.seen.add(id(node))
        self.marks[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
        return True


class Type:
    """A field's type: reads one node, returns a plain value or INVALID."""

    expected: str = "a value"

    def read(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if not r.enter(node, where):
            return INVALID
        return self.parse(node, where, r)

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        raise NotImplementedError

    def wrong(self, node: yaml.Node, where: str, r: Reader, hint: str = "") -> _Invalid:
        r.report(node, where, f"expected {self.expected}, found {describe(node)}", hint)
        return INVALID


def _scalar_text(node: yaml.Node) -> str | None:
    """The text of a scalar as the analyst typed it (``yes`` stays ``yes``)."""
    if isinstance(node, yaml.ScalarNode) and node.tag != NULL_TAG:
        return str(node.value)
    return None


@dataclass
class Text(Type):
    min_len: int = 1
    max_len: int | None = None
    expected: str = "text"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        if text is None:
            return self.wrong(node, where, r, "write the text after the colon, quoting it if it starts with a special character")
        text = text.strip()
        if len(text) < self.min_len:
            r.report(node, where, "must not be empty", "write the text after the colon")
            return INVALID
        if self.max_len is not None and len(text) > self.max_len:
            r.report(node, where, f"is {len(text)} characters long; at most {self.max_len} are allowed",
                     "shorten it")
            return INVALID
        return text


@dataclass
class Choice(Type):
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.expected = "one of " + ", ".join(self.choices)

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        if text is None or text.strip().lower() not in self.choices:
            close = difflib.get_close_matches((text or "").lower(), self.choices, n=1)
            return self.wrong(node, where, r, f"did you mean '{close[0]}'?" if close else
                              f"write one of: {', '.join(self.choices)}")
        return text.strip().lower()


@dataclass
class Date(Type):
    expected: str = "a date written YYYY-MM-DD"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        m = DATE_RE.match(text.strip()) if text else None
        if not m or text is None:
            return self.wrong(node, where, r, "write the date as YYYY-MM-DD, for example 2026-11-23")
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            r.report(node, where, f"{text.strip()} is not a real date ({exc})",
                     "check the month and the day")
            return INVALID


@dataclass
class IntRange(Type):
    low: int = 0
    high: int = 0

    def __post_init__(self) -> None:
        self.expected = f"a whole number from {self.low} to {self.high}"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == INT_TAG:
            try:
                value = int(node.value)
            except ValueError:
                value = self.low - 1
            if self.low <= value <= self.high:
                return value
        return self.wrong(node, where, r, f"write a number from {self.low} to {self.high}, without quotes")


@dataclass
class Bool(Type):
    expected: str = "true or false"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL_TAG:
            return node.value.lower() in ("true", "yes", "on", "y")
        return self.wrong(node, where, r, "write true or false, without quotes")


@dataclass
class Pattern(Type):
    regex: re.Pattern[str] = ID_RE
    expected: str = "text"
    hint: str = ""

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        if text is None or not self.regex.match(text.strip()):
            return self.wrong(node, where, r, self.hint)
        return text.strip()


@dataclass
class Url(Type):
    expected: str = "an http or https URL"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        if text is None:
            return self.wrong(node, where, r, "write the full address, starting with https://")
        text = text.strip()
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
            return self.wrong(node, where, r, "only http:// and https:// addresses are allowed, without spaces")
        return text


@dataclass
class ListOf(Type):
    item: Type = field(default_factory=Text)
    expected: str = "a list"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return []
        if not isinstance(node, yaml.SequenceNode):
            return self.wrong(node, where, r, "write a list: one '- item' per line, or [a, b]")
        values = [self.item.read(child, f"{where}[{i}]", r) for i, child in enumerate(node.value)]
        return [v for v in values if v is not INVALID]


@dataclass
class MapOf(Type):
    """A mapping of free-form text keys to values of one type (corrections)."""

    value: Type = field(default_factory=Text)
    key: Type = field(default_factory=Text)
    expected: str = "a mapping"

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG:
            return {}
        if not isinstance(node, yaml.MappingNode):
            return self.wrong(node, where, r, "write one 'key: value' per line")
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.key.read(key_node, where or "(key)", r)
            if key is INVALID:
                continue
            here = f"{where}.{key}" if where else str(key)
            if key in out:
                r.report(key_node, here, f"'{key}' is given twice", "keep one of the two entries")
                continue
            value = self.value.read(value_node, here, r)
            if value is not INVALID:
                out[key] = value
        return out


@dataclass(frozen=True)
class Field:
    type: Type
    required: bool = False
    default: Any = None
    # Required, except in a draft (``draft: true``): ``digest new`` writes a
    # draft whose summary only the analyst can write, and the build passes.
    draft_may_omit: bool = False


@dataclass
class Record(Type):
    """A mapping with a fixed set of keys; unknown keys get a suggestion."""

    fields: dict[str, Field] = field(default_factory=dict)
    expected: str = "a mapping of 'key: value' lines"
    scalar_as: str | None = None  # a plain scalar stands for this one field
    partial: bool = False  # return what could be read even when something was wrong

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        if self.scalar_as and isinstance(node, yaml.ScalarNode) and node.tag != NULL_TAG:
            value = self.fields[self.scalar_as].type.parse(node, f"{where}", r)
            return INVALID if value is INVALID else {self.scalar_as: value}
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG and not any(
                f.required for f in self.fields.values()):
            return {k: f.default for k, f in self.fields.items()}
        if not isinstance(node, yaml.MappingNode):
            return self.wrong(node, where or "(file)", r)
        prefix = f"{where}." if where else ""
        out: dict[str, Any] = {}
        seen: set[str] = set()
        ok = True
        for key_node, value_node in node.value:
            key = _scalar_text(key_node)
            if key is None:
                r.report(key_node, where or "(file)", f"expected a key, found {describe(key_node)}")
                ok = False
                continue
            if key in seen:
                r.report(key_node, prefix + key, f"'{key}' is given twice", "keep one of the two")
                ok = False
                continue
            seen.add(key)
            spec = self.fields.get(key)
            if spec is None:
                close = difflib.get_close_matches(key.lower(), list(self.fields), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else "valid keys: " + ", ".join(self.fields)
                r.report(key_node, prefix + key, f"unknown key '{key}'", hint)
                ok = False
                continue
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == NULL_TAG and spec.required:
                r.report(value_node, prefix + key, "is required but empty", "write a value after the colon")
                ok = False
                continue
            if isinstance(value_node, yaml.ScalarNode) and value_node.tag == NULL_TAG:
                r.enter(value_node, prefix + key)
                out[key] = spec.default
                continue
            value = spec.type.read(value_node, prefix + key, r)
            if value is INVALID:
                ok = False
            else:
                out[key] = value
        for key, spec in self.fields.items():
            if key in seen:
                continue
            if spec.required and not (spec.draft_may_omit and out.get("draft") is True):
                r.report(node, prefix + key, f"'{key}' is required", f"add a line '{key}: ...'")
                ok = False
            else:
                out[key] = spec.default
        return out if ok or self.partial else INVALID


TLP_LABELS: Final = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")  # widest audience first


def tlp_rank(label: str) -> int:
    """A label's place from the widest audience (CLEAR, 0) to the narrowest (RED, 4)."""
    return TLP_LABELS.index(label)


def tlp_label(text: str) -> str | None:
    """The canonical label for what was written (``TLP:amber`` is AMBER), or None."""
    label = text.strip().upper().removeprefix("TLP:").strip()
    return label if label in TLP_LABELS else None


@dataclass
class Tlp(Type):
    """A TLP 2.0 marking (format 1.1)."""

    expected: str = "a TLP label: " + ", ".join(TLP_LABELS)

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        label = tlp_label(text or "")
        if label is None:
            close = difflib.get_close_matches((text or "").strip().upper().removeprefix("TLP:"), TLP_LABELS, n=1,
                                              cutoff=0.3)
            return self.wrong(node, where, r, f"did you mean '{close[0]}'?" if close else
                              "write one of " + ", ".join(TLP_LABELS))
        return label


RELIABILITY = Pattern(regex=re.compile(r"^[A-F]$"), expected="one letter from A to F",
                      hint="A completely reliable ... E unreliable, F cannot be judged")
ENTITY_KINDS: Final = ("people", "organizations", "equipment", "places", "other")
# The registry describes one entity, so it naturally says 'organization';
# annotations list several, so they say 'organizations'. Both are accepted.
KIND_ALIASES: Final = {"person": "people", "organization": "organizations", "place": "places",
                       **{k: k for k in ENTITY_KINDS}}

SOURCE_REF = Record(
    fields={
        "name": Field(Text(max_len=200), required=True),
        "url": Field(Url()),
        "published": Field(Date()),
        "author": Field(Text(max_len=200)),
        "reliability": Field(RELIABILITY),
    },
    scalar_as="name",
    expected="an outlet name or a mapping with 'name'",
)

ANNOTATION = Record(
    partial=True,
    fields={
        "title": Field(Text(max_len=200), required=True),
        "date": Field(Date(), required=True),
        "source": Field(SOURCE_REF, required=True, draft_may_omit=True),
        "summary": Field(Text(), required=True, draft_may_omit=True),
        "key_points": Field(ListOf(Text()), default=[]),
        "assessment": Field(Text()),
        "confidence": Field(Choice(choices=("low", "moderate", "high"))),
        "credibility": Field(IntRange(low=1, high=6)),
        "importance": Field(Choice(choices=("low", "medium", "high")), default="medium"),
        "topics": Field(ListOf(Text(max_len=200)), default=[]),
        "regions": Field(ListOf(Text(max_len=200)), default=[]),
        "entities": Field(Record(fields={k: Field(ListOf(Text(max_len=200)), default=[])
                                         for k in ENTITY_KINDS}), default={k: [] for k in ENTITY_KINDS}),
        "quotes": Field(ListOf(Record(fields={"text": Field(Text(), required=True),
                                              "by": Field(Text(max_len=200))})), default=[]),
        "corrections": Field(MapOf(), default={}),
        "related": Field(ListOf(Pattern(regex=ID_RE, expected="an article id",
                                        hint="use the file name of the article without its extension")),
                         default=[]),
        "language": Field(Pattern(regex=LANG_RE, expected="a BCP 47 language tag such as en or az-Latn",
                                  hint="write a language code such as en, tr, az or ru"), default="en"),
        "draft": Field(Bool(), default=False),
        "tlp": Field(Tlp()),
    }
)

SOURCE_ENTRY = Record(fields={
    "url": Field(Url()),
    "country": Field(Text(max_len=200)),
    "reliability": Field(RELIABILITY),
    "note": Field(Text()),
    "tlp": Field(Tlp()),
})


class _Kind(Type):
    expected = "one of " + ", ".join(sorted(KIND_ALIASES))

    def parse(self, node: yaml.Node, where: str, r: Reader) -> Any:
        text = _scalar_text(node)
        kind = KIND_ALIASES.get((text or "").strip().lower())
        if kind is None:
            close = difflib.get_close_matches((text or "").lower(), list(KIND_ALIASES), n=1)
            return self.wrong(node, where, r, f"did you mean '{close[0]}'?" if close else
                              "write person, organization, equipment, place or other")
        return kind


ENTITY_ENTRY = Record(fields={
    "kind": Field(_Kind()),
    "aliases": Field(ListOf(Text(max_len=200)), default=[]),
    "description": Field(Text()),
    "tlp": Field(Tlp()),
})

REGISTRY_NAME = Text(max_len=200)


def read_registry(node: yaml.Node, entry: Record, r: Reader) -> dict[str, dict[str, Any]]:
    """Read a registry: a mapping of names to entries of one shape."""
    value = MapOf(value=entry, key=REGISTRY_NAME).read(node, "", r)
    return {} if value is INVALID else dict(value)

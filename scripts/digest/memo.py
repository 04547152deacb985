"""What a run learned about each seed, remembered for the next run.

After one edit, the next run should not parse and analyse ten thousand
unchanged articles again. The memo keeps, per seed and keyed by a hash of
the bytes it was computed from:

- ``annotation``: an annotation file's schema outcome (its values, where each
  value is written, the problems the file has on its own);
- ``placed``: where each correction of an article occurs and where each quote
  is found, for the article's text with its corrections and quotes;
- ``mentions``: the entities the article's text mentions, for its text and
  corrections and every spelling the registry and the annotations know;
- ``damage``: the words of an article's text that look damaged, for its
  text, its corrections and those spellings;
- ``related``: the related articles of every article, for the facets
  (date, entities, topics, regions) and chosen ``related`` of all of them
  and the names shown in the reasons (one entry: the ranking is global).

It is an optimisation, never a source of truth. Every key is a hash of the
inputs, so a stale entry is never found, only missed. The file carries the
generator's version (a hash of its code) and a checksum of its payload: a
truncated, corrupt, foreign-version or hand-edited file is ignored (the run
reads every seed afresh and says so), and it is unpickled with a loader that
builds only plain data, so even a crafted one runs no code. Deleting it
changes nothing but time. It is written only after generation succeeded,
with exactly the entries that run used (a run that patched the last model,
and so read only the edited articles, carries the others' entries over and
drops those of the edited ones' old quotes), so it never grows with
history. Beside it, ``model.pickle`` keeps the last build's model (see
:func:`save_model`).
"""

from __future__ import annotations

import hashlib
import io
import pickle
import sys
from pathlib import Path
from typing import Any, Final

import yaml

from digest.fsutil import atomic_write
from digest.names import CACHE

MEMO_FILE: Final = Path(CACHE) / "learned.pickle"
_MAGIC: Final = b"briefing-digest memo 1\n"
TABLES: Final = ("annotation", "placed", "mentions", "damage", "related")
_MISS: Final = object()

# What the restricted loader may build: plain data, dates, and the library's
# problem records. Anything else in a memo file means it was not written here.
_ALLOWED: Final = frozenset({
    ("datetime", "date"), ("datetime", "datetime"), ("datetime", "timezone"), ("datetime", "timedelta"),
    ("digest.problems", "Problem"), ("digest.problems", "Severity"), ("digest.damage", "Damage"),
    ("digest.connect", "Related"),
    ("builtins", "set"), ("builtins", "frozenset"),
})


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, allowed: frozenset[tuple[str, str]]) -> None:
        super().__init__(file)
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"{module}.{name} is not plain data")
        return super().find_class(module, name)


def generator_version() -> str:
    """A hash of the generator's code and what shapes its results: a memo
    made by other code is never used."""
    h = hashlib.sha256(f"{sys.version_info[:2]}\0{yaml.__version__}\0{hasattr(yaml, 'CSafeLoader')}\n".encode())
    code = Path(__file__).parent
    for path in sorted(code.glob("**/*.py")):
        h.update(path.relative_to(code).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def key(*parts: bytes | str) -> bytes:
    """The key of an entry: a hash of everything its value was computed from."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.digest()


class Memo:
    """The entries of the last run (``recall``) and those of this run (``keep``)."""

    def __init__(self, version: str, tables: dict[str, dict[bytes, Any]] | None = None, note: str = "") -> None:
        self.version = version
        self._old = tables or {}
        self._new: dict[str, dict[bytes, Any]] = {t: {} for t in TABLES}
        self.note = note  # why the last run's entries are not used, when they are not
        self.hits = 0
        self.misses = 0

    @classmethod
    def off(cls) -> Memo:
        """A memo that remembers nothing (a library call without a project)."""
        return cls("", note="")

    def recall(self, table: str, k: bytes) -> Any:
        """The value kept under ``k`` by the last run, or :data:`MISS`."""
        value = self._old.get(table, {}).get(k, _MISS)
        if value is _MISS:
            self.misses += 1
            return MISS
        self.hits += 1
        self._new[table][k] = value
        return value

    def peek(self, table: str, k: bytes) -> Any:
        """The value the last run kept under ``k``, or :data:`MISS`, neither
        counted nor carried over (for what only helps to make an entry)."""
        value = self._old.get(table, {}).get(k, _MISS)
        return MISS if value is _MISS else value

    def keep(self, table: str, k: bytes, value: Any) -> None:
        self._new[table][k] = value

    def keep_unread(self, tables: tuple[str, ...], drop: frozenset[bytes] = frozenset()) -> None:
        """Carry over every entry of ``tables`` that the last run had and
        this one did not read, but those keyed ``drop`` (made from inputs
        that are gone): for a run that read only the few articles that
        changed (digest.model.patch), the others' entries still hold."""
        for table in tables:
            new = self._new[table]
            for k, value in self._old.get(table, {}).items():
                if k not in drop:
                    new.setdefault(k, value)

    def carried(self) -> Memo:
        """A memo for the next run in this process (digest serve): this
        run's entries as the last run's, without reading the file again."""
        return Memo(self.version, self._new)

    def changed(self) -> bool:
        """Whether this run's entries differ from the last run's."""
        return any(set(self._new[t]) != set(self._old.get(t, {})) for t in TABLES)

    def dump(self) -> bytes:
        return _seal(_MAGIC, self.version, {t: self._new[t] for t in TABLES})

    def summary(self) -> str:
        """One line for the run's output: what was reused, or why nothing was."""
        if self.note:
            return f"read every seed afresh: {self.note}"
        total = self.hits + self.misses
        return f"reused what the last run learned for {self.hits:,} of {total:,} parts" if total else ""


MISS: Final = _MISS


def _seal(magic: bytes, version: str, value: object) -> bytes:
    """``value`` pickled, behind ``magic``, the generator's version and the payload's checksum."""
    payload = pickle.dumps(value, protocol=5)
    return magic + version.encode() + b"\n" + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def _unseal(data: bytes, magic: bytes, version: str, allowed: frozenset[tuple[str, str]]) -> tuple[Any, str]:
    """What :func:`_seal` sealed, built by a loader that makes only the
    classes ``allowed``; None and why when the file cannot be used."""
    if not data.startswith(magic):
        return None, "the cache file is not one this tool wrote; it was ignored"
    head = data[len(magic):]
    lines = head.split(b"\n", 2)
    if len(lines) != 3:
        return None, "the cache file is truncated; it was ignored"
    stored_version, checksum, payload = lines
    if stored_version.decode("ascii", "replace") != version:
        return None, "the cache was made by another version of the generator; it was ignored"
    if hashlib.sha256(payload).hexdigest().encode() != checksum:
        return None, "the cache file is damaged or was edited (its checksum does not match); it was ignored"
    try:
        return _PlainUnpickler(io.BytesIO(payload), allowed).load(), ""
    except Exception as exc:  # any failure means: not usable, start afresh
        return None, f"the cache file cannot be read ({type(exc).__name__}); it was ignored"


def parse(data: bytes, version: str) -> tuple[dict[str, dict[bytes, Any]] | None, str]:
    """A memo file's tables, or None and why it cannot be used."""
    tables, why = _unseal(data, _MAGIC, version, _ALLOWED)
    if why:
        return None, why
    if not isinstance(tables, dict) or set(tables) != set(TABLES) or \
            not all(isinstance(t, dict) for t in tables.values()):
        return None, "the cache file does not hold what this tool writes; it was ignored"
    return tables, ""


def open_memo(root: Path) -> Memo:
    """The project's memo: the last run's entries when they can be trusted."""
    version = generator_version()
    path = root / MEMO_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Memo(version, note="no cache yet (it is made by this run)")
    except OSError as exc:
        return Memo(version, note=f"the cache cannot be read ({exc.strerror}); it was ignored")
    tables, why = parse(data, version)
    return Memo(version, tables, note=why)


def save_memo(root: Path, memo: Memo) -> None:
    """Write this run's entries, atomically; nothing when they are the last run's."""
    if not memo.version or (not memo.note and not memo.changed()):
        return
    path = root / MEMO_FILE
    path.parent.mkdir(exist_ok=True)
    atomic_write(path, memo.dump())


def forget_memo(root: Path) -> None:
    (root / MEMO_FILE).unlink(missing_ok=True)


# The last build's model (pipeline.Model), for the next `digest build` to
# patch when all that changed is some articles' own fields: a new process
# has none in memory. Sealed as the memo is; its loader builds only the
# model's own records besides plain data.
MODEL_FILE: Final = Path(CACHE) / "model.pickle"
_MODEL_MAGIC: Final = b"briefing-digest model 1\n"
_MODEL_ALLOWED: Final = _ALLOWED | {
    ("digest.model", name) for name in ("Digest", "Article", "Hub", "Quote", "Correction", "Brief", "Delivery")
} | {("digest.text", "Fix"), ("digest.validate", "Annotation"), ("digest.audience", "Settings"),
     ("digest.limits", "Limits"), ("digest.render.reuse", "Changes")}


def save_model(root: Path, fields: tuple[object, ...]) -> None:
    """Write the model's fields (a tuple, in pipeline.Model's order), atomically."""
    path = root / MODEL_FILE
    path.parent.mkdir(exist_ok=True)
    atomic_write(path, _seal(_MODEL_MAGIC, generator_version(), fields))


def open_model(root: Path) -> tuple[object, ...] | None:
    """The last build's model fields, when the file can be trusted; else None
    (the model is then built, as without it)."""
    try:
        data = (root / MODEL_FILE).read_bytes()
    except OSError:
        return None
    fields, _ = _unseal(data, _MODEL_MAGIC, generator_version(), _MODEL_ALLOWED)
    return fields if isinstance(fields, tuple) else None

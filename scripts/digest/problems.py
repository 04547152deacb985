"""Problems found in the seeds, and the typed errors the library raises.

Every problem keeps the file, line and column it came from, so that an analyst
can jump straight to it. Only the CLI turns these into text and exit codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, located as ``path:line:col`` (1-based)."""

    path: str
    line: int
    col: int
    field: str
    message: str
    hint: str = ""
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        """Render as ``path:line:col: field: message`` plus an indented hint."""
        tag = "warning: " if self.severity is Severity.WARNING else ""
        text = f"{self.path}:{self.line}:{self.col}: {self.field}: {tag}{self.message}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class DigestError(Exception):
    """Base class of every error the library raises on purpose."""


class CheckFailed(DigestError):
    """The seeds have problems that stop the run; nothing was written."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        errors = sum(p.is_error for p in self.problems)
        super().__init__(f"{errors} error(s) in the seeds")


class WriteRefused(DigestError):
    """The writer refused a plan (a path outside its folder, a foreign file...)."""


class BuildFailed(DigestError):
    """MkDocs, the zip step or the third-party guard failed."""


def summary_line(problems: Iterable[Problem]) -> str:
    """``2 errors, 1 warning`` with correct plurals."""
    items = list(problems)
    errors = sum(p.is_error for p in items)
    warnings = len(items) - errors
    return f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"

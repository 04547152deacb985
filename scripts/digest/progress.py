"""Progress for long runs: a bar on a terminal, a few plain lines in logs.

Short runs print nothing, so the output of everyday checks stays exactly the
problems and the summary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

LONG_RUN = 1000  # files in seeds/ from which a run counts as long


class Progress:
    """Reports one stage at a time: ``start``, then ``advance``, then ``done``."""

    def __init__(self, stream: TextIO | None, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream is not None
        self.tty = bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())
        self.name = ""
        self.total = 0
        self.count = 0
        self.started = 0.0
        self._next = 0

    def start(self, name: str, total: int) -> None:
        self.name, self.total, self.count, self.started = name, total, 0, time.perf_counter()
        self._next = 0
        self._show()

    def advance(self, n: int = 1) -> None:
        self.count += n
        if self.enabled and self.count >= self._next:
            self._show()

    def done(self) -> None:
        if not self.enabled or self.stream is None:
            return
        line = f"digest: {self.name}: {self.count:,} in {time.perf_counter() - self.started:.1f} s"
        self.stream.write(("\r\033[K" if self.tty else "") + line + "\n")
        self.stream.flush()

    @contextmanager
    def step(self, name: str, total: int = 1) -> Iterator[None]:
        """A stage shown when it starts and when it ends; the block may
        advance it as it goes (what it left is counted at the end)."""
        self.start(name, total)
        yield
        self.advance(max(0, total - self.count))
        self.done()

    def _show(self) -> None:
        if not self.enabled or self.stream is None:
            return
        if self.tty:
            width = 30
            filled = width * self.count // self.total if self.total else width
            self.stream.write(f"\r\033[Kdigest: {self.name} [{'#' * filled}{'.' * (width - filled)}] "
                              f"{self.count:,}/{self.total:,}")
            self._next = self.count + max(1, self.total // 200)
        else:
            # In a log, a line per tenth is plenty.
            if self.total and self.count:
                self.stream.write(f"digest: {self.name}: {self.count:,}/{self.total:,}\n")
            self._next = self.count + max(1, self.total // 10)
        self.stream.flush()


QUIET = Progress(None, False)

"""The size limits of seed files, apart: the command line's defaults come
from here without importing the loader (digest.daemon's client imports no
more than the command line needs)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Size limits; a file over them is refused before it is parsed."""

    max_article_bytes: int = 64 * 1024 * 1024
    max_annotation_bytes: int = 1024 * 1024

"""Briefing Digest: turn annotated news articles in ``seeds/`` into a MkDocs site."""

from __future__ import annotations

__version__ = "0.1.0"

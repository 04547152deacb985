"""MkDocs hook: the offline edition has no feeds.

Feeds (scripts/digest/render/feeds.py) are for feed readers on the network;
a copy that opens from disk has no use for them, and its pages do not name
them (overrides/main.html). In the hosted edition this hook does nothing.
`digest build` usually derives the offline edition from the hosted one
(scripts/digest/site.py), leaving out the same files; this hook makes
MkDocs' own offline build agree with it.
"""

from __future__ import annotations

from typing import Any

from digest.names import OFFLINE_PLUGIN, in_offline  # not digest.site: see digest/names.py


def on_files(files: Any, config: Any) -> Any:
    if OFFLINE_PLUGIN in config.plugins:
        for file in [f for f in files if not in_offline(f.src_uri)]:
            files.remove(file)
    return files

"""Names of the generated tree that the MkDocs hooks need too.

Kept free of imports from the rest of the package: a hook that imported
digest.site pulled in the renderers, the model and the search index, 0.3 s
of imports in every MkDocs process (each part of a full build, and the
partial build after every edit).
"""

from __future__ import annotations

from typing import Final

ROOT: Final = "digest"  # the folder under docs/ that the generator owns
# Under the project: what a run keeps for the next (git-ignored; deleting
# it costs nothing but time).
CACHE: Final = ".digest-cache"
FEEDS: Final = f"{ROOT}/feeds"  # under docs/; the hosted edition's feeds/ folder
OFFLINE_PLUGIN: Final = "material/offline"
# The offline edition has no feeds (render/feeds.py): no feed files, and none
# of what overrides/main.html adds for them to the hosted pages.
OFFLINE_LEAVES_OUT: Final = FEEDS + "/"


def in_offline(name: str) -> bool:
    """Whether a file of the hosted edition is in the offline one too."""
    return not name.startswith(OFFLINE_LEAVES_OUT)

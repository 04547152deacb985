"""This package's own code, as the processes that run it see it: light
(the standard library only), for `digest build`'s client (digest.daemon),
which imports no more than the command line needs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Protocol

CODE: Final = Path(__file__).parent


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...


def stamp_code(h: _Hash) -> None:
    """Add the generator's files (names, sizes, times) to ``h``: what tells
    that its code changed, as make tells (a run's fingerprint; the build
    server's stamp)."""
    for path in sorted(CODE.glob("**/*")):
        if path.is_file() and path.suffix in (".py", ".js", ".mjs"):
            st = path.stat()
            h.update(f"{path.relative_to(CODE).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())


def code_path() -> str:
    """PYTHONPATH for a child that runs this package: its folder first, wherever it was imported from."""
    return os.pathsep.join([str(CODE.resolve().parent), *filter(None, [os.environ.get("PYTHONPATH")])])

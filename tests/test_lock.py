"""Verified installs: every Python dependency is pinned with the hashes of
its distributions, and setup refuses anything else."""

from __future__ import annotations

import re
import tomllib

from .conftest import REPO

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of requirements.lock."""
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    out: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = block.split(" ", 1)[0].strip()
        if "==" not in first:
            continue
        name, version = first.split("==")
        out[_normal(name)] = (version, re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return out


def test_every_locked_package_is_pinned_with_its_hashes() -> None:
    locked = _locked()
    assert len(locked) > 50
    assert [name for name, (_, hashes) in locked.items() if not hashes] == []


def test_the_lock_covers_every_declared_dependency_and_setup_requires_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = {_normal(m.group(0)) for d in declared if (m := _NAME.match(d))}
    assert names - set(_locked()) == set()
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock" in makefile
    assert "--generate-hashes" in makefile  # make lock keeps them

"""The library's entry points: check, generate and build a project.

The CLI and the tests call these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from digest.load import Limits, load
from digest.model import Digest, build
from digest.problems import BuildFailed, CheckFailed, Problem, Severity
from digest.render import render_all
from digest.site import mkdocs_build, zip_tree
from digest.validate import validate
from digest.write import WriteReport, write_tree

SHIM_SOURCE = Path("node_modules/iframe-worker/shim/index.js")
# Served from the site itself; Material's offline plugin then skips its CDN copy
# because the path contains "iframe-worker".
SHIM_TARGET = "digest/assets/iframe-worker/shim.js"


@dataclass(frozen=True)
class Project:
    """Where a project's parts live; all relative to its root folder."""

    root: Path

    @property
    def seeds(self) -> Path:
        return self.root / "seeds"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @property
    def offline(self) -> Path:
        return self.root / "dist" / "offline"

    @property
    def offline_zip(self) -> Path:
        return self.root / "dist" / "offline.zip"


@dataclass(frozen=True)
class Options:
    strict: bool = False
    drafts: bool = False
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class Checked:
    digest: Digest
    problems: tuple[Problem, ...]


def check(project: Project, options: Options | None = None) -> Checked:
    """Load, validate and model ``seeds/``; raise CheckFailed on any error
    (or any warning with ``strict``). Writes nothing."""
    options = options or Options()
    raw = load(project.seeds, display_root=project.root, limits=options.limits)
    checked = validate(raw)
    digest, more = build(raw, checked, drafts=options.drafts)
    problems = sorted(set(checked.problems + more))
    failing = [p for p in problems if p.is_error or (options.strict and p.severity is Severity.WARNING)]
    if failing:
        raise CheckFailed(problems)
    return Checked(digest, tuple(problems))


def plan(project: Project, digest: Digest) -> dict[str, str | bytes]:
    """Everything the generator owns under docs/: pages plus the served shim."""
    files: dict[str, str | bytes] = dict(render_all(digest))
    shim = project.root / SHIM_SOURCE
    if not shim.is_file():
        raise BuildFailed(f"{SHIM_SOURCE} is missing: run 'make setup' (it runs 'npm ci') first")
    files[SHIM_TARGET] = shim.read_bytes()
    return files


def generate(project: Project, digest: Digest) -> WriteReport:
    return write_tree(project.docs, plan(project, digest))


def build_site(project: Project, *, hosted: bool = True, offline: bool = True) -> None:
    """Run MkDocs for the chosen editions; zip the offline one."""
    if hosted:
        mkdocs_build(project.root / "mkdocs.yml", project.site)
    if offline:
        mkdocs_build(project.root / "mkdocs.offline.yml", project.offline)
        zip_tree(project.offline, project.offline_zip)

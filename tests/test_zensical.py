"""The same docs/ and mkdocs.yml build with Zensical, Material's successor.

Zensical reads mkdocs.yml as it is. The generated pages are plain Markdown,
raw HTML and Material's standard extensions, so the articles, dossiers,
mention links and charts must come out at the same paths, every link
resolving, as with MkDocs.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import broken_links


def test_zensical_builds_the_same_docs(built_fixture: Path, tmp_path: Path) -> None:
    project = tmp_path / "z"
    project.mkdir()
    shutil.copy(built_fixture / "mkdocs.yml", project / "mkdocs.yml")
    for folder in ("docs", "overrides"):
        shutil.copytree(built_fixture / folder, project / folder)
    zensical = Path(sys.executable).with_name("zensical")
    run = subprocess.run([str(zensical), "build", "--clean"], cwd=project, capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    site = project / "site"
    article = (site / "digest/articles/alpha.html").read_text(encoding="utf-8")
    assert "ROKETSAN opens an assembly line near Baku" in article
    assert 'class="bd-mention" href="../entities/aselsan.html"' in article
    assert '<a href="../entities/aselsan.html" class="md-tag">ASELSAN</a>' in article
    dossier = (site / "digest/entities/aselsan.html").read_text(encoding="utf-8")
    assert "Annotated in (2)" in dossier and 'src="../charts/entities/aselsan.svg"' in dossier
    assert (site / "digest/charts/overview-network.svg").is_file()
    # The home page pulls in the generated list through pymdownx.snippets.
    assert "Saturday, 21 November 2026" in (site / "index.html").read_text(encoding="utf-8")
    broken, checked = broken_links(site / "digest")
    assert broken == [] and checked > 100

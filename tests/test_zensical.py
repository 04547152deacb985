"""The same docs/ and mkdocs.yml build with Zensical, Material's successor.

Zensical reads mkdocs.yml as it is. The generated pages are plain Markdown,
raw HTML and Material's standard extensions, so the articles, dossiers,
mention links and charts must come out at the same paths, every link
resolving, as with MkDocs. The sample digest built by Zensical is driven in
Chromium: its own search dialog finds an entity, and an article and a
dossier show their evidence, with no request leaving the machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import broken_links
from .test_browser import serve


def zensical_build(built: Path, project: Path) -> Path:
    """``zensical build`` of a built project's mkdocs.yml, docs/ and
    overrides/, copied to ``project``; the site folder."""
    project.mkdir()
    shutil.copy(built / "mkdocs.yml", project / "mkdocs.yml")
    for folder in ("docs", "overrides"):
        shutil.copytree(built / folder, project / folder)
    zensical = Path(sys.executable).with_name("zensical")
    run = subprocess.run([str(zensical), "build", "--clean"], cwd=project, capture_output=True, text=True,
                         check=False, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return project / "site"


def test_zensical_builds_the_same_docs(built_fixture: Path, tmp_path: Path) -> None:
    site = zensical_build(built_fixture, tmp_path / "z")
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


@pytest.mark.browser
def test_zensical_search_finds_an_entity_and_pages_show_their_evidence(built_sample: Path, tmp_path: Path,
                                                                      browser: Any) -> None:
    site = zensical_build(built_sample, tmp_path / "z")
    # Zensical's search dialog uses its own worker and index: the digest's
    # override of Material's worker must stay out of its pages.
    assert "digest/assets/search/worker.js" not in (site / "index.html").read_text(encoding="utf-8")
    with serve(site) as url:
        context = browser.new_context()
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url + "index.html")
        page.click(".md-search__button")
        page.keyboard.type("Mira Castellan")  # a person, named in articles and in a dossier of her own
        # The results are options in the dialog's shadow root; locators reach in.
        hit = page.locator("a[role=option][href*='digest/entities/mira-castellan.html']")
        hit.first.wait_for(timeout=30_000)
        hit.first.click()
        page.wait_for_url("**/digest/entities/mira-castellan.html?h=*")  # Material's highlight
        page.locator("h1", has_text="Mira Castellan").wait_for()  # instant navigation swaps the content in
        body = page.locator("article").inner_text()
        assert "Mira Castellan" in body and "Annotated in" in body
        chart = page.locator("img[src$='charts/entities/mira-castellan.svg']")
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
        # An article's evidence: the bottom line, key points, assessment,
        # a verified quote linked to its paragraph, the corrections made.
        page.goto(url + "digest/articles/sample-10-qasr-feeder.html")
        page.locator("h1", has_text="Qasr").wait_for()
        text = page.locator("article").inner_text()
        for heading in ("Key points", "Assessment", "Quotes", "Full text", "Corrections"):
            assert page.locator("h2", has_text=heading).count() == 1, heading
        assert "نعتذر لعملائنا عن التأخير" in text and "Verhaegen" in text
        # The quote's link leads to the paragraph that holds it.
        assert page.locator("blockquote a[href$='#p-1']").count() == 1
        assert "نعتذر لعملائنا عن التأخير" in page.locator("#p-1").inner_text()
        context.close()
    assert requests and all(r.startswith(url) for r in requests), [r for r in requests if not r.startswith(url)]

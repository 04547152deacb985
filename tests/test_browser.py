"""A real Chromium drives both editions: search, quote links, hub chips,
and not one request leaving the machine.

Chromium comes from Debian (`apt-get install chromium`); set DIGEST_CHROMIUM
to use another binary. Outside CI a missing Chromium skips these tests with a
notice; with DIGEST_REQUIRE_BROWSER=1 (as .ci/run sets) it fails them.
"""

from __future__ import annotations

import functools
import http.server
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARTIFACTS

pytestmark = pytest.mark.browser

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve a folder on 127.0.0.1 on a free port."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def hosted_url(built_fixture: Path) -> Iterator[str]:
    with serve(built_fixture / "site") as url:
        yield url


@pytest.fixture(scope="module")
def offline_url(built_fixture: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(built_fixture / "dist/offline.zip") as zf:
        zf.extractall(folder)
    return (folder / "index.html").as_uri()


def drive(browser: Any, start: str, allowed: tuple[str, ...], name: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto(start)
    page.wait_for_selector("text=ROKETSAN opens an assembly line near Baku")
    page.screenshot(path=str(ARTIFACTS / f"{name}-home.png"), full_page=True)

    # Search for an entity by its alias-resolved name and open the article.
    page.click("input.md-search__input")
    # Typed key by key: Material's search listens to keyboard events, not to fill().
    page.keyboard.type("ROKETSAN", delay=30)
    result = page.locator(".md-search-result__item a[href*='articles/alpha']").first
    result.wait_for(timeout=15000)
    result.click()
    page.wait_for_selector("h1:has-text('ROKETSAN opens an assembly line near Baku')")
    assert "articles/alpha" in page.url

    # A quote's paragraph link lands on that paragraph.
    page.click("a:has-text('paragraph 2')")
    page.wait_for_function("location.hash === '#p-2'")
    anchor = page.locator("#p-2")
    assert anchor.is_visible()
    box = anchor.bounding_box()
    assert box is not None and 0 <= box["y"] < 900
    page.screenshot(path=str(ARTIFACTS / f"{name}-article.png"), full_page=False)

    # An alias found only in the registry, and a name in Cyrillic, find their pages.
    # From the article loaded afresh: Material still handles the hash change
    # above, and in CI a search opened meanwhile was sometimes closed again
    # with its results hidden (2 runs in 5).
    page.goto(page.url.split("#")[0])
    page.wait_for_load_state("load")
    for query, expected in (("Askeri Elektronik", "articles/epsilon"), ("Москва", "articles/beta")):
        page.click("input.md-search__input")
        page.wait_for_function("document.querySelector('[data-md-toggle=\"search\"]').checked")
        page.fill("input.md-search__input", "")
        page.keyboard.type(query, delay=30)
        # Characters typed without a key of their own (Cyrillic) send no key
        # events; Material reads the box on the next key.
        page.keyboard.press("End")
        page.locator(f".md-search-result__item a[href*='{expected}']").first.wait_for(timeout=15000)
    page.keyboard.press("Escape")

    # A chip opens its hub.
    page.click("a.md-tag:has-text('ASELSAN')")
    page.wait_for_selector("h1:has-text('ASELSAN')")
    assert "entities/aselsan" in page.url
    assert page.locator("text=TAI and ASELSAN sign an avionics memorandum").count() >= 1
    context.close()

    outside = [u for u in requests if not u.startswith(allowed)]
    assert outside == [], f"requests left the edition: {outside}"
    assert errors == [], f"console errors: {errors}"


def test_hosted_edition_in_chromium(browser: Any, hosted_url: str) -> None:
    drive(browser, hosted_url, (hosted_url, "data:", "blob:"), "hosted")


def test_offline_edition_from_file_in_chromium(browser: Any, offline_url: str) -> None:
    drive(browser, offline_url, ("file://", "data:", "blob:"), "offline")


def test_search_without_a_prebuilt_index(browser: Any, built_fixture: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain `mkdocs build` (as `mkdocs serve` does) has no prebuilt index;
    the worker then indexes the generator's page text in the browser."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.chdir(built_fixture)  # snippets resolve from the project folder
    config = load_config(str(built_fixture / "mkdocs.yml"), site_dir=str(tmp_path / "plain"))
    build(config)
    assert not (tmp_path / "plain/search/digest_index.js").exists()
    with serve(tmp_path / "plain") as url:
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.click("input.md-search__input")
        page.keyboard.type("Askeri", delay=30)
        page.locator(".md-search-result__item a[href*='articles/epsilon']").first.wait_for(timeout=15000)
        page.close()
    assert errors == []


def test_offline_search_finds_a_word_inside_chinese_and_japanese_text(browser: Any, tmp_path: Path) -> None:
    """Chinese and Japanese are written without spaces: a word in the middle
    of a sentence must still find its article (search-tokenize.js)."""
    from digest.cli import main

    from .conftest import FIXTURE_CORPUS, make_project

    root = make_project(tmp_path / "cjk", FIXTURE_CORPUS / "seeds")
    (root / "seeds/zeta.txt").write_text("北京市长访问了上海的工厂。\n\n東京と大阪の会社が協力する。\n", encoding="utf-8")
    assert main(["build", "--root", str(root)]) == 0
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((root / "dist/offline/index.html").as_uri())
    for query in ("市长", "上海的工厂", "大阪"):
        page.click("input.md-search__input")
        page.fill("input.md-search__input", "")
        page.keyboard.type(query, delay=30)
        page.keyboard.press("End")  # typed without key events: Material reads the box on the next key
        page.locator(".md-search-result__item a[href*='articles/zeta']").first.wait_for(timeout=15000)
    # Every pair of a longer query must be in the text: 上海 is, 海市 and 市场 are not.
    page.fill("input.md-search__input", "")
    page.keyboard.type("上海市场", delay=30)
    page.keyboard.press("End")
    page.wait_for_selector(".md-search-result__meta:has-text('No matching documents')", timeout=15000)
    page.close()
    assert errors == []


def test_dossier_charts_and_facets_offline(browser: Any, offline_url: str) -> None:
    """Issue 6 in the offline edition: the dossier, its chart, the overview's
    charts, mention links, and facet tags on search results, all from disk."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    base = offline_url.removesuffix("index.html")

    page.goto(base + "digest/entities/aselsan.html")
    page.wait_for_selector("h2:has-text('Annotated in (2)')")
    page.wait_for_load_state("load")
    chart = page.locator("img.bd-chart").first
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), "the dossier chart did not load"
    assert "ASELSAN" in (chart.get_attribute("alt") or "")

    page.goto(base + "digest/overview.html")
    page.wait_for_load_state("load")
    images = page.locator("img.bd-chart")
    assert images.count() == 4
    assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(4))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "offline-overview.png"), full_page=True)

    # A mention in an article's text links to the entity's dossier.
    page.goto(base + "digest/articles/alpha.html")
    page.click("a.bd-mention:has-text('Aselsan')")
    page.wait_for_selector("h1:has-text('ASELSAN')")

    # Typing an alias finds the dossier and the articles, with facets shown as tags.
    page.click("input.md-search__input")
    page.keyboard.type("Askeri", delay=30)
    page.locator(".md-search-result__item a[href*='entities/aselsan']").first.wait_for(timeout=15000)
    article = page.locator(".md-search-result__item", has=page.locator("a[href*='articles/epsilon']")).first
    article.wait_for(timeout=15000)
    assert "ASELSAN" in article.locator(".md-tag").all_inner_texts()
    context.close()
    assert [u for u in requests if not u.startswith(("file://", "data:", "blob:"))] == []


def test_printing_a_page_gives_its_content_only(browser: Any, hosted_url: str) -> None:
    """Issue 20, item 3: the print stylesheet, as Chromium applies it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(hosted_url + "digest/articles/alpha.html")
    page.wait_for_load_state("load")
    page.emulate_media(media="print")
    hidden = page.evaluate("""() => ['.md-header', '.md-sidebar--primary', '.md-sidebar--secondary', '.md-search',
        '.md-footer', '[data-md-component="palette"]'].map(s => {
          const e = document.querySelector(s);
          return [s, e === null || getComputedStyle(e).display === 'none'];
        })""")
    assert all(gone for _, gone in hidden), hidden
    after = page.evaluate("""() => { const a = document.querySelector('.md-typeset a[href^="https://"]');
        return [a.getAttribute('href'), getComputedStyle(a, '::after').content]; }""")
    assert after[1] == '" (" attr(href) ")"' or after[0] in after[1], after
    inside = page.evaluate("() => getComputedStyle(document.querySelector('.md-typeset p')).breakInside")
    assert inside == "avoid"
    assert "ROKETSAN opens an assembly line near Baku" in page.locator("article").inner_text()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    # On screen, nothing of it applies.
    page.emulate_media(media="screen")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.md-header')).display") != "none"
    context.close()


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _page_kinds(site: Path) -> list[str]:
    """One page of each kind the digest makes, and the hand-written ones."""
    d = site / "digest"
    first = lambda folder, pattern: sorted((d / folder).glob(pattern))[0].relative_to(site).as_posix()  # noqa: E731
    return ["index.html", "guide/annotating.html", "digest/editions/index.html", first("editions", "????-??.html"),
            first("editions", "????-??-??.html"), first("articles", "*.html"), "digest/topics/index.html",
            first("topics", "[!i]*.html"), first("regions", "[!i]*.html"), "digest/entities/index.html",
            "digest/entities/kestrel-logistics.html", first("sources", "[!i]*.html"), "digest/timeline.html",
            "digest/overview.html", "digest/grades.html", "digest/unreviewed.html"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("edition", ["site", "dist/offline"])
def test_every_page_kind_passes_axe_core_wcag_22_aa(browser: Any, built_sample: Path, edition: str, scheme: str) -> None:
    """axe-core, injected into each page as the reader sees it: no violation
    of the WCAG 2.2 A and AA rules, in either colour scheme."""
    axe = AXE.read_text(encoding="utf-8")
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    found: dict[str, list[tuple[str, int]]] = {}
    pages = _page_kinds(built_sample / edition)
    with serve(built_sample / "site") as url:
        for name in pages:
            page.goto(url + name if edition == "site" else (built_sample / edition / name).as_uri())
            page.add_script_tag(content=axe)
            result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_22_AA)
            violations = [(v["id"], len(v["nodes"])) for v in result["violations"]]
            if violations:
                found[name] = violations
            assert result["passes"], name  # axe ran its rules on the page
        if edition == "site" and scheme == "light":
            # The README's picture (docs/development/screenshot-article.png is a copy).
            ARTIFACTS.mkdir(exist_ok=True)
            page.goto(url + "digest/articles/sample-10-qasr-feeder.html")
            page.screenshot(path=str(ARTIFACTS / "sample-article.png"))
    context.close()
    assert len(pages) == 16 and found == {}

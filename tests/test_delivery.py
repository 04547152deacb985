"""Delivery (issue 20): feeds to subscribe to and a printed brief of each
edition, read back with real clients: feedparser for the feeds, a JSON
Schema of JSON Feed 1.1, and Poppler's pdftotext and pdfinfo for the PDFs."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import jsonschema
import pytest

from digest.cli import EXIT_OK
from digest.printed import fonts_for
from digest.synth import write_corpus

from .conftest import FIXTURE_CORPUS, REPO, fixture_seeds_with, make_project, run
from .test_hostile import HOSTILE, PAYLOAD

SITE_URL = "https://digest.example.org/"
JSON_FEED_SCHEMA = json.loads((REPO / "tests/fixtures/jsonfeed-1.1.schema.json").read_text(encoding="utf-8"))
ALTERNATE = re.compile(r'<link rel="alternate" type="(application/atom\+xml|application/feed\+json)"[^>]*href="([^"]+)"')
ARTICLE_LINK = re.compile(r'href="(?:\.\./)*(?:digest/)?articles/([^"#]+)\.html"')


def pdf_text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *pages, str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus with 60 synthetic articles beside it, so that hubs
    hold more items than a feed lists; feeds of 5 items."""
    root = make_project(tmp_path_factory.mktemp("delivery") / "p", FIXTURE_CORPUS / "seeds")
    write_corpus(root / "seeds", 60)
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"site_url: {SITE_URL}" in config
    assert config.count("\nextra:\n") == 1
    (root / "mkdocs.yml").write_text(config.replace(
        "\nextra:\n", "\nextra:\n  digest:\n    feeds:\n      items: 5\n    print:\n      newest: 3\n"), encoding="utf-8")
    code, _, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    return root


def _hub_pages(site: Path) -> list[Path]:
    return [p for kind in ("topics", "regions", "entities", "sources") for p in sorted((site / "digest" / kind).glob("*.html"))
            if p.name != "index.html" and not re.search(r"-\d+\.html$", p.name)]


def _articles_of(page: Path) -> list[str]:
    """The article ids a hub page lists under its articles heading, in order."""
    text = page.read_text(encoding="utf-8")
    body = text[text.index('id="articles'):] if 'id="articles' in text else text
    return list(dict.fromkeys(ARTICLE_LINK.findall(body)))


def test_every_hub_and_the_home_page_name_feeds_that_parse(built: Path) -> None:
    site = built / "site"
    pages = [site / "index.html", *_hub_pages(site)]
    assert len(pages) > 40
    checked = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        found = dict((kind, href) for kind, href in ALTERNATE.findall(html))
        assert set(found) == {"application/atom+xml", "application/feed+json"}, page
        if page.name != "index.html":
            assert '<p class="digest-subscribe">Subscribe: ' in html, page
        atom_file = (page.parent / found["application/atom+xml"]).resolve()
        json_file = (page.parent / found["application/feed+json"]).resolve()
        parsed = feedparser.parse(atom_file.read_bytes())
        assert not parsed.bozo, (atom_file, parsed.bozo_exception)
        assert parsed.version == "atom10"
        feed = json.loads(json_file.read_bytes())
        jsonschema.validate(feed, JSON_FEED_SCHEMA)
        # The same entries in both, newest first, at most the configured 5.
        atom_ids = [e.id for e in parsed.entries]
        assert atom_ids == [item["id"] for item in feed["items"]] and 1 <= len(atom_ids) <= 5
        dates = [dt.datetime.fromisoformat(item["date_published"]) for item in feed["items"]]
        assert dates == sorted(dates, reverse=True)
        for entry, item in zip(parsed.entries, feed["items"], strict=True):
            assert urlsplit(entry.link).scheme == "https" and entry.link.startswith(SITE_URL)
            local = site / entry.link[len(SITE_URL):]
            assert local.is_file(), entry.link
            assert entry.title == item["title"] and entry.summary == item["summary"]
            assert " · grade " in item["content_text"] and item["tags"]
            assert {t.term for t in entry.tags} == set(item["tags"])
        if page.name != "index.html":
            # A hub's feed is its newest articles, in the order the hub lists them.
            listed = _articles_of(page)
            got = [e.link.rsplit("/", 1)[1][:-5] for e in parsed.entries]
            assert got == listed[: len(got)], page
            assert parsed.feed.links[1].href == SITE_URL + page.relative_to(site).as_posix()
        checked += 1
    assert checked == len(pages)


def test_the_offline_edition_has_no_feeds(built: Path) -> None:
    offline = built / "dist" / "offline"
    assert not (offline / "digest" / "feeds").exists()
    assert (built / "site" / "digest" / "feeds" / "index.xml").is_file()
    for page in offline.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "application/atom+xml" not in text and "digest-subscribe" not in text, page
    with zipfile.ZipFile(built / "dist" / "offline.zip") as zf:
        assert not [n for n in zf.namelist() if "/feeds/" in n]


def test_without_site_url_there_are_no_feeds_and_it_says_so(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(config.replace(f"site_url: {SITE_URL}\n", ""), encoding="utf-8")
    code, out, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    assert out.count("no feeds: mkdocs.yml has no site_url") == 1
    assert not (root / "site" / "digest" / "feeds").exists()
    assert "application/atom+xml" not in (root / "site" / "index.html").read_text(encoding="utf-8")


def test_each_printed_brief_holds_its_items_in_order_and_the_marking_on_every_page(built: Path) -> None:
    site = built / "site"
    editions = sorted((site / "digest" / "editions").glob("2*-*-*.html"), reverse=True)
    briefs = sorted((built / "dist" / "briefs").glob("*.pdf"), reverse=True)
    assert [b.stem for b in briefs] == [e.stem for e in editions[:3]]  # the newest 3, as configured
    for edition, brief in zip(editions, briefs, strict=False):
        html = edition.read_text(encoding="utf-8")
        assert f'href="../briefs/{brief.name}"' in html
        assert (site / "digest" / "briefs" / brief.name).read_bytes() == brief.read_bytes()
        assert (built / "dist" / "offline" / "digest" / "briefs" / brief.name).read_bytes() == brief.read_bytes()
        text = " ".join(pdf_text(brief).split())
        ids = list(dict.fromkeys(ARTICLE_LINK.findall(html)))
        assert ids
        at = text.index("Contents")
        for ident in ids:
            article = (site / "digest" / "articles" / f"{ident}.html").read_text(encoding="utf-8")
            title = re.search(r"<h1[^>]*>(.*?)<a class=\"headerlink\"", article).group(1)  # type: ignore[union-attr]
            title = " ".join(re.sub(r"<[^>]+>", "", title).split())
            title = title.replace("&amp;", "&").replace("&quot;", '"').replace("&#x27;", "'").replace("&lt;", "<")
            found = text.find(title[:40], at + 1)
            assert found > at, (brief.name, title)
            at = found
    assert not [e for e in editions[3:] if "Printed brief" in e.read_text(encoding="utf-8")]


def test_the_marking_is_on_every_page_of_a_marked_brief(tmp_path: Path) -> None:
    seeds = fixture_seeds_with(tmp_path, "alpha", "tlp: AMBER\n")
    root = make_project(tmp_path / "p", seeds)
    code, _, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    marked = [b for b in (root / "dist" / "briefs").glob("*.pdf") if "TLP:AMBER" in pdf_text(b)]
    assert marked
    for brief in marked:
        pages = pdf_pages(brief)
        assert pages >= 3  # cover, contents, items
        for number in range(1, pages + 1):
            text = pdf_text(brief, number)
            assert text.count("TLP:AMBER") >= 2, (brief.name, number)  # header and footer
            assert f"Page {number} of {pages}" in text


def test_scripts_print_with_their_fonts_and_hostile_text_prints_as_text(tmp_path: Path) -> None:
    seeds = {**HOSTILE}
    seeds["scripts.txt"] = ("İstanbul'da liman grevi. Москва ответила. 北京回应了。 الرد في القاهرة.\n\n"
                            "A second paragraph in English.")
    seeds["scripts.yml"] = ("title: 'Grev — Москва — 北京 — القاهرة'\ndate: 2026-11-20\nsource: Wire\n"
                            "summary: 'Özet: Москва, 北京 and القاهرة reply.'\nkey_points: ['İstanbul liman grevi']\n")
    root = make_project(tmp_path / "p", seeds)
    code, _, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    briefs = sorted((root / "dist" / "briefs").glob("*.pdf"))
    assert briefs
    text = "".join(pdf_text(b) for b in briefs)
    for word in ("İstanbul", "Özet", "Москва", "北京", "القاهرة"):
        assert word in text or word[::-1] in text, word
    fonts = subprocess.run(["pdffonts", str(briefs[0])], capture_output=True, text=True, check=True).stdout
    assert "NotoSans" in fonts
    # Every hostile title and bottom line prints exactly as written.
    flat = " ".join(text.split())
    assert f"Title </title></head>{PAYLOAD}" in flat and f"Summary {PAYLOAD}" in flat
    assert [f for f, _, _ in fonts_for({"t": "北京 القاهرة"})] == ["Noto Sans", "Noto Naskh Arabic", "Noto Sans CJK SC"]


def test_a_missing_font_is_an_error_that_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest import printed

    monkeypatch.setattr(printed, "SCRIPT_FONTS", (*printed.SCRIPT_FONTS[:-1],
                                                   (printed.SCRIPT_FONTS[-1][0], "Chinese, Japanese or Korean",
                                                    "Not An Installed Font", "fonts-noto-cjk")))
    seeds = {"zh.txt": "北京回应了。\n\nMore text here.", "zh.yml": "title: 北京\ndate: 2026-11-20\nsource: Wire\nsummary: s.\n"}
    root = make_project(tmp_path / "p", seeds)
    code, _, err = run("build", "--root", str(root))
    assert code != EXIT_OK
    assert "apt-get install fonts-noto-cjk" in err and "Not An Installed Font" in err
    assert not (root / "site").exists()


def test_a_process_keeps_its_typst_engine_and_sets_the_same_bytes(tmp_path: Path) -> None:
    """`digest serve` and the build server keep the fonts' list and the
    compiler from one run to the next; a brief set by the kept engine is the
    brief a new one sets, and other fonts make a new engine."""
    import shutil

    from digest import printed
    from digest.pipeline import Options, Project, check

    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    digest = check(Project(root), Options()).digest
    printed._engines.clear()
    fresh = printed.print_briefs(root, digest)
    assert fresh and len(printed._engines) == 1
    engine = next(iter(printed._engines.values()))
    shutil.rmtree(root / printed.CACHE)  # every brief set again, by the kept engine
    assert printed.print_briefs(root, digest) == fresh
    assert list(printed._engines.values()) == [engine] and next(iter(printed._engines.values())) is engine
    other = printed.Printer(root)
    other.stamp += b"another font\n"
    shutil.rmtree(root / printed.CACHE)
    date, ids = next((d, i) for d, i in digest.editions if d in set(digest.delivery.printed))
    assert other.pdf(printed.brief_data(digest, date, ids), date) == fresh[printed.brief_path(date)]
    assert len(printed._engines) == 1 and next(iter(printed._engines.values())) is not engine


def test_one_edit_rewrites_only_the_feeds_and_the_brief_it_changes(tmp_path: Path) -> None:
    from digest.pipeline import Options, Project, run_build
    from digest.printed import CACHE

    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    write_corpus(root / "seeds", 60)
    project = Project(root)
    first = run_build(project, Options())
    assert first.report is not None
    cache = root / CACHE
    before = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pdf")}
    editions = list((root / "docs" / "digest" / "editions").glob("????-??-??.md"))
    assert len(before) == len(editions) >= 3  # at most 7 editions: each has its brief
    newest = sorted((root / "docs" / "digest" / "editions").glob("????-??-??.md"))[-1]
    ident = ARTICLE_LINK.findall(newest.read_text(encoding="utf-8"))[0]
    annotation = root / "seeds" / f"{ident}.yml"
    text = annotation.read_text(encoding="utf-8")
    annotation.write_text(re.sub(r"^title: .*$", 'title: "A changed title"', text, count=1, flags=re.M),
                          encoding="utf-8")
    second = run_build(project, Options())
    assert second.report is not None and second.how.startswith("incremental build")
    written = set(second.report.written)
    briefs = {w for w in written if w.startswith("digest/briefs/")}
    assert briefs == {f"digest/briefs/{newest.stem}.pdf"}
    feeds = {w for w in written if w.startswith("digest/feeds/")}
    # The whole digest's two feeds and those of the article's hubs, nothing else.
    assert {"digest/feeds/index.xml", "digest/feeds/index.json"} <= feeds
    for name in feeds:
        data = (root / "docs" / name).read_text(encoding="utf-8")
        assert "A changed title" in data, name
    untouched = [n for n in (root / "docs" / "digest" / "feeds").rglob("*.*")
                 if n.relative_to(root / "docs").as_posix() not in feeds]
    assert untouched and not any("A changed title" in n.read_text(encoding="utf-8") for n in untouched)
    # Only that brief was set again: the others came from the cache as they were.
    after = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.pdf")}
    assert len(set(after) - set(before)) == 1 and all(after[n] == before[n] for n in set(after) & set(before))
    assert "A changed title" in pdf_text(root / "dist" / "briefs" / f"{newest.stem}.pdf")

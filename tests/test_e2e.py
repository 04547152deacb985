"""End to end: the real pipeline and real MkDocs builds of both editions."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import zipfile
from pathlib import Path

from digest.cli import main
from digest.guard import scan_site
from digest.searchindex import decode_shard, shard_of

from .conftest import REPO, broken_links, make_project, run


def visible_text(page: str) -> str:
    """The text a reader sees in the article body (tags dropped, entities decoded)."""
    body = page.split('<article class="md-content__inner md-typeset">', 1)[1].split("</article>", 1)[0]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def read(root: Path, path: str) -> str:
    return (root / path).read_text(encoding="utf-8")


def test_article_page_has_the_evidence(built_fixture: Path) -> None:
    page = read(built_fixture, "site/digest/articles/alpha.html")
    text = " ".join(visible_text(page).split())
    assert "ROKETSAN opens an assembly line near Baku" in text
    assert "Bottom line up front" in text
    assert "The line builds parts for surface-to-air missiles." in text
    assert "Published 2026-11-18" in text and "Author Staff reporter" in text
    assert 'href="https://news.example.org/roketsan-baku?id=7&amp;lang=en"' in page
    assert re.search(r'<a href="\.\./grades\.html#admiralty-grade" title="Usually reliable; probably true">B2</a>', page)
    assert '<a href="#p-2">paragraph 2</a>' in page
    assert 'id="p-2"' in page
    # The quote really is in the paragraph it links to.
    p2 = page.split('id="p-2"', 1)[1].split("</p>", 1)[0]
    assert "We expect the first deliveries" in p2
    # Chips link to hubs; the alias 'Aselsan' shows as the canonical entity.
    assert '<a href="../entities/aselsan.html" class="md-tag">ASELSAN</a>' in page
    assert '<a href="../topics/defense-industry.html" class="md-tag">Defense Industry</a>' in page


def test_plain_text_is_shown_exactly_and_nothing_runs(built_fixture: Path) -> None:
    page = read(built_fixture, "site/digest/articles/alpha.html")
    text = " ".join(visible_text(page).split())
    assert "costs <about> 5 % & more; see [the plan](javascript:alert(1))." in text
    assert "the plan's *first* phase" in text
    assert "<script>alert(1)</script>" in text  # the assessment's HTML, shown as text
    assert "<script>alert" not in page
    assert "javascript:" not in " ".join(re.findall(r'href="([^"]*)"', page))


def test_markdown_seed_keeps_its_markdown(built_fixture: Path) -> None:
    page = read(built_fixture, "site/digest/articles/beta.html")
    assert "<strong>Baykar</strong>" in page
    assert "<li>one list item</li>" in page
    assert "code block with &lt;tags&gt;" in page
    # An image in a seed would be a request to another host: it stays text.
    assert "tracker.example.org" not in " ".join(re.findall(r'src="([^"]*)"', page))
    assert "![tracker](https://tracker.example.org/pixel.gif)" in " ".join(visible_text(page).split())


def test_hubs_merge_case_and_aliases(built_fixture: Path) -> None:
    topic = visible_text(read(built_fixture, "site/digest/topics/defense-industry.html"))
    assert "Articles (3)" in topic
    # Newest first, then by importance: 2026-11-21 (medium, low), then 2026-11-20.
    order = [topic.index(t) for t in ("TAI and ASELSAN", "Baykar reports", "ROKETSAN opens")]
    assert order == sorted(order)
    entity = visible_text(read(built_fixture, "site/digest/entities/aselsan.html"))
    assert "Defense electronics maker." in entity and "Also written" in entity and "Annotated in (2)" in entity
    source = visible_text(read(built_fixture, "site/digest/sources/example-wire.html"))
    assert "https://wire.example.org" in source and "Nowhere" in source and "A fictional wire service" in source
    index = visible_text(read(built_fixture, "site/digest/entities/index.html"))
    assert index.index("Organizations") < index.index("ASELSAN") < index.index("Equipment") < index.index("KAAN")


def test_unreviewed_and_drafts(built_fixture: Path) -> None:
    page = visible_text(read(built_fixture, "site/digest/unreviewed.html"))
    assert "An unannotated report about the Kizilelma prototype." in page
    assert not (built_fixture / "site/digest/articles/delta.html").exists()


def test_home_lists_newest_edition_first(built_fixture: Path) -> None:
    text = visible_text(read(built_fixture, "site/index.html"))
    assert text.index("Saturday, 21 November 2026") < text.index("Friday, 20 November 2026")
    assert "1 article awaiting review" in text


def test_navigation_lists_hubs_not_articles(built_fixture: Path) -> None:
    page = read(built_fixture, "site/digest/articles/alpha.html")
    nav = page.split('<nav class="md-nav md-nav--primary"', 1)[1].split("</nav>", 1)[0]
    for hub in ("editions/", "topics/", "regions/", "entities/", "sources/", "unreviewed.html", "grades.html",
                "timeline.html", "overview.html"):
        assert hub in nav
    assert "articles/" not in nav


def prebuilt_index(site: Path) -> tuple[list[list[str]], set[str]]:
    """The documents (the result list's entries, in id order) and the indexed
    terms of a site's prebuilt search index."""
    script = (site / "search/digest_index.js").read_text(encoding="utf-8")
    data = json.loads(script.removeprefix("self.__digestSearch = ").rstrip().removesuffix(";"))
    terms: set[str] = set()
    for name in data["shards"]:
        shard = (site / f"search/shards/{name}.js").read_text(encoding="utf-8")
        entries = decode_shard(json.loads(shard.split("] = ", 1)[1].rstrip().removesuffix(";")))
        terms |= {term for term, _ in entries}
        assert all(shard_of(term) == name for term, _ in entries)
    return [data["docs"][k] for k in sorted(data["docs"], key=int)], terms


def test_search_index_holds_entities_aliases_and_text(built_fixture: Path) -> None:
    docs, terms = prebuilt_index(built_fixture / "site")
    for word in ("roketsan", "aselsan", "москва", "kaan", "surface", "askeri", "elektronik"):
        assert word in terms, word
    alpha = next(d for d in docs if d[0] == "digest/articles/alpha.html")
    assert alpha[1] == "ROKETSAN opens an assembly line near Baku"
    assert alpha[2].startswith("ROKETSAN started a missile-parts line")  # the bottom line
    # Material's own index keeps only its configuration: nothing to index in the browser.
    assert json.loads(read(built_fixture, "site/search/search_index.json"))["docs"] == []
    offline_docs, _ = prebuilt_index(built_fixture / "dist/offline")
    assert "digest/articles/alpha.html" in {d[0] for d in offline_docs}


def test_offline_edition_and_zip(built_fixture: Path) -> None:
    offline = built_fixture / "dist/offline"
    assert (offline / "index.html").is_file()
    article = read(built_fixture, "dist/offline/digest/articles/alpha.html")
    assert 'href="../entities/aselsan.html"' in article
    assert 'src="../assets/iframe-worker/shim.js"' in article or "iframe-worker/shim.js" in article
    assert "var __index =" in read(built_fixture, "dist/offline/search/search_index.js")
    with zipfile.ZipFile(built_fixture / "dist/offline.zip") as zf:
        names = sorted(n for n in zf.namelist() if not n.endswith("/"))
        assert names == sorted(p.relative_to(offline).as_posix() for p in offline.rglob("*") if p.is_file())
        assert zf.read("index.html") == (offline / "index.html").read_bytes()


def test_the_editions_get_the_permissions_of_any_new_file(built_fixture: Path, tmp_path: Path) -> None:
    # Not a temporary folder's owner-only ones: a web server running as
    # another user must read site/, and the zip is made to be handed on.
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_bytes(b"")
    for folder in ("site", "site/digest", "dist/offline", "dist/offline/digest"):
        assert (built_fixture / folder).stat().st_mode == (tmp_path / "folder").stat().st_mode, folder
    assert (built_fixture / "dist/offline.zip").stat().st_mode == (tmp_path / "file").stat().st_mode


def test_no_third_party_loads_in_either_edition(built_fixture: Path) -> None:
    assert scan_site(built_fixture / "site") == []
    assert scan_site(built_fixture / "dist/offline") == []
    for page in (built_fixture / "site").rglob("*.html"):
        assert "fonts.googleapis" not in page.read_text(encoding="utf-8")


def test_shipped_seed_builds_with_every_field(tmp_path: Path) -> None:
    root = make_project(tmp_path / "shipped", REPO / "seeds")
    assert main(["build", "--root", str(root), "--edition", "hosted"]) == 0
    page = read(root, "site/digest/articles/000_a6e21ae4b3f0158f.html")
    text = " ".join(visible_text(page).split())
    assert "Turkish general sees Azerbaijan as a hub for joint defense production" in text
    assert "Published date unknown" in text
    assert "C3" in text and "Confidence low" in text
    for corrected, original in (("Kızılelma", "Kzlelma"), ("Erdoğan", "Erdoan"), ("İlham Aliyev", "Lham Aliyev")):
        fix = re.search(rf'<ins class="bd-fix" title="Corrected; the source text reads: {original}">(.*?)</ins>', page)
        assert fix and re.sub(r"<[^>]+>", "", fix.group(1)) == corrected  # a mention link may sit inside
    assert "President İlham Aliyev has often" in text
    assert '<a href="#p-5">paragraph 5</a>' in page
    _, terms = prebuilt_index(root / "site")
    for name in ("yücel", "karauz", "aselsan", "roketsan", "kızılelma", "baku"):
        assert name in terms, name


def test_every_link_and_image_in_both_editions_resolves(built_fixture: Path) -> None:
    """MkDocs does not check links written as HTML, so this test does."""
    for edition in ("site", "dist/offline"):
        broken, checked = broken_links(built_fixture / edition)
        assert broken == [] and checked > 1000


def test_the_sample_digest_shows_every_feature(tmp_path: Path) -> None:
    """seeds/ is the sample a new user first builds: strict-clean, several
    weeks, every kind of item, and something to see on every kind of page."""
    seeds = REPO / "seeds"
    code, _, err = run("check", "--strict", "--root", str(REPO))
    assert code == 0, err
    annotations = {p.stem: p.read_text(encoding="utf-8") for p in seeds.glob("*.yml") if p.stem not in ("sources", "entities")}
    texts = {p.stem: p.read_text(encoding="utf-8") for p in (*seeds.glob("*.txt"), *seeds.glob("*.md"))}
    assert len(texts) >= 16 and any(p.suffix == ".md" for p in seeds.iterdir())
    assert set(texts) - set(annotations), "an unreviewed article (no annotation)"
    assert any("draft: true" in a for a in annotations.values())
    dates = sorted(dt.date.fromisoformat(d) for d in re.findall(r"^date: (\S+)$", "\n".join(annotations.values()), re.M))
    assert (dates[-1] - dates[0]).days >= 21
    labels = set(re.findall(r"^tlp: (\S+)$", "\n".join(annotations.values()), re.M))
    assert {"CLEAR", "GREEN", "AMBER", "RED"} <= labels
    every = "\n".join(texts.values())
    assert re.search("[а-яА-Я]", every) and re.search("[\u0600-\u06ff]", every) and re.search("[\u4e00-\u9fff]", every)
    assert "sample digest" in (seeds / "sources.yml").read_text(encoding="utf-8")
    root = make_project(tmp_path / "sample", seeds)
    assert main(["build", "--root", str(root)]) == 0
    site = root / "site" / "digest"
    dossier = (site / "entities" / "kestrel-logistics.html").read_text(encoding="utf-8")
    assert 'id="appearances"' in dossier and "charts/" in dossier  # its chart of appearances
    assert dossier.count("articles/sample-") >= 8
    assert "Appears most often with" in dossier
    article = (site / "articles" / "sample-10-qasr-feeder.html").read_text(encoding="utf-8")
    assert "Related" in visible_text(article) and 'title="Corrected; the source text reads: Verhagen"' in article
    assert len(list((site / "editions").glob("2026-11-*.html"))) >= 10
    assert (site / "feeds" / "entities" / "kestrel-logistics.xml").is_file()
    assert len(list((root / "dist" / "briefs").glob("*.pdf"))) == 7

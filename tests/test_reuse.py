"""Pages made from the same inputs as the last run's are kept, not rendered
again (digest.render.reuse; issue 17): after an edit, only the pages whose
inputs changed are rendered, and the result is what a run from nothing
writes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import digest.render as render
from digest.pipeline import Options, Project, run_build

from .conftest import FIXTURE_CORPUS, make_project


def tree(root: Path) -> dict[str, bytes]:
    docs = root / "docs" / "digest"
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*"))
            if p.is_file() and p.name != ".digest-manifest.json"}


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each article's, hub's and edition's page is rendered."""
    calls: Counter[str] = Counter()
    real_article, real_hub = render.render_article, render.render_hub

    def article(digest: Any, a: Any) -> str:
        calls[f"article:{a.id}"] += 1
        return real_article(digest, a)

    def hub(digest: Any, h: Any) -> str:
        calls[f"{h.kind}:{h.key}"] += 1
        return real_hub(digest, h)

    def edition(digest: Any, date: Any, *rest: Any) -> str:
        calls[f"edition:{date}"] += 1
        return real_edition(digest, date, *rest)

    real_edition = render.render_edition
    monkeypatch.setattr(render, "render_article", article)
    monkeypatch.setattr(render, "render_hub", hub)
    monkeypatch.setattr(render, "render_edition", edition)
    return calls


def generate(root: Path) -> None:
    run_build(Project(root), Options(), site=False)


def edit(root: Path, name: str, old: str, new: str) -> None:
    path = root / "seeds" / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def fresh(root: Path, where: Path) -> dict[str, bytes]:
    clean = make_project(where, root / "seeds")
    generate(clean)
    return tree(clean)


def test_a_title_change_renders_its_page_and_those_that_show_the_title(tmp_path: Path, rendered: Counter[str]) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    first = dict(rendered)
    assert first and all(n == 1 for n in first.values())
    rendered.clear()
    edit(root, "alpha.yml", "title: ROKETSAN opens", "title: ROKETSAN opens, says a new title,")
    generate(root)
    again = set(rendered)
    # Its own page and every hub that lists it; an article whose related
    # list shows it; not the others.
    assert "article:alpha" in again
    assert "topic:defense industry" in again and "source:example wire" in again
    assert "article:gamma" not in again
    # Its edition lists it; the other editions do not.
    alpha_date = re.search(r"^date: (\S+)", (root / "seeds/alpha.yml").read_text(encoding="utf-8"), re.M)
    assert alpha_date and {n for n in again if n.startswith("edition:")} == {f"edition:{alpha_date.group(1)}"}
    assert len([n for n in first if n.startswith("edition:")]) > 1
    for name in again:
        if name.startswith("article:") and name != "article:alpha":
            page = root / f"docs/digest/articles/{name.removeprefix('article:')}.md"
            assert "alpha.html" in page.read_text(encoding="utf-8"), name
    assert len(again) < len(first)
    assert tree(root) == fresh(root, tmp_path / "clean")


def test_nothing_is_rendered_again_when_nothing_it_shows_changed(tmp_path: Path, rendered: Counter[str]) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    rendered.clear()
    # A change that no page shows: the same bytes, a new time.
    path = root / "seeds" / "alpha.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    generate(root)
    assert not rendered


def test_a_label_change_relabels_every_page_that_shows_the_article(tmp_path: Path, rendered: Counter[str]) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    edit(root, "alpha.yml", "importance: high", "importance: high\ntlp: GREEN")
    generate(root)
    edit(root, "alpha.yml", "tlp: GREEN", "tlp: AMBER")
    generate(root)
    # Every page that links alpha takes the stricter label.
    linking = [p for p in (root / "docs/digest/articles").glob("*.md")
               if p.stem != "alpha" and "alpha.html" in p.read_text(encoding="utf-8")]
    assert linking
    for page in linking:
        assert f"article:{page.stem}" in rendered
        assert "TLP:AMBER" in page.read_text(encoding="utf-8"), page
    assert tree(root) == fresh(root, tmp_path / "clean")


def test_a_page_edited_by_hand_is_rendered_again(tmp_path: Path, rendered: Counter[str]) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    page = root / "docs/digest/articles/gamma.md"
    page.write_text("edited by hand\n", encoding="utf-8")
    rendered.clear()
    edit(root, "alpha.yml", "importance: high", "importance: low")
    generate(root)
    assert "article:gamma" in rendered
    assert tree(root) == fresh(root, tmp_path / "clean")


def test_another_generator_renders_every_page_again(tmp_path: Path, rendered: Counter[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    every = set(rendered)
    rendered.clear()
    import digest.pipeline as pipeline
    monkeypatch.setattr(pipeline, "generator_version", lambda: "another version")
    edit(root, "alpha.yml", "importance: high", "importance: low")
    generate(root)
    assert set(rendered) == every


def test_the_ranking_of_related_articles_is_reused_until_a_facet_changes(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.model as model
    ranked: list[int] = []
    real = model.rank_related

    def rank(*args: Any) -> Any:
        ranked.append(1)
        return real(*args)

    monkeypatch.setattr(model, "rank_related", rank)
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    assert len(ranked) == 1
    edit(root, "alpha.yml", "title: ROKETSAN opens", "title: ROKETSAN now opens")
    generate(root)
    assert len(ranked) == 1  # a title is not a facet: the last ranking stands
    edit(root, "alpha.yml", "topics: [Defense Industry]", "topics: [Defense Industry, Exports]")
    generate(root)
    assert len(ranked) == 2
    assert tree(root) == fresh(root, tmp_path / "clean")


def test_only_the_feeds_that_list_a_changed_article_are_made_again(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.render.feeds as feeds
    made: list[str] = []
    real = feeds._atom_feed

    def atom(entries: Any, base: str, *rest: Any) -> bytes:
        made.append(base)
        return real(entries, base, *rest)

    monkeypatch.setattr(feeds, "_atom_feed", atom)
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    every = set(made)
    made.clear()
    edit(root, "alpha.yml", "title: ROKETSAN opens", "title: ROKETSAN now opens")
    generate(root)
    assert made and set(made) < every
    assert all("topics/" not in base or "defense" in base for base in made), made
    assert tree(root) == fresh(root, tmp_path / "clean")


def test_the_search_documents_of_unchanged_pages_are_taken_from_the_last_pages_js(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import digest.render.search as search
    made: list[str] = []  # the articles whose document was made afresh
    real = search._article_document

    def article_document(digest: Any, article: Any, *rest: Any) -> Any:
        key, doc = real(digest, article, *rest)
        if doc is not None:
            made.append(article.id)
        return key, doc

    monkeypatch.setattr(search, "_article_document", article_document)
    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    every = sorted(made)
    assert len(every) > 3
    made.clear()
    pages_js = root / "docs/digest/assets/search/pages.js"

    def lines() -> dict[bytes, bytes]:
        return {line[7:39]: line for line in pages_js.read_bytes().split(b"\n") if line.startswith(b'{"k": "')}

    before = lines()
    edit(root, "alpha.yml", "title: ROKETSAN opens", "title: ROKETSAN now opens")
    generate(root)
    after = lines()
    # Alpha's document is made again (its title changed); every other line
    # is the last run's, and the whole is what a run from nothing writes.
    assert made == ["alpha"]
    assert len(after) == len(before) and len(set(after) - set(before)) == 1
    assert b"ROKETSAN now opens" in next(after[k] for k in set(after) - set(before))
    assert tree(root) == fresh(root, tmp_path / "clean")
    # A pages.js changed by hand is not trusted: every document is made again.
    pages_js.write_bytes(pages_js.read_bytes().replace(b"ROKETSAN now opens", b"ROKETSAN xxx opens"))
    made.clear()
    edit(root, "alpha.yml", "title: ROKETSAN now opens", "title: ROKETSAN opens")
    generate(root)
    assert sorted(made) == every
    assert tree(root) == fresh(root, tmp_path / "clean2")


def test_an_article_key_holds_every_field_but_the_text_and_not_object_identity() -> None:
    """Reuse.article's key: any field changed (the text is stood for by
    text_key) changes it; an equal article made of other objects keeps it."""
    import copy
    import dataclasses
    import datetime as dt

    from digest.connect import Related
    from digest.model import Article, Correction, Digest, Quote
    from digest.render.reuse import Reuse

    base = Article(id="a", seed="seeds/a.txt", format="txt", title="T", reviewed=True, paragraphs=(),
                   date=dt.date(2026, 1, 2), published=dt.date(2026, 1, 1), summary="S", key_points=("k",),
                   topics=("t",), quotes=(Quote("q", "by", 1),), corrections=(Correction("o", "c", (1,)),),
                   related=("b",), mentions=("e",), links=((1, 0, 1, "e"),), ranked=(Related("b", "why"),),
                   credibility=2, text_key="h")
    other = Article(id="b", seed="seeds/b.txt", format="txt", title="B", reviewed=True, paragraphs=(),
                    date=dt.date(2026, 1, 3), text_key="hb")
    digest = Digest(articles={"a": base, "b": other}, reviewed=("b", "a"), unreviewed=(), editions=(), topics={},
                    regions={}, entities={}, sources={})

    def key(article: Article) -> str:
        reuse = Reuse("salt", {})
        reuse.start(digest)
        reuse.article(digest, article, "p")
        return reuse.keys["p"]

    changed = {"id": "z", "seed": "x", "format": "md", "title": "U", "reviewed": False, "date": dt.date(2026, 1, 5),
               "source": "s", "source_url": "u", "published": None, "author": "w", "reliability": "A",
               "summary": "R", "key_points": ("k", "l"), "assessment": "x", "confidence": "high", "credibility": 3,
               "importance": "high", "topics": ("u",), "regions": ("r",), "entities": ("e",),
               "quotes": (Quote("q", "by", 2),), "corrections": (Correction("o", "d", (1,)),), "related": (),
               "language": "tr", "draft": True, "mentions": (), "links": ((1, 0, 2, "e"),),
               "ranked": (Related("b", "why", True),), "tlp": "AMBER", "text_key": "h2"}
    fields = {f.name for f in dataclasses.fields(Article)} - {"paragraphs"}
    assert set(changed) == fields  # a new field needs a case here
    before = key(base)
    assert key(copy.deepcopy(base)) == before
    assert key(dataclasses.replace(base, paragraphs=("any text",))) == before  # stood for by text_key
    for name, value in changed.items():
        assert key(dataclasses.replace(base, **{name: value})) != before, name


def test_the_previous_tree_is_deleted_out_of_docs_and_before_the_run_ends(tmp_path: Path) -> None:
    """docs/digest/'s previous tree is moved out of docs/ (which the site
    build reads) and deleted in the background, and is gone when the run
    ends; one a killed run left is removed by the next run."""
    from digest.fsutil import PARKED
    from digest.pipeline import CACHE

    root = make_project(tmp_path / "p", FIXTURE_CORPUS / "seeds")
    generate(root)
    left = root / CACHE / f"{PARKED}.digest.staging-1"
    (left / "articles").mkdir(parents=True)
    (left / "articles" / "a.md").write_text("# left by a killed run\n", encoding="utf-8")
    edit(root, "alpha.yml", "title: ROKETSAN opens", "title: ROKETSAN now opens")
    generate(root)
    assert "ROKETSAN now opens" in (root / "docs/digest/articles/alpha.md").read_text(encoding="utf-8")
    assert not list((root / CACHE).glob(f"{PARKED}*"))
    assert sorted(p.name for p in (root / "docs").iterdir() if p.name.startswith(".")) == []

"""Connecting the dots: mentions, dossiers, related articles, co-mentions,
charts and search facets (issue 6)."""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest import fsutil, model
from digest.connect import (
    CO_MAX,
    RELATED_MAX,
    Facets,
    Matcher,
    case_matches,
    co_mentions,
    mentions,
    rank_added,
    rank_related,
)
from digest.pipeline import Project, check
from digest.render import render_all
from digest.render.article import paragraph_html
from digest.synth import write_corpus
from digest.text import Fix

from .conftest import make_project

NAMES = {"ROKETSAN": "roketsan", "ASELSAN": "aselsan", "Aselsan": "aselsan", "Askeri Elektronik": "aselsan",
         "US": "us", "Turkey": "turkey", "Baykar": "baykar", "Baykar Makina": "baykar-makina",
         "Kızılelma": "kizilelma", "İstanbul": "istanbul", "Su": "su"}


def found(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], k) for s, e, k in Matcher(NAMES).find(text)]


def test_mentions_respect_word_boundaries_and_prefer_the_longest_name() -> None:
    assert found("ROKETSAN's plant; ROKETSANX and XROKETSAN are other words.") == [("ROKETSAN", "roketsan")]
    assert found("Baykar Makina and Baykar.") == [("Baykar Makina", "baykar-makina"), ("Baykar", "baykar")]
    assert found("Askeri Elektronik, i.e. Aselsan") == [("Askeri Elektronik", "aselsan"), ("Aselsan", "aselsan")]
    assert found("Sudan and Susa, but Su said so.") == [("Su", "su")]


def test_mentions_are_case_aware() -> None:
    # An acronym matches only as written; an all-capitals name matches its title-case spelling.
    assert found("Let us go to the US.") == [("US", "us")]
    assert found("Roketsan and ROKETSAN and roketsan") == [("Roketsan", "roketsan"), ("ROKETSAN", "roketsan")]
    assert found("roast turkey in Turkey; TURKEY in a headline") == [("Turkey", "turkey"), ("TURKEY", "turkey")]
    assert case_matches("ASELSAN", "Aselsan") and not case_matches("aselsan", "Aselsan")


def test_mentions_are_unicode_aware_and_keep_offsets() -> None:
    text = "In İstanbul the KIZILELMA and Kızılelma flew; Kızılelmas is another word."
    hits = Matcher(NAMES).find(text)
    assert [(text[s:e], k) for s, e, k in hits] == [("İstanbul", "istanbul"), ("KIZILELMA", "kizilelma"),
                                                     ("Kızılelma", "kizilelma")]


def test_first_mention_per_paragraph_is_linked() -> None:
    paragraphs = (("ROKETSAN met Aselsan. ROKETSAN again.",), ("Later, ", Fix("Roketsn", "ROKETSAN"), " spoke."))
    keys, links = mentions(Matcher(NAMES), paragraphs)
    assert keys == ("roketsan", "aselsan")
    assert links == ((1, 0, 8, "roketsan"), (1, 13, 20, "aselsan"), (2, 7, 15, "roketsan"))


WORDS = ["ROKETSAN", "Roketsan", "Aselsan", "Askeri Elektronik", "US", "us", "Su", "İstanbul", "<b>", "&amp;", "a&b",
         "Kızılelma", "x", "'s", "—", "日本", "  ", "\u00a0", ".", ",", "\"", "<script>", "Baykar Makina"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=30), st.lists(st.sampled_from(WORDS), max_size=6),
       st.booleans())
def test_linked_paragraph_text_equals_the_original(before: list[str], after: list[str], with_fix: bool) -> None:
    """Linking mentions never changes a character of the text."""
    segments: tuple[str | Fix, ...] = (" ".join(before),)
    if with_fix:
        segments += (Fix("Roketsn", "ROKETSAN Su"), " ".join(after))
    _, links = mentions(Matcher(NAMES), (segments,))
    spans = tuple((s, e, f"../entities/{k}.html", k) for _, s, e, k in links)
    out = paragraph_html(1, segments, spans)
    shown = "".join(s.corrected if isinstance(s, Fix) else s for s in segments)
    body = out.split("</a> ", 1)[1].removesuffix("</p>")  # after the paragraph number
    assert html.unescape(re.sub(r"<[^>]+>", "", body)) == shown
    assert body.count('class="bd-mention"') == len([x for x in spans if not _crosses(x, segments)])


def _crosses(span: tuple[int, int, str, str], segments: tuple[str | Fix, ...]) -> bool:
    pos = 0
    for s in segments:
        end = pos + len(s.corrected if isinstance(s, Fix) else s)
        if span[0] < end:
            return span[1] > end or span[0] < pos
        pos = end
    return True


def write(seeds: Path, ident: str, day: int, text: str, entities: dict[str, list[str]], topics: Sequence[str] = (),
          regions: Sequence[str] = (), related: Sequence[str] = ()) -> None:
    seeds.mkdir(exist_ok=True)
    (seeds / f"{ident}.txt").write_text(text + "\n", encoding="utf-8")
    ents = "".join(f"  {kind}: [{', '.join(names)}]\n" for kind, names in entities.items())
    (seeds / f"{ident}.yml").write_text(
        f"title: Article {ident}\ndate: 2026-11-{day:02d}\nsource: Wire\nsummary: Bottom line of {ident}.\n"
        f"topics: [{', '.join(topics)}]\nregions: [{', '.join(regions)}]\n"
        + (f"entities:\n{ents}" if ents else "") + (f"related: [{', '.join(related)}]\n" if related else ""),
        encoding="utf-8")


def corpus(tmp_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "entities.yml").write_text(
        "ASELSAN:\n  kind: organizations\n  aliases: [Aselsan, Askeri Elektronik]\n"
        "Baku:\n  kind: places\nTAI:\n  kind: organizations\n  aliases: [Turkish Aerospace]\n", encoding="utf-8")
    write(seeds, "a", 1, "ROKETSAN and Askeri Elektronik met in Baku.", {"organizations": ["ROKETSAN", "Aselsan"]},
          ["missiles"], ["Azerbaijan"])
    write(seeds, "b", 2, "Nothing about anyone. Turkish Aerospace is mentioned.", {"organizations": ["ROKETSAN"]},
          ["missiles"], ["Azerbaijan"])
    write(seeds, "c", 3, "ASELSAN's radar; roketsan in lower case is not ROKETSAN's name? It is: ROKETSAN.",
          {"places": ["Baku"]}, ["radars"])
    write(seeds, "d", 4, "ROKETSAN and ASELSAN in Baku.", {"organizations": ["ROKETSAN", "ASELSAN"], "places": ["Baku"]},
          ["missiles"], ["Azerbaijan"], related=["c"])
    write(seeds, "e", 20, "Unrelated words only.", {}, ["weather"])
    return tmp_path


def test_dossiers_list_exactly_the_articles_that_name_or_mention_an_entity(tmp_path: Path) -> None:
    digest = check(Project(corpus(tmp_path))).digest
    e = digest.entities
    assert e["aselsan"].articles == ("d", "a")  # annotated (as ASELSAN and by its alias), newest first
    assert e["aselsan"].mentioned == ("c",)  # "ASELSAN's" in c's text
    assert e["roketsan"].articles == ("d", "b", "a") and e["roketsan"].mentioned == ("c",)
    assert e["baku"].articles == ("d", "c") and e["baku"].mentioned == ("a",)
    # A registry entity nobody annotated still gets a dossier when the text mentions it.
    assert e["tai"].articles == () and e["tai"].mentioned == ("b",)
    assert (e["roketsan"].first_seen, e["roketsan"].last_seen) == (dt.date(2026, 11, 1), dt.date(2026, 11, 4))
    assert digest.articles["c"].mentions == ("aselsan", "roketsan")
    # Appears with: articles in which both are annotated or mentioned.
    assert dict(e["roketsan"].appears_with) == {"aselsan": 3, "baku": 3, "tai": 1}
    assert e["roketsan"].appears_with[0] == ("aselsan", 3)  # ties broken by key: aselsan before baku


def test_related_articles_are_ranked_with_reasons(tmp_path: Path) -> None:
    digest = check(Project(corpus(tmp_path))).digest
    d = digest.articles["d"].ranked
    # The analyst's choice first, then by shared entities (a: 2, b: 1), then topics and regions.
    assert [r.id for r in d] == ["c", "a", "b"]
    assert d[0].chosen and d[0].reason.startswith("chosen by the analyst; shares Baku")
    assert d[1].reason == "shares ROKETSAN, ASELSAN, Azerbaijan, missiles"
    assert d[2].reason == "shares ROKETSAN, Azerbaijan, missiles"
    # b shares ROKETSAN, missiles and Azerbaijan with both a and d: the closer date (a, one day) wins.
    assert [r.id for r in digest.articles["b"].ranked] == ["a", "d"]
    # e shares nothing with anyone: no related articles at all.
    assert digest.articles["e"].ranked == ()
    page = str(render_all(digest)["digest/articles/d.md"])
    assert "<em>shares ROKETSAN, ASELSAN, Azerbaijan, missiles</em>" in page


def test_dossier_page_timeline_and_overview_render(tmp_path: Path) -> None:
    digest = check(Project(corpus(tmp_path))).digest
    pages = render_all(digest)
    dossier = str(pages["digest/entities/roketsan.md"])
    assert "## Annotated in (3)" in dossier and "## Mentioned in (1)" in dossier
    assert "Bottom line of d." in dossier and "Bottom line of c." in dossier
    assert dossier.index("Article d") < dossier.index("Article b") < dossier.index("Article a")
    assert '<a href="aselsan.html">ASELSAN</a> · 3 articles together' in dossier
    assert 'src="../charts/entities/roketsan.svg"' in dossier and "2026-11: 4" in dossier
    chart = pages["digest/charts/entities/roketsan.svg"]
    assert isinstance(chart, bytes) and b"<svg xmlns" in chart[:100] and b"<script" not in chart
    assert b"<!--" not in chart and b"chart-roketsan" in chart  # no dated comment, no random id
    timeline = str(pages["digest/timeline.md"])
    assert "## November 2026" in timeline and "5 articles in 5 editions" in timeline
    overview = str(pages["digest/overview.md"])
    for name in ("overview-weekly", "overview-top-entities", "overview-top-topics", "overview-network"):
        assert f"digest/charts/{name}.svg" in pages and f"../digest/charts/{name}.svg" not in overview
        assert f'src="charts/{name}.svg"' in overview
    # Rendering twice gives the same bytes (charts included).
    assert render_all(check(Project(tmp_path)).digest) == pages


def test_mention_links_in_the_article_text(tmp_path: Path) -> None:
    digest = check(Project(corpus(tmp_path))).digest
    page = str(render_all(digest)["digest/articles/c.md"])
    assert '<a class="bd-mention" href="../entities/aselsan.html" title="ASELSAN">ASELSAN</a>\'s radar' in page
    # Only the first ROKETSAN of the paragraph is a link; the lower-case word is not a mention.
    assert page.count('class="bd-mention" href="../entities/roketsan.html"') == 1
    assert "roketsan in lower case" in page
    assert "<strong>Also mentioned</strong>" in page


def _related_by_brute_force(facets: dict[str, Facets], chosen: dict[str, list[str]]) -> dict[str, list[str]]:
    """The definition of related articles, compared pair by pair: the
    analyst's first, then everyone sharing something, by shared entities,
    shared topics and regions, closeness in date, id."""
    out = {}
    for ident, f in facets.items():
        picked = [o for o in dict.fromkeys(chosen.get(ident, [])) if o in facets and o != ident][:RELATED_MAX]

        def key(other: str, f: Facets = f) -> tuple[int, int, int, str]:
            o = facets[other]
            ent = len(set(f.entities) & set(o.entities))
            oth = len(set(f.topics) & set(o.topics)) + len(set(f.regions) & set(o.regions))
            far = (abs(f.date.toordinal() - o.date.toordinal()) if f.date and o.date
                   else 0 if f.date == o.date else abs((f.date or o.date).toordinal() + (1 << 40)))  # type: ignore[union-attr]
            return (-ent, -oth, far, other)

        rest = sorted((o for o in facets if o != ident and o not in picked), key=key)
        rest = [o for o in rest if key(o)[0] or key(o)[1]]
        out[ident] = picked + rest[: RELATED_MAX - len(picked)]
    return out


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_related_ranking_matches_its_definition(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 90))
    pool = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]), max_size=5, unique=True)
    dates = st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2026, 3, 1)))
    facets = {f"x{i:03}": Facets(data.draw(dates), tuple(data.draw(pool)),
                                 tuple(data.draw(st.lists(st.sampled_from("pqr"), max_size=2, unique=True))),
                                 tuple(data.draw(st.lists(st.sampled_from("uv"), max_size=1, unique=True))))
              for i in range(n)}
    chosen = {i: data.draw(st.lists(st.sampled_from(sorted(facets)), max_size=3)) for i in facets if i < "x005"}
    names = {f"{p}:{k}": k for p in "etr" for k in "abcdefgpqruv"}
    ranked = rank_related(facets, chosen, names)
    assert {i: [r.id for r in rs] for i, rs in ranked.items()} == _related_by_brute_force(facets, chosen)


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_ranking_after_articles_are_added_is_the_ranking_made_afresh(data: st.DataObject) -> None:
    """An analyst brings articles in: the earlier ranking updated for them
    (rank_added) is the ranking of all the articles made from nothing,
    reasons included; anything else changed, and it declines."""
    n = data.draw(st.integers(2, 60))
    pool = st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f"]), max_size=4, unique=True)
    dates = st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2026, 1, 20)))
    facets = {f"x{i:03}": Facets(data.draw(dates), tuple(data.draw(pool)),
                                 tuple(data.draw(st.lists(st.sampled_from("pqr"), max_size=2, unique=True))),
                                 tuple(data.draw(st.lists(st.sampled_from("uv"), max_size=1, unique=True))))
              for i in range(n)}
    ids = sorted(facets)
    added = set(data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True)))
    before = {i: f for i, f in facets.items() if i not in added}
    # The analyst's own picks, among the earlier articles (an added one may pick any).
    chosen = {i: data.draw(st.lists(st.sampled_from(sorted(before) if i not in added else ids), max_size=2))
              for i in ids[:6]}
    chosen_before = {i: c for i, c in chosen.items() if i in before}
    names = {f"{p}:{k}": k.upper() for p in "etr" for k in "abcdefpqruv"}
    ranked = rank_related(before, chosen_before, names)
    assert rank_added(before, ranked, chosen_before, names, facets, chosen, names) == \
        rank_related(facets, chosen, names)
    # An earlier article changed, or one picks an added one: not an addition.
    first = min(before)
    moved = {**facets, first: Facets(dt.date(2025, 1, 1), ("z",), (), ())}
    assert rank_added(before, ranked, chosen_before, names, moved, chosen, names) is None
    picks = {**chosen, first: [*chosen.get(first, []), min(added)]}
    assert rank_added(before, ranked, chosen_before, names, facets, picks, names) is None


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(st.dictionaries(st.text("xyz", min_size=1, max_size=3),
                       st.lists(st.sampled_from("abcdefghijklmn"), max_size=12), max_size=40))
def test_co_mentions_count_every_pair_of_entities_in_an_article(appearances: dict[str, list[str]]) -> None:
    # The definition, pair by pair: how many articles hold both entities.
    pairs: dict[str, dict[str, int]] = {}
    for keys in appearances.values():
        for k in set(keys):
            mine = pairs.setdefault(k, {})
            for other in set(keys) - {k}:
                mine[other] = mine.get(other, 0) + 1
    expected = {k: tuple(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:CO_MAX]) for k, c in pairs.items()}
    assert co_mentions(appearances) == expected


def test_related_articles_ranked_in_a_child_process_are_the_same(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """At scale, related articles are ranked in a forked child while the
    mentions are found (fsutil.beside); the digest must be the same."""
    write_corpus(tmp_path / "corpus", 150)
    project = Project(make_project(tmp_path / "p", tmp_path / "corpus"))
    here = check(project).digest
    monkeypatch.setattr(model, "RANK_BESIDE", 1)
    monkeypatch.setattr(fsutil, "usable_cores", lambda: 2)
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    forked = check(project).digest
    assert len(children) == 1  # it did run in a child
    assert forked == here
    assert sum(len(a.ranked) for a in forked.articles.values()) > 100


def test_work_beside_returns_its_result_or_its_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsutil, "usable_cores", lambda: 2)
    with fsutil.beside(os.getpid) as result:
        child = result()
        assert child != os.getpid()  # computed in the child
        with open(__file__, "rb"):  # may take the number the pipe had
            assert result() == child  # asked again: the same answer

    def fails() -> None:
        raise ValueError("no such facet")

    with fsutil.beside(fails) as result:
        for _ in range(2):
            with pytest.raises(ValueError, match="no such facet"):
                result()
    # Not wanted, or one core: computed here, when asked for, once.
    calls = []
    with fsutil.beside(lambda: calls.append(os.getpid()) or len(calls), wanted=False) as result:
        assert calls == [] and result() == 1 and result() == 1 and calls == [os.getpid()]
    monkeypatch.setattr(fsutil, "usable_cores", lambda: 1)
    with fsutil.beside(os.getpid) as result:
        assert result() == os.getpid()


def test_a_block_that_fails_stops_the_work_beside_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fsutil, "usable_cores", lambda: 2)
    started = tmp_path / "started"

    def forever() -> None:
        started.write_text(str(os.getpid()))
        while True:
            time.sleep(0.05)

    with pytest.raises(KeyError), fsutil.beside(forever):
        while not started.exists():
            time.sleep(0.01)
        raise KeyError("the block failed")
    child = int(started.read_text())
    with pytest.raises(ChildProcessError):  # killed and reaped: no such child any more
        os.waitpid(child, os.WNOHANG)


def test_an_article_copied_with_changes_is_the_one_dataclasses_replace_makes() -> None:
    import dataclasses

    from digest.model import Article, _with
    assert not hasattr(Article, "__post_init__") and not hasattr(Article, "__slots__")
    article = Article(id="a", seed="seeds/a.txt", format="txt", title="T", reviewed=True, paragraphs=(("x",),),
                      mentions=("k",))
    changed = _with(article, mentions=("m",), links=((0, 0, 1, "m"),))
    assert changed == dataclasses.replace(article, mentions=("m",), links=((0, 0, 1, "m"),))
    assert article.mentions == ("k",) and hash(changed) == hash(dataclasses.replace(changed))

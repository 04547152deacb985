"""model.add: the last build's Digest with articles brought in equals the
Digest built afresh from the same seeds (or declines, and build decides);
and pages.js patched for what changed equals the one made afresh."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from digest.load import load
from digest.memo import Memo
from digest.model import Digest, add, build
from digest.render.reuse import Reuse, changes
from digest.render.search import patched_script, search_script
from digest.synth import write_corpus
from digest.validate import validate

from .conftest import annotation_files

ARTICLES = 60


def _copy(seeds: Path, source: Path, new: str, change: Callable[[str], str] = lambda t: t) -> None:
    shutil.copy(source.with_suffix(".txt"), seeds / f"{new}.txt")
    text = re.sub(r"(?m)^title: .*$", f'title: "Brought in as {new}"', source.read_text(encoding="utf-8"), count=1)
    (seeds / f"{new}.yml").write_text(change(text), encoding="utf-8")


def _sub(pattern: str, repl: str) -> Callable[[str], str]:
    return lambda text: re.sub(pattern, repl, text, count=1, flags=re.M)


# How an added article may differ from the one it copies: each is either
# brought in by model.add or declined, never brought in wrong.
CHANGES: dict[str, Callable[[str], str]] = {
    "same": lambda t: t,
    "newest date": _sub(r"^date: .*$", "date: 2027-01-05"),
    "oldest date": _sub(r"^date: .*$", "date: 2020-01-05"),
    "new outlet": _sub(r"^source:.*$", 'source: "A Wire Never Seen"'),
    "new topic": _sub(r"^topics: \[", 'topics: ["A Topic Never Seen", '),
    "topic spelled otherwise": lambda t: re.sub(r"(?m)^(topics: \[\"?)(\w)", lambda m: m[1] + m[2].swapcase(), t,
                                                 count=1),
    "new entity": _sub(r"^(  [a-z]+: \[)", r'\1"An Entity Never Seen", '),
    "no related": _sub(r"^related:.*\n(?:  - .*\n)*", ""),
    "high importance": _sub(r"^importance: .*$", "importance: high"),
}


def _model(seeds: Path) -> tuple[Digest, list[object], object, object]:
    raw = load(seeds)
    checked = validate(raw)
    digest, problems = build(raw, checked, memo=Memo.off())
    return digest, sorted(set(problems)), raw, checked


def _same(made: Digest, built: Digest) -> None:
    assert made == built
    assert list(made.articles) == list(built.articles)
    for kind in ("topic", "region", "entity", "source"):
        assert list(made.hubs(kind)) == list(built.hubs(kind)), kind
    assert made.damaged == built.damaged


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = tmp_path_factory.mktemp("add") / "seeds"
    write_corpus(seeds, ARTICLES)
    return seeds


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(added=st.lists(st.tuples(st.integers(0, ARTICLES - 1), st.sampled_from(sorted(CHANGES))), min_size=1,
                      max_size=3))
@example(added=[(3, "same")])
@example(added=[(3, "same"), (8, "newest date"), (11, "new outlet")])
@example(added=[(5, "new entity")])
def test_articles_added_to_a_digest_equal_the_digest_built_afresh(
        added: list[tuple[int, str]], corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("step")
    seeds = work / "seeds"
    shutil.copytree(corpus, seeds)
    before, problems_before, _, checked_before = _model(seeds)
    sources = annotation_files(seeds)
    for n, (i, how) in enumerate(added):
        _copy(seeds, sources[i], f"added-{n}", CHANGES[how])
    built, problems, raw, checked = _model(seeds)
    new = {f"added-{n}": checked.annotations[f"added-{n}"] for n in range(len(added))}  # type: ignore[attr-defined]
    made = add(before, new, raw, checked, checked_before.annotations,  # type: ignore[arg-type, attr-defined]
               memo=Memo.off(), withheld=frozenset(), default_tlp=None)
    kinds = {how for _, how in added}
    if kinds <= {"same", "newest date", "oldest date", "new outlet", "new topic", "no related", "high importance"}:
        assert made is not None, added  # names all known: no reason to decline
    if "new entity" in kinds:
        assert made is None  # a new way to write an entity: every text's mentions may change
    if made is not None:
        digest, found = made
        _same(digest, built)
        assert sorted(set(problems_before + found)) == problems  # type: ignore[operator]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(added=st.lists(st.tuples(st.integers(0, ARTICLES - 1), st.sampled_from(sorted(CHANGES))), max_size=3),
       deleted=st.sets(st.integers(0, ARTICLES - 1), max_size=3), edited=st.sets(st.integers(0, ARTICLES - 1),
                                                                                   max_size=2))
@example(added=[(3, "same")], deleted=set(), edited=set())
@example(added=[(3, "new outlet"), (4, "new topic")], deleted={0, ARTICLES - 1}, edited={7})
def test_pages_js_patched_for_what_changed_is_the_one_made_afresh(
        added: list[tuple[int, str]], deleted: set[int], edited: set[int], corpus: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """render.search.patched_script: the last pages.js with the lines of
    the articles and hubs changed, added and removed made again, added or
    removed, equals search_script's, and records the same keys."""
    work = tmp_path_factory.mktemp("pages")
    seeds = work / "seeds"
    shutil.copytree(corpus, seeds)
    before = _model(seeds)[0]
    sources = annotation_files(seeds)
    for n, (i, how) in enumerate(added):
        _copy(seeds, sources[i], f"added-{n}", CHANGES[how])
    for i in edited - deleted:
        text = sources[i].read_text(encoding="utf-8")
        sources[i].write_text(re.sub(r"(?m)^summary: .*$", 'summary: "Said otherwise."', text, count=1),
                              encoding="utf-8")
    for i in deleted:  # related links to a deleted article go too
        sources[i].unlink()
        sources[i].with_suffix(".txt").unlink()
        gone = sources[i].stem
        for other in annotation_files(seeds):
            text = other.read_text(encoding="utf-8")
            if gone in text:
                other.write_text(re.sub(rf'"{gone}",? ?', "", text).replace("related: []\n", ""), encoding="utf-8")
    after, problems = _model(seeds)[:2]
    assert not [p for p in problems if p.is_error]  # type: ignore[attr-defined]
    first = Reuse(salt="s", previous={})
    script = search_script(before, "s", None, first)
    known = changes(before, after)
    assert known is not None
    reuse = Reuse(salt="s", previous={}, changes=known, lines_before=first.lines)
    patched = patched_script(script, after, reuse)
    fresh = Reuse(salt="s", previous={})
    assert patched == search_script(after, "s", None, fresh)
    assert reuse.lines == fresh.lines

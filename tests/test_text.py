"""Unit tests of the pure text helpers."""

from __future__ import annotations

import re

import markdown
from hypothesis import given
from hypothesis import strategies as st

from digest.text import (
    Fix,
    QuoteFinder,
    apply_corrections,
    first_sentence,
    md_inline,
    md_text,
    neutralise_markdown,
    slugify,
    split_paragraphs,
)

EXTENSIONS = ["admonition", "attr_list", "tables", "toc"]


def to_html(text: str) -> str:
    return markdown.markdown(text, extensions=EXTENSIONS)


def test_paragraphs_split_on_blank_lines_only() -> None:
    assert split_paragraphs("a\nb\n\n  \nc\n") == ["a\nb", "c"]


def test_corrections_prefer_the_longer_key_and_keep_the_rest() -> None:
    segments = apply_corrections("Lham Aliyev met Lham.", {"Lham": "X", "Lham Aliyev": "İlham Aliyev"})
    assert segments == (Fix("Lham Aliyev", "İlham Aliyev"), " met ", Fix("Lham", "X"), ".")


def _by_pattern(paragraph: str, corrections: dict[str, str]) -> tuple[object, ...]:
    """The definition: one regular expression, longer keys first."""
    keys = sorted((k for k in corrections if k), key=lambda k: (-len(k), k))
    if not any(k in paragraph for k in keys):
        return (paragraph,)
    out: list[object] = []
    pos = 0
    for m in re.finditer("|".join(map(re.escape, keys)), paragraph):
        if m.start() > pos:
            out.append(paragraph[pos:m.start()])
        out.append(Fix(m.group(0), corrections[m.group(0)]))
        pos = m.end()
    if pos < len(paragraph):
        out.append(paragraph[pos:])
    return tuple(out)


@given(st.text(alphabet="abL ", max_size=40),
       st.dictionaries(st.text(alphabet="abL ", min_size=1, max_size=4), st.just("X"), max_size=5))
def test_corrections_split_as_one_pattern_of_the_keys_would(paragraph: str, corrections: dict[str, str]) -> None:
    assert apply_corrections(paragraph, corrections) == _by_pattern(paragraph, corrections)


def test_quote_found_across_wraps_and_typographic_quotes() -> None:
    paragraphs = ["first", "He said “no need\nto   build” it"]
    assert QuoteFinder(paragraphs).find('"no need to build"') == 1
    assert QuoteFinder(paragraphs).find("missing words") is None


def test_one_finder_answers_every_quote_of_an_article() -> None:
    paragraphs = ["Alpha said “yes”.", "Beta   said no.", "It ran on\nand on", "across the break."]
    finder = QuoteFinder(paragraphs)
    assert finder.find("Beta said no") == 1
    assert finder.find('"yes"') == 0
    assert finder.find("on and on across the") == 2  # starts in paragraph 3, ends in 4
    assert finder.find("said yes") is None
    assert finder.find('""') is None
    assert [finder.find(q) for q in ("Beta said no", "on and on across the")] == [1, 2]  # asked again


def test_markdown_characters_are_shown_as_written() -> None:
    raw = "# not a heading * [x](y) <b>bold</b> &amp; 1. `code` | a | --- _u_ \\ {{ x }} > q"
    html = to_html(md_text(raw))
    assert html.startswith("<p>") and "<b>" not in html and "<a " not in html and "<code>" not in html
    assert ("&amp;amp;" in html and "&lt;b&gt;" in html) or "&lt;b>" in html


def test_md_inline_neutralises_html_and_script_links() -> None:
    html = to_html(md_inline("**ok** <script>alert(1)</script> [x](javascript:alert(1)) [y](https://e.org)"))
    assert "<strong>ok</strong>" in html
    assert "<script>" not in html
    assert 'href="javascript' not in html
    assert '<a href="https://e.org">y</a>' in html


def test_images_from_annotations_and_markdown_seeds_never_load() -> None:
    for text in ("see ![x](https://evil.example/x.png)", "![y][ref]", "a ![z](//cdn.example/z.gif) b"):
        html = to_html(md_inline(text))
        assert "<img" not in html, html
    assert "<img" not in to_html(neutralise_markdown("![x](https://evil.example/x.png)\n\n[ref]: https://e.org"))


def test_md_inline_cannot_start_a_block() -> None:
    for text in ("# heading", "- item", "1. item", "> quote", "[a]: https://e.org"):
        html = to_html(md_inline(text))
        assert html.startswith("<p>"), (text, html)


def test_slugs_are_ascii_and_stable() -> None:
    assert slugify("Recep Tayyip Erdoğan") == "recep-tayyip-erdogan"
    assert slugify("Kızılelma") == "kizilelma"
    assert slugify("Москва") == slugify("Москва")
    assert slugify("Москва").startswith("x-")


def test_first_sentence_is_cut_at_a_word_boundary() -> None:
    assert first_sentence("One. Two.") == "One."
    long = "word " * 60
    title = first_sentence(long)
    assert title.endswith("…") and len(title) <= 121 and not title[:-1].endswith(" ")

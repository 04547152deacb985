"""MkDocs hook: keep Material's table-of-contents title valid HTML.

Material's toc partial titles the table of contents with
``<label for="__toc">``: on narrow screens that label opens the table of
contents folded into the navigation, through a checkbox with that id which
the navigation writes for the page it lists. Articles, editions and hubs are
kept out of the navigation (see generated_pages.py), so their pages have no
such checkbox and the label points at nothing: an error for the Nu HTML
Checker, and a label that does nothing when clicked. On those pages this
hook drops the ``for`` attribute and nothing else, which changes nothing a
reader can see or do; overriding the partial would mean copying it.

Zensical does not run MkDocs hooks; its pages keep the attribute.
"""

from __future__ import annotations

from typing import Any

LABEL = '<label class="md-nav__title" for="__toc">'
TOGGLE = 'id="__toc"'


def without_dangling_label(html: str) -> str:
    if LABEL in html and TOGGLE not in html:
        return html.replace(LABEL, '<label class="md-nav__title">')
    return html


def on_post_page(output: str, page: Any, config: Any) -> str:
    return without_dangling_label(output)

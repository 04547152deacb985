"""MkDocs hook: drop the indentation Material's templates leave in every page.

Material's templates are indented for people to read, and that indentation
is copied into every built page: about 5 KB of a 40 KB article page. Outside
``<pre>`` and ``<textarea>``, a browser treats a line break followed by
spaces the same as a line break alone, so this hook removes the spaces (and
the blank lines) after each line break there and nothing else. Every tag,
attribute and word stays as it was; tests/test_hooks.py checks that each
built page parses to the same elements and the same text either way.

Zensical does not run MkDocs hooks; its pages keep the indentation.
"""

from __future__ import annotations

import re
from typing import Any

# Where white space is shown as written: left exactly as it is.
_KEEP = re.compile(r"(<pre\b.*?</pre>|<textarea\b.*?</textarea>)", re.DOTALL | re.IGNORECASE)
_INDENT = re.compile(r"\n[ \t\r\n\f]+")  # HTML white space only: a no-break space stays


def compact(html: str) -> str:
    parts = _KEEP.split(html)
    # split() puts the kept parts at the odd positions.
    return "".join(part if i % 2 else _INDENT.sub("\n", part) for i, part in enumerate(parts))


def on_post_page(output: str, page: Any, config: Any) -> str:
    return compact(output)


def on_post_template(output_content: str, template_name: str, config: Any) -> str:
    # The theme's own pages (404.html); not sitemap.xml, which is not HTML.
    return compact(output_content) if template_name.endswith(".html") else output_content

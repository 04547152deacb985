"""Charts as SVG files, drawn at build time with pygal.

pygal draws static SVG: readable without JavaScript (its tooltip script is
switched off, so nothing is fetched), and shown through ``<img>`` with an
``alt`` text and a data table beside it on every page that uses one. Two
things pygal does are not deterministic and are undone here: a random id per
chart (replaced by one derived from the chart's file name) and a comment
carrying today's date (comments are dropped).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Final

import pygal
from pygal.etree import etree
from pygal.style import Style

# pygal writes with lxml when it can be imported (trafilatura brings it) and
# with the standard library otherwise, and the two serialise differently:
# always the standard library, so a chart's bytes do not depend on what
# else is installed.
etree.to_etree()

_COMMENT: Final = re.compile(r"<!--.*?-->", re.S)
# pygal always embeds its configuration for its tooltip script; with no
# script to read it (js=[]), it is dead weight, and a chart should hold none.
_SCRIPT: Final = re.compile(r"<script\b[^>]*>.*?</script>", re.S)
# System fonts only: the offline edition must not need a web font.
_FONT: Final = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
IMPORTANCE_COLOURS: Final = ("#c62828", "#f9a825", "#78909c")  # high, medium, low


def _style(colours: Sequence[str] = ("#3f51b5", "#009688", "#ff7043", "#8e24aa", "#7cb342")) -> Style:
    return Style(background="transparent", plot_background="transparent", font_family=_FONT,
                 foreground="#444", foreground_strong="#222", foreground_subtle="#ccc",
                 colors=tuple(colours), label_font_size=11, major_label_font_size=11,
                 title_font_size=14, legend_font_size=11, value_label_font_size=10)


def _config(title: str, width: int, height: int, **extra: Any) -> dict[str, Any]:
    return {"title": title, "width": width, "height": height, "js": [], "explicit_size": True,
            "show_legend": False, "margin": 8, "pretty_print": False, **extra}


def _svg(chart: Any, ident: str) -> bytes:
    chart.uuid = ident
    text: str = chart.render(is_unicode=True)
    return _SCRIPT.sub("", _COMMENT.sub("", text)).encode("utf-8")


def chart_id(path: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", path.rsplit("/", 1)[-1].rsplit(".", 1)[0])


def bars(path: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *,
         stacked: bool = False, width: int = 720, height: int = 240, colours: Sequence[str] | None = None,
         label_every: int = 1) -> bytes:
    """Vertical bars over ``labels`` (one bar group per label)."""
    kind = pygal.StackedBar if stacked else pygal.Bar
    chart = kind(**_config(title, width, height, show_legend=len(series) > 1, legend_at_bottom=True,
                         x_label_rotation=0 if len(labels) <= 12 else 45, show_minor_x_labels=False,
                         truncate_label=-1, min_scale=1, max_scale=5, y_labels_major_every=None),
                 style=_style(colours or ("#3f51b5",)))
    chart.x_labels = list(labels)
    chart.x_labels_major = [x for i, x in enumerate(labels) if i % max(1, label_every) == 0]
    for name, values in series:
        chart.add(name, list(values))
    return _svg(chart, chart_id(path))


def ranking_height(rows: int) -> int:
    """The height of a :func:`ranking` of ``rows`` bars (pages give their
    ``<img>`` the same size)."""
    return 60 + 26 * max(1, rows)


def ranking(path: str, title: str, rows: Sequence[tuple[str, int]], *, width: int = 720) -> bytes:
    """Horizontal bars, the largest on top, :func:`ranking_height` tall."""
    height = ranking_height(len(rows))
    chart = pygal.HorizontalBar(**_config(title, width, height, print_values=True, show_y_labels=True,
                                        truncate_label=-1, show_x_labels=False, show_y_guides=False),
                                style=_style())
    ordered = list(reversed(rows))  # pygal draws the first value at the bottom
    chart.x_labels = [name for name, _ in ordered]
    chart.add(title, [n for _, n in ordered])
    return _svg(chart, chart_id(path))


def network(path: str, title: str, nodes: Sequence[tuple[str, int]], edges: Sequence[tuple[int, int, int]], *,
            size: int = 640) -> bytes:
    """Entities on a circle, a line for each pair seen together (thicker for
    more articles). ``nodes`` are (name, articles); ``edges`` (i, j, articles)."""
    n = max(1, len(nodes))
    points = [(math.cos(2 * math.pi * i / n - math.pi / 2), math.sin(2 * math.pi * i / n - math.pi / 2))
              for i in range(n)]
    heaviest = max((w for _, _, w in edges), default=1)
    colours = ["#9fa8da"] * len(edges) + ["#283593"]
    chart = pygal.XY(**_config(title, size, size, show_x_labels=False, show_y_labels=False, show_x_guides=False,
                             show_y_guides=False, print_labels=True, xrange=(-1.6, 1.6), range=(-1.3, 1.3),
                             stroke=True, dots_size=0),
                     style=_style(colours))
    for i, j, w in edges:
        chart.add(f"{nodes[i][0]} and {nodes[j][0]}", [points[i], points[j]],
                  stroke_style={"width": 1 + 7 * w / heaviest}, show_dots=False)
    chart.add("entities", [{"value": points[i], "label": f"{name} ({count})"} for i, (name, count) in enumerate(nodes)],
              stroke=False, dots_size=6)
    return _svg(chart, chart_id(path))

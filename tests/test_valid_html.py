"""The built pages are valid HTML, by the Nu HTML Checker (npm vnu-jar, run
with Java), in both editions of the sample digest, of the fixture corpus and
of the hostile corpus (every payload of tests/test_hostile.py).

Two errors come from Material's base template and stay, by decision
(docs/development/design.md, "Valid HTML"): its drawer and search toggles
are checkboxes with ``autocomplete="off"``, which keeps Firefox from
restoring them open when a reader goes back to a page. Every other error
fails the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, required_tool

VNU = REPO / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# Material's toggles, written by its base.html outside any block.
THEME_TOGGLES = ('id="__drawer" autocomplete="off"', 'id="__search" autocomplete="off"')


def check(*folders: Path) -> list[dict[str, Any]]:
    """The checker's errors for every HTML file under ``folders``."""
    required_tool(shutil.which("java") is not None,
                  "Java not found: the Nu HTML Checker needs it (Debian: apt-get install default-jre-headless)")
    assert VNU.is_file(), "run 'make setup' (npm ci) first"
    proc = subprocess.run(["java", "-jar", str(VNU), "--skip-non-html", "--errors-only", "--format", "json",
                           *map(str, folders)], capture_output=True, text=True, timeout=600)
    messages: list[dict[str, Any]] = json.loads(proc.stderr)["messages"]
    assert all(m["type"] == "error" for m in messages), messages[:3]
    return messages


def _theirs(message: dict[str, Any]) -> bool:
    return message["message"].startswith("Attribute “autocomplete” is only allowed") and any(
        toggle in message.get("extract", "") for toggle in THEME_TOGGLES)


@pytest.mark.parametrize("built", ["built_sample", "built_fixture", "built_hostile"])
def test_both_editions_are_valid_html_but_for_the_themes_two_toggles(built: str,
                                                                     request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(built)
    pages = sorted(p for folder in ("site", "dist/offline") for p in (root / folder).rglob("*.html"))
    errors = check(root / "site", root / "dist" / "offline")
    ours = [f"{m['url'].removeprefix(root.as_uri() + '/')}:{m.get('lastLine')}: {m['message']}" for m in errors if not _theirs(m)]
    assert ours == []
    # The checker saw every page: each has the theme's two toggles.
    assert len({m["url"] for m in errors}) == len(pages) and len(errors) == 2 * len(pages)


def test_the_checker_finds_errors_in_invalid_markup(tmp_path: Path) -> None:
    """The check above could pass by checking nothing; here it must fail."""
    (tmp_path / "bad.html").write_text("<!doctype html><html lang=en><title>t</title>"
                                       "<label for=nothing>x</label><p><div></p>", encoding="utf-8")
    found = {m["message"] for m in check(tmp_path)}
    assert any("“for” attribute" in m for m in found) and any("No “p” element in scope" in m for m in found), found


def test_feed_links_keep_a_hostile_title_inside_their_attribute(built_hostile: Path) -> None:
    """A hub named with quotes and markup: its feed links still have exactly
    their four attributes (the title's quotes are escaped, not closing it)."""
    import html.parser

    class Links(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "link" and ("rel", "alternate") in attrs:
                self.found.append(dict(attrs))

    hubs = sorted((built_hostile / "site/digest").glob("*/*pwned*.html"))
    assert len(hubs) >= 4
    for hub in hubs:
        parser = Links()
        parser.feed(hub.read_text(encoding="utf-8"))
        assert len(parser.found) == 2, hub
        for link in parser.found:
            assert set(link) == {"rel", "type", "title", "href"}, (hub, link)
            assert "PWNED" in str(link["title"]).upper() and str(link["href"]).endswith((".xml", ".json"))

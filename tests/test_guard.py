"""The third-party guard finds loads from other hosts and allows plain links."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from digest.cli import main
from digest.guard import REPORT_VARIABLE, SCAN_BESIDE, read_part_reports, scan_site, scan_text
from digest.problems import BuildFailed
from digest.site import MkDocsRun, mkdocs_build

from .conftest import FIXTURE_CORPUS
from .test_hooks import _hook


def refs(name: str, text: str) -> list[str]:
    return [f.reference for f in scan_text(name, text)]


def test_html_loads_are_found() -> None:
    html = """
    <script src="https://unpkg.com/iframe-worker/shim"></script>
    <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
    <link rel="preconnect" href="https://fonts.gstatic.com">
    <img src="//cdn.example.org/a.png"><iframe src="http://evil.example/"></iframe>
    <div style="background: url('https://e.example/bg.png')"></div>
    <style>@import "https://e.example/x.css"; .a { background: url(https://e.example/y.png) }</style>
    <img srcset="a.png 1x, https://e.example/b.png 2x">
    <script>var config = {"base": ".."};</script><script>fetch("https://t.example/beacon")</script>
    """
    assert sorted(refs("a.html", html)) == sorted([
        "https://unpkg.com/iframe-worker/shim", "https://fonts.googleapis.com/css?family=Roboto",
        "https://fonts.gstatic.com", "//cdn.example.org/a.png", "http://evil.example/",
        "https://e.example/bg.png", "https://e.example/x.css", "https://e.example/y.png",
        "https://e.example/b.png", "https://t.example/beacon",
    ])


def test_attributes_in_any_quoting_and_entities() -> None:
    html = """<img src=https://e.example/a.png><script src='//e.example/b.js'></script>
    <img src="&#104;ttps://e.example/c.png"><meta http-equiv="refresh" content="0; url=https://e.example/">"""
    assert sorted(refs("a.html", html)) == sorted(["https://e.example/a.png", "//e.example/b.js",
                                                   "https://e.example/c.png", "https://e.example/"])


def test_links_and_local_files_are_allowed() -> None:
    html = """<a href="https://www.azernews.az/article">source</a>
    <link rel="canonical" href="https://digest.example.org/">
    <script src="assets/javascripts/bundle.js"></script><img src="data:image/png;base64,AAAA">"""
    assert refs("a.html", html) == []


def test_css_and_js() -> None:
    assert refs("a.css", "@font-face{src:url(https://fonts.gstatic.com/x.woff2)}") == [
        "https://fonts.gstatic.com/x.woff2"]
    assert refs("a.css", "a{background:url(../img/x.png)}") == []
    assert refs("a.js", 'importScripts("https://cdn.example.org/w.js");x.src="//e.example/a.js"') == [
        "https://cdn.example.org/w.js", "//e.example/a.js"]


def test_search_data_quoting_code_is_not_a_load() -> None:
    quoted = json.dumps({"docs": [["a.html", "Loading", "It calls fetch('https://evil.example/x') and import('//e.example/m.js')"]]})
    assert refs("search/digest_index.js", f"self.__digestSearch = {quoted};\n") == []
    shard = json.dumps("fetch\t2:1\nimport('//e.example/m.js')\t2:3")
    assert refs("search/shards/f.js", f'(self.__digestShards = self.__digestShards || {{}})["f"] = {shard};\n') == []
    # Anything but one JSON value after the fixed assignment is scanned as a
    # script, strings and all.
    assert "https://e.example/a" in refs("search/digest_index.js",
                                         f"self.__digestSearch = {quoted};fetch('https://e.example/a');\n")
    assert refs("search/digest_index.js", "self.__digestSearch = fetch('https://e.example/b');\n") == [
        "https://e.example/b"]


def test_a_bottom_line_quoting_code_builds(project: Any) -> None:
    root = project({"a.txt": "Some text about scripts.\n",
                    "a.yml": "title: Loading scripts\ndate: 2026-11-23\nsource: S\n"
                             "summary: \"The page calls fetch('https://evil.example/x') to load data.\"\n"})
    assert main(["build", "--root", str(root), "--edition", "hosted"], out=io.StringIO(), err=io.StringIO()) == 0
    assert "fetch('https://evil.example/x')" in (root / "site/search/digest_index.js").read_text(encoding="utf-8")


def test_a_site_scanned_by_several_processes_gives_the_same_findings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for i in range(SCAN_BESIDE + 11):
        folder = site / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        loads = f'<img src="https://cdn.example/{i}.png"><script src="//x.example/{i}.js"></script>' if i % 5 == 0 else ""
        (folder / f"p{i}.html").write_text(f"<p>page {i}</p>{loads}", encoding="utf-8")
    (site / "s.css").write_text("a{background:url(https://fonts.example/f.woff)}", encoding="utf-8")
    (site / "w.js").write_text("fetch('https://api.example/x')", encoding="utf-8")
    one = scan_site(site)
    assert len(one) == 2 * len(range(0, SCAN_BESIDE + 11, 5)) + 2
    assert one == sorted(one, key=lambda f: f.file)
    assert scan_site(site, workers=3) == one


@pytest.mark.parametrize("parts", [1, 2])
def test_a_build_that_would_load_from_another_host_fails(project: Any, parts: int) -> None:
    root = project(FIXTURE_CORPUS / "seeds")
    assert main(["generate", "--root", str(root)], out=io.StringIO(), err=io.StringIO()) == 0
    # A hand-written page (built by part 0), a page among the shared ones
    # (built by whichever part its hash gives), and a style sheet (read after
    # MkDocs): each is caught, in one process or in several.
    (root / "docs/guide/loads.md").write_text('# Loads\n\n<img src="https://cdn.example/x.png" alt="x">\n',
                                            encoding="utf-8")
    (root / "docs/digest/articles/zz-loads.md").write_text(
        '---\ntitle: Loads\nsearch:\n  exclude: true\n---\n\n# Loads\n\n<script src="//cdn.example/y.js"></script>\n',
        encoding="utf-8")
    with (root / "docs/stylesheets/digest.css").open("a", encoding="utf-8") as css:
        css.write('\n@import url("https://fonts.example/f.css");\n')
    with pytest.raises(BuildFailed) as failed:
        mkdocs_build(root / "mkdocs.yml", root / "site", parts=parts)
    message = str(failed.value)
    for finding in ("digest/articles/zz-loads.html: <script src> loads //cdn.example/y.js",
                    "guide/loads.html: <img src> loads https://cdn.example/x.png",
                    "stylesheets/digest.css: CSS url()/@import loads https://fonts.example/f.css"):
        assert finding in message, message
    assert not (root / "site").exists() and not list(root.glob(".site.*"))


def test_the_parts_guard_every_page_they_write(project: Any, tmp_path: Path) -> None:
    root = project(FIXTURE_CORPUS / "seeds")
    assert main(["generate", "--root", str(root)], out=io.StringIO(), err=io.StringIO()) == 0
    reports, site = tmp_path / "reports", tmp_path / "site"
    reports.mkdir()
    MkDocsRun(root / "mkdocs.yml", site, 3, guard_reports=reports).wait()
    scanned, findings = read_part_reports(reports, 3)
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    # Every page but the theme's 404 page (a template, not a page), which
    # the scan after MkDocs reads with the theme's files.
    assert scanned == pages - {"404.html"} and len(scanned) > 20 and findings == []
    assert sorted(p.name for p in reports.iterdir()) == ["part-0.json", "part-1.json", "part-2.json"]
    assert _hook("build_parts").GUARD_VARIABLE == REPORT_VARIABLE

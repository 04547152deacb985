"""The MkDocs hooks in overrides/hooks/ change speed and size, never content.

Each corpus is generated once, then built by MkDocs several ways: as
configured, without the generated-pages hook, without the indentation hook
too, and in one and in three processes sharing the pages. Without the
generated-pages hook every page must be byte for byte the same, and so must
every file of a site built in parts; without the indentation hook every page
must parse to the same elements, attributes and text, with `<pre>` blocks
untouched.
"""

from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import markdown
import pytest

from digest.archive import zip_tree
from digest.cli import main
from digest.fsutil import usable_cores
from digest.problems import BuildFailed
from digest.site import MAX_PARTS, PART_VARIABLE, build_parts, merge_part, mkdocs_build, offline_from_hosted, run_mkdocs
from digest.synth import write_corpus

from .conftest import FIXTURE_CORPUS, REPO, make_project
from .test_hostile import ATOMS, HOSTILE, MINIMAL

HOOK_LINE = re.compile(r"^  - overrides/hooks/(\w+)\.py\n", re.M)


def _build(root: Path, name: str, drop: tuple[str, ...]) -> Path:
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    hooks = sorted(HOOK_LINE.findall(config))
    assert hooks == ["build_parts", "compact_html", "generated_pages", "offline_feeds", "toc_label"]
    config = HOOK_LINE.sub(lambda m: "" if m.group(1) in drop else m.group(0), config)
    if len(drop) == len(hooks):
        config = config.replace("\nhooks:\n", "\n")
    return _mkdocs(root, name, config)


def _mkdocs(root: Path, name: str, config: str, env: dict[str, str] | None = None) -> Path:
    """``mkdocs build --strict`` of ``config``, written as mkdocs.NAME.yml, into site-NAME."""
    variant = root / f"mkdocs.{name}.yml"
    variant.write_text(config, encoding="utf-8")
    site = root / f"site-{name}"
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(variant), "-d",
                          str(site)], cwd=root, capture_output=True, text=True, check=False,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})})
    assert run.returncode == 0, run.stderr
    return site


def _pages(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in sorted(site.rglob("*.html"))}


class _Events(html.parser.HTMLParser):
    """A page as a browser would see it: elements, attributes, collapsed text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[object] = []
        self.text: list[str] = []

    def _flush(self) -> None:
        # Runs of HTML white space (not a no-break space) show as one space.
        text = re.sub(r"[ \t\n\r\f]+", " ", "".join(self.text))
        if text:
            self.events.append(text)
        self.text = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self.events.append((tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        self.events.append(f"/{tag}")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _events(page: str) -> list[object]:
    parser = _Events()
    parser.feed(page)
    parser.close()
    parser._flush()
    return parser.events


SYNTHETIC = "synthetic"
CORPORA = {
    "fixture": FIXTURE_CORPUS / "seeds",
    "hostile": {**HOSTILE, "atoms.txt": "\n\n".join(" ".join(ATOMS[i:i + 7]) for i in range(0, len(ATOMS), 7)),
                "atoms.yml": MINIMAL, "atoms-md.md": "\n\n".join(ATOMS), "atoms-md.yml": MINIMAL},
    SYNTHETIC: None,
}


@pytest.fixture(scope="module", params=sorted(CORPORA))
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    seeds = CORPORA[request.param]
    root = make_project(tmp_path_factory.mktemp(request.param) / "p", seeds if seeds is not None else {})
    if seeds is None:
        write_corpus(root / "seeds", 40)
    assert main(["generate", "--root", str(root)]) == 0
    return root


def test_generated_pages_hook_leaves_every_page_byte_identical(generated: Path) -> None:
    fast = _pages(_build(generated, "both", ()))
    plain = _pages(_build(generated, "no-raw", ("generated_pages",)))
    assert fast.keys() == plain.keys() and len(fast) > 10
    different = [name for name in fast if fast[name] != plain[name]]
    assert different == []
    assert any('<div class="admonition abstract">' in page for page in fast.values())


def _hook(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, REPO / "overrides/hooks" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_pages_hook_stashes_whole_blocks_only() -> None:
    hook = _hook("generated_pages")
    source = ("# Title\n\n<p class=\"m\"><a href=\"x.html\">x</a></p>\n\n<div><div>a</div>\n<p>b</p></div>\n\n"
              "<div>open\n\nstill open</div>\n\n<p>one</p><p>two</p>\n\n<ul><!-- c --><li>c</li></ul>\n\ntext <b>b</b>\n")
    fast = markdown.Markdown(extensions=[hook._Extension()])
    assert fast.convert(source) == markdown.Markdown().convert(source)
    # The two plain, whole blocks in a row went to the stash through the
    # hook, as one; the unbalanced, doubled and commented ones were left to
    # Python-Markdown.
    stashed = [str(b) for b in fast.htmlStash.rawHtmlBlocks]
    assert stashed[0] == '<p class="m"><a href="x.html">x</a></p>\n\n<div><div>a</div>\n<p>b</p></div>\n'
    assert "open" not in stashed[0]
    assert hook._whole("<p>one</p><p>two</p>", "p") is False
    assert hook._whole("<div>open", "div") is False
    for special in ("<div><!-- c --></div>", "<div><?php ?></div>", "<div><SCRIPT>x</SCRIPT></div>",
                    "<div><Pre>x</Pre></div>", '<div MarkDown = "1">x</div>', "<div><textarea></textarea></div>"):
        assert hook._special(special) and not hook._whole(special, "div"), special
    assert not hook._special('<div class="markdown-ish" data-x="presented">markdown</div>')


def test_compact_html_hook_keeps_every_element_and_word(generated: Path) -> None:
    compact = _pages(_build(generated, "compact", ("generated_pages",)))
    loose = _pages(_build(generated, "loose", ("generated_pages", "compact_html")))
    assert compact.keys() == loose.keys()
    for name in loose:
        assert _events(compact[name]) == _events(loose[name]), name
        for block in re.findall(r"<pre\b.*?</pre>", loose[name], re.S):
            assert block in compact[name], f"{name}: a <pre> block changed"
    # The theme's own 404 page is compacted too.
    assert len(compact["404.html"]) < len(loose["404.html"]) - 2000
    saved = sum(map(len, loose.values())) - sum(map(len, compact.values()))
    assert saved > 2000 * len(loose), f"only {saved} characters saved over {len(loose)} pages"


def test_toc_label_hook_drops_only_a_reference_to_a_missing_toggle(generated: Path) -> None:
    hook = _hook("toc_label")
    valid = _pages(_build(generated, "compact", ("generated_pages",)))
    raw = _pages(_build(generated, "raw-toc", ("generated_pages", "toc_label")))
    assert valid.keys() == raw.keys()
    dangling = [name for name, page in raw.items() if hook.LABEL in page and hook.TOGGLE not in page]
    assert dangling, "no page without the toggle: the test would check nothing"
    for name, page in raw.items():
        if name in dangling:
            assert valid[name] == page.replace(hook.LABEL, '<label class="md-nav__title">'), name
        else:  # pages the navigation lists keep their working label
            assert valid[name] == page, name


def _files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("config", ["mkdocs.yml", "mkdocs.offline.yml"])
def test_a_site_built_in_parts_is_the_same_site(generated: Path, config: str) -> None:
    whole, parts = generated / f"whole-{config}", generated / f"parts-{config}"
    run_mkdocs(generated / config, whole, 1)
    run_mkdocs(generated / config, parts, 3)
    one, three = _files(whole), _files(parts)
    assert one.keys() == three.keys() and sum(name.endswith(".html") for name in one) > 10
    assert [name for name in one if one[name] != three[name]] == []
    # The parts' own folders are gone, and the hook reads the variable
    # site.py sets.
    assert _hook("build_parts").VARIABLE == PART_VARIABLE
    assert sorted(p.name for p in generated.glob(f"parts-{config}*")) == [f"parts-{config}"]


def test_parts_that_write_the_same_file_fail_the_build(tmp_path: Path) -> None:
    site, part = tmp_path / "site", tmp_path / "part"
    for folder, text in ((site, "first"), (part, "second")):
        (folder / "digest").mkdir(parents=True)
        (folder / "digest" / "grades.html").write_text(text, encoding="utf-8")
    (part / "digest" / "new").mkdir()
    (part / "digest" / "new" / "page.html").write_text("new", encoding="utf-8")
    # A part that wrote a page another part wrote too is a bug; the build
    # says so instead of keeping one of the two.
    with pytest.raises(BuildFailed, match=r"both wrote digest/grades\.html"):
        merge_part(part, site)
    assert (site / "digest" / "grades.html").read_text(encoding="utf-8") == "first"


# Wraps the navigation partial before generated_pages.py does (priority
# above its own) and counts how often Material really renders it.
NAV_COUNTER = '''
import os
from pathlib import Path
from mkdocs.plugins import event_priority

renders = [0]

@event_priority(100)
def on_env(env, config, files):
    template = env.get_template("partials/nav.html")
    render = template.root_render_func

    def counted(context):
        renders[0] += 1
        yield from render(context)

    template.root_render_func = counted
    return env

@event_priority(-2000)
def on_post_build(config):
    Path(os.environ["NAV_RENDERS"]).write_text(str(renders[0]))
'''


@pytest.mark.parametrize("part", ["", "0/2", "1/2"])
def test_the_navigation_is_rendered_once_per_folder_in_every_part(generated: Path, part: str) -> None:
    # The output is the same either way (the tests above); this checks the
    # saving survives the other hooks, in a single build and in each part:
    # a hook that gave Jinja a new loader once made every part render the
    # navigation into every page again.
    (generated / "nav_counter.py").write_text(NAV_COUNTER, encoding="utf-8")
    config = (generated / "mkdocs.yml").read_text(encoding="utf-8").replace("\nhooks:\n", "\nhooks:\n  - nav_counter.py\n")
    count = generated / "nav-renders.txt"
    site = _mkdocs(generated, f"counted-{part.replace('/', 'of')}", config,
                   {"NAV_RENDERS": str(count), **({PART_VARIABLE: part} if part else {})})
    pages = list(site.rglob("*.html"))
    nav = config[config.index("\nnav:\n"):config.index("\nnot_in_nav:")]
    listed = re.findall(r": (\S+\.md)$", nav, re.M)
    folders = {p.parent for p in pages}
    renders = int(count.read_text())
    # Once per folder, plus once per page the navigation lists, and never
    # once per generated page.
    assert 0 < renders <= len(folders) + len(listed), (renders, len(folders), len(listed))
    if len(pages) > 100:  # the synthetic corpus
        assert renders < len(pages) / 4


def test_parts_follow_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # Linux: the CPU affinity (taskset, a container's cpuset), not the
    # machine's count; elsewhere (no sched_getaffinity) every core.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert (usable_cores(), build_parts()) == (3, 3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    assert build_parts() == MAX_PARTS
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert (usable_cores(), build_parts()) == (2, 2)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert build_parts() == 1


def test_parts_know_a_nav_entry_however_it_is_spelled() -> None:
    paths = list(_hook("build_parts")._nav_paths([{"Home": "./index.md"}, {"Guide": [{"A": "guide//a.md"},
                                                  "/guide/./b.md"]}, {"Out": "https://example.org/x"}]))
    assert paths[:3] == ["index.md", "guide/a.md", "guide/b.md"]


@pytest.fixture(scope="module")
def hosted(generated: Path) -> Path:
    """The hosted edition of each corpus, built once; a test that changes it works on a copy."""
    site = generated / "e-hosted"
    mkdocs_build(generated / "mkdocs.yml", site)
    return site


def test_the_offline_edition_made_from_the_hosted_one_is_what_mkdocs_builds(generated: Path, hosted: Path) -> None:
    derived, built = generated / "e-derived", generated / "e-built"
    assert offline_from_hosted(generated / "mkdocs.yml", hosted, generated / "mkdocs.offline.yml", derived,
                               generated / "e-derived.zip")
    mkdocs_build(generated / "mkdocs.offline.yml", built)
    one, other = _files(derived), _files(built)
    assert one.keys() == other.keys() and "search/search_index.js" in one
    assert [name for name in one if one[name] != other[name]] == []
    # Its zip, written while the pages were, is the zip of MkDocs' edition.
    zip_tree(built, generated / "e-built.zip")
    assert (generated / "e-derived.zip").read_bytes() == (generated / "e-built.zip").read_bytes()
    # It is not simply the hosted edition: instant navigation is off.
    assert b"navigation.instant" in (hosted / "index.html").read_bytes()
    assert b"navigation.instant" not in one["index.html"]


@pytest.mark.parametrize("change", [
    ("  palette:\n", "  palette:\n    - media: print\n      scheme: slate\n"),  # the theme differs
    ("  - offline\n", "  - offline:\n      enabled: false\n"),  # no offline plugin at work
    ("  - offline\n", "  - offline\ncopyright: An offline copy\n"),  # something else differs
])
def test_an_offline_configuration_that_differs_otherwise_is_built_by_mkdocs(generated: Path, hosted: Path,
                                                                           change: tuple[str, str]) -> None:
    target = generated / f"c-offline-{abs(hash(change))}"
    config = (generated / "mkdocs.offline.yml").read_text(encoding="utf-8")
    if change[0] == "  palette:\n":
        config = config.replace("  language: en\n", "  language: en\n" + change[0], 1)
    assert change[0] in config
    (generated / "mkdocs.changed.yml").write_text(config.replace(change[0], change[1], 1), encoding="utf-8")
    assert not offline_from_hosted(generated / "mkdocs.yml", hosted, generated / "mkdocs.changed.yml", target)
    assert not target.exists() and not list(generated.glob(f".{target.name}.building-*"))


def test_a_page_without_the_expected_feature_list_is_left_to_mkdocs(generated: Path, hosted: Path,
                                                                    tmp_path: Path) -> None:
    hosted = Path(shutil.copytree(hosted, tmp_path / "hosted"))
    page = hosted / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace('"navigation.instant", ', ""), encoding="utf-8")
    assert not offline_from_hosted(generated / "mkdocs.yml", hosted, generated / "mkdocs.offline.yml",
                                   tmp_path / "offline", tmp_path / "offline.zip")
    assert sorted(tmp_path.iterdir()) == [hosted]


def test_the_offline_edition_made_from_the_hosted_one_is_guarded(generated: Path, hosted: Path,
                                                                 tmp_path: Path) -> None:
    hosted = Path(shutil.copytree(hosted, tmp_path / "hosted"))
    page = hosted / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", '<img src="https://e.example/x.png"></body>'),
                    encoding="utf-8")
    (hosted / "extra.css").write_text("@import url(//e.example/y.css);", encoding="utf-8")
    with pytest.raises(BuildFailed) as failed:
        offline_from_hosted(generated / "mkdocs.yml", hosted, generated / "mkdocs.offline.yml", tmp_path / "offline",
                            tmp_path / "offline.zip")
    assert "extra.css: CSS url()/@import loads //e.example/y.css" in str(failed.value)
    assert "index.html: <img src> loads https://e.example/x.png" in str(failed.value)
    # Neither the edition nor its zip, nor anything half-made of them.
    assert not (tmp_path / "offline").exists() and not list(tmp_path.glob(".offline.*"))
    assert not (tmp_path / "offline.zip").exists()


def test_the_offline_feeds_hook_imports_no_more_of_the_generator_than_it_needs() -> None:
    """Every MkDocs process runs the hooks: the one that needs the
    generator's names takes them from digest.names, which imports nothing
    else of the package (digest.site cost each process 0.3 s)."""
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('h', {str(REPO / 'overrides/hooks/offline_feeds.py')!r})\n"
            "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
            "print(sorted(m for m in sys.modules if m.startswith('digest')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['digest', 'digest.names']"

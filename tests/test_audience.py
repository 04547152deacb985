"""Editions for an audience (issue 19): a withheld item leaves no byte in an
edition that may not hold it, and markings are shown."""

from __future__ import annotations

import gzip
import json
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from digest.cli import EXIT_OK, EXIT_PROBLEMS
from digest.synth import write_corpus

from .conftest import FIXTURE_CORPUS, fixture_seeds_with, make_project, run

CANARY = "canary"  # every withheld field holds it; searched for case-insensitively

SECRET_TEXT = """Canarytext paragraph: Canaryperson met Canaryorg in Canaryplace about the Kanarywordx deal.

Second paragraph with the Canaryquote said plainly, and more words.
"""
SECRET = """\
title: Canarytitle meeting
date: 2026-11-21
source:
  name: Canarysource
  url: https://canary.example.org/story
  author: Canaryauthor
summary: Canarysummary of the meeting.
key_points: [Canarypoint one]
assessment: Canaryassessment here.
confidence: high
topics: [Canarytopic]
regions: [Canaryregion]
entities:
  people: [Canaryperson]
  organizations: [Canaryorg]
  places: [Canaryplace]
quotes:
  - text: Canaryquote said plainly
    by: Canaryspeaker
corrections:
  Kanarywordx: Canarycorrected
tlp: {label}
"""
REGISTRY_ENTITY = """\
Canaryregistered:
  kind: organization
  aliases: [Canaryalias, ASELSAN Canary]
  description: Canarydescription.
  tlp: RED
"""
REGISTRY_SOURCE = """\
Canaryoutlet:
  url: https://canaryoutlet.example.org
  country: Canarycountry
  note: Canarynote.
  tlp: AMBER
"""


def every_byte(root: Path) -> dict[str, bytes]:
    """Every output file's name and content: the zip's members unzipped, .gz
    files gunzipped, the text of PDFs (whose streams are compressed) extracted."""
    found: dict[str, bytes] = {}
    for folder in ("site", "dist", "docs/digest"):
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(root).as_posix()
            data = path.read_bytes()
            found[name] = data
            if path.suffix == ".gz":
                found[name + "!gunzipped"] = gzip.decompress(data)
            if path.suffix == ".pdf":
                found[name + "!text"] = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True,
                                                       capture_output=True).stdout
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as zf:
                    for member in zf.namelist():
                        found[f"{name}!{member}"] = zf.read(member)
    return found


def leaks(root: Path) -> list[str]:
    return [name for name, data in every_byte(root).items()
            if CANARY in name.lower() or CANARY.encode() in data.lower()]


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture corpus marked: alpha GREEN, beta AMBER, the rest unmarked;
    canaried items marked AMBER, RED and unmarked; withheld registry entries."""
    seeds = tmp_path_factory.mktemp("marked") / "seeds"
    shutil.copytree(FIXTURE_CORPUS / "seeds", seeds)
    for name, label in (("alpha", "GREEN"), ("beta", "tlp:amber")):
        with (seeds / f"{name}.yml").open("a", encoding="utf-8") as f:
            f.write(f"tlp: {label}\n")
    for ident, label in (("canaryamber", "AMBER"), ("canaryred", "RED"), ("canaryunmarked", None)):
        (seeds / f"{ident}.txt").write_text(SECRET_TEXT, encoding="utf-8")
        text = SECRET.format(label=label) if label else SECRET.replace("tlp: {label}\n", "")
        (seeds / f"{ident}.yml").write_text(text, encoding="utf-8")
    with (seeds / "entities.yml").open("a", encoding="utf-8") as f:
        f.write(REGISTRY_ENTITY)
    with (seeds / "sources.yml").open("a", encoding="utf-8") as f:
        f.write(REGISTRY_SOURCE)
    # A releasable item that relates to a withheld one and mentions a withheld entry's alias.
    alpha = (seeds / "alpha.yml").read_text(encoding="utf-8").replace("related: [beta]", "related: [beta, canaryred]")
    (seeds / "alpha.yml").write_text(alpha, encoding="utf-8")
    return seeds


def test_a_green_edition_holds_no_byte_of_what_is_withheld(marked: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", marked)
    code, out, err = run("build", "--audience", "GREEN", "--root", str(root))
    assert code == EXIT_OK, err
    assert "for TLP:GREEN" in out and "related link(s) to withheld articles left out" in out
    assert leaks(root) == []
    pages = every_byte(root)
    alpha = pages["site/digest/articles/alpha.html"].decode()
    assert "ROKETSAN opens an assembly line near Baku" in alpha
    assert alpha.count(">TLP:GREEN<") >= 2  # top and bottom
    assert "site/digest/articles/beta.html" not in pages  # AMBER
    home = pages["site/index.html"].decode()
    assert "This edition is for readers cleared for" in home and "TLP:GREEN" in home


def test_an_amber_edition_holds_amber_and_shows_the_strictest_label(marked: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", marked)
    code, _, err = run("build", "--audience", "amber", "--root", str(root))
    assert code == EXIT_OK, err
    pages = every_byte(root)
    assert "site/digest/articles/beta.html" in pages and "site/digest/articles/canaryamber.html" in pages
    assert "site/digest/articles/canaryred.html" not in pages
    assert not any("canaryred" in name or "canaryunmarked" in name for name in pages)
    for name, data in pages.items():
        assert b"canaryregistered" not in data.lower(), name  # a RED registry entry
    beta = pages["site/digest/articles/beta.html"].decode()
    assert ">TLP:AMBER<" in beta
    edition = pages["site/digest/editions/2026-11-21.html"].decode()
    assert ">TLP:AMBER<" in edition


def test_the_full_edition_holds_everything_and_labels_it(marked: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", marked)
    code, _, err = run("generate", "--root", str(root))
    assert code == EXIT_OK, err
    red = (root / "docs/digest/articles/canaryred.md").read_text(encoding="utf-8")
    assert "Canarytitle" in red and ">TLP:RED<" in red


def test_a_project_default_marks_unmarked_items(marked: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", marked)
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(config.replace("  generator: false\n",
                                                    "  generator: false\n  digest:\n    default_tlp: GREEN\n"),
                                     encoding="utf-8")
    code, _, err = run("generate", "--audience", "GREEN", "--root", str(root))
    assert code == EXIT_OK, err
    assert (root / "docs/digest/articles/canaryunmarked.md").is_file()  # GREEN by default now
    assert not (root / "docs/digest/articles/canaryamber.md").exists()


def test_each_edition_built_for_its_configured_audience(marked: Path, tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", marked)
    config = (root / "mkdocs.yml").read_text(encoding="utf-8")
    (root / "mkdocs.yml").write_text(config.replace(
        "  generator: false\n", "  generator: false\n  digest:\n    audience:\n      hosted: GREEN\n      offline: AMBER\n"),
        encoding="utf-8")
    code, out, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    assert "the editions are for different audiences" in out
    assert (root / "dist/offline/digest/articles/canaryamber.html").is_file()
    hosted = [name for name, data in every_byte(root).items()
              if name.startswith("site/") and (CANARY in name.lower() or CANARY.encode() in data.lower())]
    assert hosted == []
    with zipfile.ZipFile(root / "dist/offline.zip") as zf:
        assert any("canaryamber" in n for n in zf.namelist())
        assert not any("canaryred" in n for n in zf.namelist())


def test_an_unknown_label_is_an_error_with_the_nearest(tmp_path: Path) -> None:
    seeds = fixture_seeds_with(tmp_path, "alpha", "tlp: AMBR\n")
    root = make_project(tmp_path / "p", seeds)
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_PROBLEMS
    line = len((seeds / "alpha.yml").read_text(encoding="utf-8").splitlines())
    assert f"seeds/alpha.yml:{line}:6: tlp: expected a TLP label" in err and "did you mean 'AMBER'?" in err
    assert run("check", "--audience", "PURPLE", "--root", str(root))[0] == 2


# The labels, as mark_pages adds them: a line after the front matter, one
# at the end, and the home page's audience note.
_LABEL_LINE = re.compile(r'<p class="digest-tlp-line">.*?</p>\n\n|<p class="digest-audience">.*?</p>\n\n')
_LAST_LINE = re.compile(r'\n\n<p class="digest-tlp-line">[^\n]*</p>\n\Z')


def _unlabelled(text: str) -> str:
    return _LABEL_LINE.sub("", _LAST_LINE.sub("\n", text))


# In the feeds: an entry's marking as a category (Atom) and a field (JSON Feed).
_FEED_LABEL = re.compile(r'<category term="TLP:[^"]*" scheme="https://www.first.org/tlp/"/>|(?<="tlp":)(?:"[^"]*"|null)')
# In a printed brief's text (spaces collapsed): the cover's sentence on the
# audience, the labels, every page's header and footer (a label's box may
# move a page break, and the text comes out where the page breaks), and the
# contents' dot leaders (as many as the line has room for: one, alone
# between spaces, or more) and page numbers.
_BRIEF_NOISE = re.compile(
    r"For readers cleared for TLP:[A-Z+]+: it holds only items marked (?:TLP:[A-Z+]+, )*TLP:[A-Z+]+\."
    r"|The full edition: every item, whatever its marking\."
    r"|TLP:[A-Z+]+|Page \d+ of \d+|Briefing Digest|\d{4}-\d\d-\d\d|Edition of \w+, \d+ \w+ \d{4}|(?:\. ?){2,}| \.(?= )|\u2060\d+")


def _brief_text(path: Path) -> str:
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return " ".join(_BRIEF_NOISE.sub(" ", " ".join(text.split())).split())


def _markdown(root: Path) -> dict[str, str]:
    docs = root / "docs" / "digest"
    out = {}
    for p in sorted(docs.rglob("*")):
        if p.is_file() and p.name != ".digest-manifest.json":
            data = p.read_bytes()
            name = p.relative_to(docs).as_posix()
            if p.suffix == ".md":
                out[name] = _unlabelled(data.decode("utf-8"))
            elif p.suffix in (".xml", ".json") and name.startswith("feeds/"):
                out[name] = _FEED_LABEL.sub("", data.decode("utf-8"))
            elif p.suffix == ".pdf":
                out[name] = _brief_text(p)
            else:
                out[name] = data.hex()
    return out


LABELS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", None]


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6), audience=st.sampled_from(LABELS[:-1]))
@example(seed=4746, audience="RED")  # a contents line with room for one leader dot
def test_an_edition_equals_a_clean_build_of_its_releasable_items(seed: int, audience: str,
                                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("prop")
    seeds = work / "seeds"
    write_corpus(seeds, 24)
    rng = random.Random(seed)
    rank = {x: i for i, x in enumerate(LABELS[:-1])}
    kept = seeds.parent / "kept"
    shutil.copytree(seeds, kept)
    withheld = []
    for path in sorted(seeds.glob("*.yml")):
        if path.stem in ("entities", "sources"):
            continue
        label = rng.choice(LABELS)
        if label:
            with path.open("a", encoding="utf-8") as f:
                f.write(f"tlp: {label}\n")
        if label is None or rank[label] > rank[audience]:
            withheld.append(path.stem)
            for suffix in (".txt", ".yml"):
                (kept / f"{path.stem}{suffix}").unlink()
    for path in kept.glob("*.yml"):  # no related link to what is not there
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.startswith("related: ["):
                ids = [x for x in json.loads(line.split(":", 1)[1]) if x not in withheld]
                lines[i] = f"related: {json.dumps(ids)}\n"
        path.write_text("".join(lines), encoding="utf-8")
    # The registries are unmarked: withheld from audience editions, as the format says.
    for path in (kept / "entities.yml", kept / "sources.yml"):
        path.write_text("{}\n", encoding="utf-8")
    edition = make_project(work / "edition", seeds)
    code, _, err = run("generate", "--audience", audience, "--root", str(edition))
    assert code == EXIT_OK, err
    clean = make_project(work / "clean", kept)
    code, _, err = run("generate", "--root", str(clean))
    assert code == EXIT_OK, err
    assert _markdown(edition) == _markdown(clean)

"""Annotating faster (issue 18): damaged text found with its fix, `digest
suggest`, `digest new` from text, Markdown and saved web pages, and the JSON
Schema editors read."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from digest.cli import EXIT_OK, EXIT_PROBLEMS
from digest.damage import Detector
from digest.schema_json import SCHEMA_DIR, rendered

from .conftest import FIXTURE_CORPUS, REPO, make_project, run

REGISTRY = """\
Kızılelma:
  kind: equipment
  description: Unmanned combat aircraft.
İlham Aliyev:
  kind: person
Recep Tayyip Erdoğan:
  kind: person
  aliases: [Erdoğan]
ASELSAN:
  kind: organization
"""
SOURCES = """\
Azernews:
  url: https://www.azernews.az
  reliability: C
"""


def annotation(title: str, extra: str = "") -> str:
    return (f"title: {title}\ndate: 2026-11-23\nsource: Azernews\nsummary: A summary.\n"
            "entities:\n  equipment: [Kızılelma]\n" + extra)


def seeds_state(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "seeds").iterdir())}


# --- Damaged text -----------------------------------------------------------

DAMAGED = ("The Kzlelma flew.\nThen Erdoan spoke, and Lham Aliyev listened.\n\n"
           "KÄ±zÄ±lelma again; Kız\ufffdlelma and K\ufffd\ufffdy once.\n")


def test_check_warns_at_each_damaged_word_with_the_line_that_fixes_it(project: Any) -> None:
    root = project({"entities.yml": REGISTRY, "sources.yml": SOURCES, "a.txt": DAMAGED,
                    "a.yml": annotation("Damaged")})
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_OK, err
    lines = err.splitlines()
    expect = [
        ("seeds/a.txt:1:5: text: warning: 'Kzlelma' looks damaged: it is 'Kızılelma' with letters lost",
         'seeds/a.yml: "Kzlelma": "Kızılelma"'),
        ("seeds/a.txt:2:6: text: warning: 'Erdoan' looks damaged: it is 'Erdoğan' with letters lost",
         '"Erdoan": "Erdoğan"'),
        ("seeds/a.txt:2:24: text: warning: 'Lham' looks damaged: it is 'İlham' with letters lost", '"Lham": "İlham"'),
        ("seeds/a.txt:4:1: text: warning: 'KÄ±zÄ±lelma' looks like mojibake", '"KÄ±zÄ±lelma": "Kızılelma"'),
        ("seeds/a.txt:4:20: text: warning: 'Kız\ufffdlelma' holds a replacement character (U+FFFD); "
         "it most likely stands for 'Kızılelma'", '"Kız\ufffdlelma": "Kızılelma"'),
        ("seeds/a.txt:4:34: text: warning: 'K\ufffd\ufffdy' holds a replacement character (U+FFFD) and no known name "
         "fits it", '"K\ufffd\ufffdy": "..."'),
    ]
    for message, fix in expect:
        at = next(i for i, line in enumerate(lines) if line.startswith(message))
        assert fix in lines[at + 1], lines[at + 1]
    assert sum("text: warning" in line for line in lines) == len(expect)
    assert run("check", "--strict", "--root", str(root))[0] == EXIT_PROBLEMS


def test_the_suggested_block_silences_every_warning_it_can_fix(project: Any) -> None:
    root = project({"entities.yml": REGISTRY, "sources.yml": SOURCES, "a.txt": DAMAGED,
                    "a.yml": annotation("Damaged", "corrections:\n  Kzlelma: Kızılelma\n")})
    code, block, err = run("suggest", "a", "--root", str(root))
    assert code == EXIT_OK, err
    assert block.startswith("# seeds/a.yml: paste this over its corrections: block")
    assert '  "Kzlelma": "Kızılelma"\n' in block  # the existing correction kept
    path = root / "seeds" / "a.yml"
    path.write_text(annotation("Damaged") + block.split("\n", 1)[1], encoding="utf-8")
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_OK
    warned = [line for line in err.splitlines() if "text: warning" in line]
    assert len(warned) == 1 and "no known name fits" in warned[0]  # only what no name could fix


def test_the_sample_digest_has_no_damage_warnings() -> None:
    code, _, err = run("check", "--strict", "--root", str(REPO))
    assert code == EXIT_OK, err
    assert "text:" not in err


@pytest.mark.parametrize("seed", range(5))
def test_any_loss_of_letters_outside_ascii_is_found(seed: int) -> None:
    rng = random.Random(seed)
    names = ["Kızılelma", "Erdoğan", "Gürcüstan", "Şəmkir", "Çağrı Özdemir", "Москва"]
    detector = Detector(names)
    word = rng.choice([w for n in names for w in n.split() if not w.isascii() and w != "Москва"])
    at = [i for i, c in enumerate(word) if not c.isascii()]
    dropped = set(rng.sample(at, rng.randint(1, len(at))))
    damaged = "".join(c for i, c in enumerate(word) if i not in dropped)
    text = f"Before {damaged}, after."
    found = detector.find(text)
    if sum(c.isalpha() for c in damaged) < 4:  # too short to tell from an ordinary word
        assert found == []
    else:
        assert [(d.found, d.fixed, d.start) for d in found] == [(damaged, word, 7)]
    assert detector.find(f"Before {word}, after.") == []  # the intact name is no damage


def test_letters_of_other_scripts_are_not_taken_for_lost_ones() -> None:
    # A Cyrillic or mixed-script name that loses its non-ASCII letters leaves
    # another word, not a damaged one (synth's long corpus has 'Миhago').
    detector = Detector(["Миhago", "Москва", "北京 Daily"])
    assert detector.find("hago and Mосква and Daily, hago.") == []


def test_words_inside_a_corrected_passage_and_ordinary_words_are_not_reported() -> None:
    detector = Detector(["İlham Aliyev", "Kızılelma"])
    text = "Lham Aliyev spoke. Kizilelma is how English writes it. Zlelma is no word."
    assert [d.found for d in detector.find(text, {"Lham Aliyev": "İlham Aliyev"})] == []
    assert [d.found for d in detector.find(text)] == ["Lham"]


# --- digest new -------------------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset="{charset}">{title}
<meta property="og:site_name" content="Azernews">
<link rel="canonical" href="https://www.azernews.az/business/123.html">
<meta name="author" content="Staff writer">
<meta property="article:published_time" content="2026-11-30T10:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/politics">Politics</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies</div>
<article><h1>Kızılelma parts to be made in Baku</h1>
<p>A retired Turkish general says Azerbaijan can co-produce Turkish drones, missiles and aircraft parts
for the Kzlelma and become the hub of the region's defence industry, he told the newspaper on Monday.</p>
<p>President Lham Aliyev has often stressed how important joint production with Türkiye is, and ASELSAN
agrees with Erdoan about the plan for the coming years.</p>
<p>Studies are under way to make parts of the combat aircraft in Azerbaijan, the general added.</p></article>
<aside class="ad">Advertisement: buy the best VPN today</aside>
<div class="comments"><h3>Comments</h3><p>Great article, first comment here!</p></div>
<script>document.write("tracker")</script><footer>Copyright 2026 Azernews. All rights reserved.</footer>
</body></html>"""
FURNITURE = ("Home", "Politics", "cookies", "Advertisement", "VPN", "Great article", "tracker", "Copyright")


def page(charset: str = "utf-8", title: bool = True) -> bytes:
    head = "<title>Kızılelma parts to be made in Baku | Azernews</title>" if title else ""
    return PAGE.format(charset=charset, title=head).encode(charset)


@pytest.fixture
def newsroom(project: Any) -> Path:
    return project({"entities.yml": REGISTRY, "sources.yml": SOURCES})  # type: ignore[no-any-return]


def test_new_from_a_saved_page_takes_the_article_and_prefills_the_draft(newsroom: Path, tmp_path: Path) -> None:
    saved = tmp_path / "saved.html"
    saved.write_bytes(page())
    code, out, err = run("new", str(saved), "--root", str(newsroom), "--date", "2026-12-01")
    assert code == EXIT_OK, err
    ident = "2026-12-01-kizilelma-parts-to-be-made-in-baku"
    assert f"wrote seeds/{ident}.txt and seeds/{ident}.yml" in out
    text = (newsroom / "seeds" / f"{ident}.txt").read_text(encoding="utf-8")
    paragraphs = text.strip().split("\n\n")
    assert len(paragraphs) == 3 and paragraphs[0].startswith("A retired Turkish general")
    for furniture in FURNITURE:
        assert furniture not in text, furniture
    raw = (newsroom / "seeds" / f"{ident}.yml").read_text(encoding="utf-8")
    assert raw.startswith("# yaml-language-server: $schema=../docs/schema/annotation.json\n")
    values = yaml.safe_load(raw)
    assert values["title"] == "Kızılelma parts to be made in Baku"
    assert values["date"] == dt.date(2026, 12, 1)
    assert values["source"] == {"name": "Azernews", "url": "https://www.azernews.az/business/123.html",
                                "published": dt.date(2026, 11, 30), "author": "Staff writer"}
    assert values["entities"] == {"people": ["İlham Aliyev", "Recep Tayyip Erdoğan"], "organizations": ["ASELSAN"],
                                  "equipment": ["Kızılelma"]}
    assert values["corrections"] == {"Kzlelma": "Kızılelma", "Lham": "İlham", "Erdoan": "Erdoğan"}
    assert values["draft"] is True and "summary" not in values
    assert "# summary:" in raw and "# credibility:" in raw  # prompts for what only the analyst writes
    # The next build passes, and the draft stays out of the site.
    code, out, err = run("generate", "--root", str(newsroom))
    assert code == EXIT_OK, err
    assert not (newsroom / "docs" / "digest" / "articles" / f"{ident}.md").exists()
    # Once the analyst writes the summary and removes the draft line, it is published.
    (newsroom / "seeds" / f"{ident}.yml").write_text(
        raw.replace("draft: true\n", "summary: Parts may be made in Baku.\n"), encoding="utf-8")
    code, _, err = run("generate", "--root", str(newsroom))
    assert code == EXIT_OK, err
    assert (newsroom / "docs" / "digest" / "articles" / f"{ident}.md").is_file()
    assert "text: warning" not in err  # the proposed corrections cover the damage


def test_a_source_outside_the_registry_is_named_with_a_note(newsroom: Path, tmp_path: Path) -> None:
    saved = tmp_path / "other.html"
    saved.write_bytes(page().replace(b"azernews.az", b"example.org").replace(b'content="Azernews"', b'content="Daily Example"'))
    assert run("new", str(saved), "--root", str(newsroom))[0] == EXIT_OK
    raw = next((newsroom / "seeds").glob("*kizilelma*.yml")).read_text(encoding="utf-8")
    assert '  name: "Daily Example"  # not in seeds/sources.yml' in raw


def test_new_from_text_and_markdown(newsroom: Path, tmp_path: Path) -> None:
    (tmp_path / "note.md").write_text("# Baku talks\n\nThe Kzlelma was discussed with ASELSAN.\n", encoding="utf-8")
    (tmp_path / "wire.txt").write_text("Erdoan visited Baku. More talks follow.\n", encoding="utf-8")
    assert run("new", str(tmp_path / "note.md"), "--root", str(newsroom), "--id", "talks")[0] == EXIT_OK
    assert run("new", str(tmp_path / "wire.txt"), "--root", str(newsroom), "--date", "2026-12-02")[0] == EXIT_OK
    talks = yaml.safe_load((newsroom / "seeds" / "talks.yml").read_text(encoding="utf-8"))
    assert talks["title"] == "Baku talks" and (newsroom / "seeds" / "talks.md").is_file()
    assert talks["corrections"] == {"Kzlelma": "Kızılelma"}
    wire = yaml.safe_load((newsroom / "seeds" / "2026-12-02-erdoan-visited-baku.yml").read_text(encoding="utf-8"))
    assert wire["title"] == "Erdoan visited Baku." and "source" not in wire
    assert run("check", "--root", str(newsroom))[0] == EXIT_OK


def test_a_page_in_a_legacy_encoding_and_one_without_a_title(newsroom: Path, tmp_path: Path) -> None:
    (tmp_path / "legacy.html").write_bytes(page("windows-1254"))
    assert run("new", str(tmp_path / "legacy.html"), "--root", str(newsroom), "--id", "legacy")[0] == EXIT_OK
    assert yaml.safe_load((newsroom / "seeds" / "legacy.yml").read_text(encoding="utf-8"))["title"] == \
        "Kızılelma parts to be made in Baku"
    assert "Türkiye" in (newsroom / "seeds" / "legacy.txt").read_text(encoding="utf-8")
    for made in (newsroom / "seeds").glob("legacy.*"):
        made.unlink()  # the same article, or it is refused as a duplicate
    untitled = page(title=False).replace(b"<h1>K\xc4\xb1z\xc4\xb1lelma parts to be made in Baku</h1>", b"")
    (tmp_path / "untitled.html").write_bytes(untitled)
    code, _, err = run("new", str(tmp_path / "untitled.html"), "--root", str(newsroom), "--id", "untitled")
    assert code == EXIT_OK, err
    assert "warning: the page has no title: the article's first sentence was taken" in err
    title = yaml.safe_load((newsroom / "seeds" / "untitled.yml").read_text(encoding="utf-8"))["title"]
    assert title.startswith("A retired Turkish general")


def _refused(root: Path, *args: str) -> str:
    before = seeds_state(root)
    code, out, err = run("new", *args, "--root", str(root))
    assert code == EXIT_PROBLEMS and out == "", (out, err)
    assert "nothing was written" in err
    assert seeds_state(root) == before
    return err


def test_bad_input_is_refused_with_nothing_written(newsroom: Path, tmp_path: Path) -> None:
    (tmp_path / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00" * 100)
    assert "looks binary" in _refused(newsroom, str(tmp_path / "binary.html"))
    (tmp_path / "nav.html").write_text("<html><head><title>Home</title></head><body><nav><a href='/'>Home</a>"
                                       "<a href='/a'>About</a></nav><footer>Contact</footer></body></html>")
    assert "no article text found" in _refused(newsroom, str(tmp_path / "nav.html"))
    big = tmp_path / "big.html"
    with big.open("wb") as f:
        f.write(page()[:200])
        f.write(b"<p>" + b"word " * (17 * 2**20 // 5) + b"</p>")
    assert "the limit is 16,777,216 bytes (save the article's own page" in _refused(newsroom, str(big))
    assert "expected a .txt, .md or .html file" in _refused(newsroom, str(tmp_path / "x.pdf"))
    assert "No such file" in _refused(newsroom, str(tmp_path / "missing.txt"))
    (tmp_path / "story.txt").write_text("A story about Baku and its people, told twice.\n", encoding="utf-8")
    assert run("new", str(tmp_path / "story.txt"), "--root", str(newsroom), "--id", "story")[0] == EXIT_OK
    shutil.copy(tmp_path / "story.txt", tmp_path / "again.txt")
    assert "already in seeds/ as 'story'" in _refused(newsroom, str(tmp_path / "again.txt"))
    (tmp_path / "other.txt").write_text("Another story.\n", encoding="utf-8")
    assert "already has an article or annotation with this id" in _refused(newsroom, str(tmp_path / "other.txt"),
                                                                            "--id", "story")
    assert "use only letters" in _refused(newsroom, str(tmp_path / "other.txt"), "--id", "../x")


# --- JSON Schema ------------------------------------------------------------

def _as_editors_read(value: Any) -> Any:
    """YAML 1.2 (editors) reads dates as text; PyYAML's 1.1 reads them as dates."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _as_editors_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_editors_read(v) for v in value]
    return value


def _messages(errors: Any) -> list[str]:
    """Every message, with those under anyOf (an optional field may be empty)."""
    out = []
    for e in errors:
        out.append(e.message)
        out += _messages(e.context or [])
    return out


def _validator(name: str) -> Draft202012Validator:
    schema = json.loads(rendered()[name])
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_the_committed_schema_is_the_one_schema_py_makes() -> None:
    for name, data in rendered().items():
        assert (REPO / SCHEMA_DIR / name).read_bytes() == data, f"run 'digest schema' to update {name}"


def test_every_good_annotation_and_registry_validates() -> None:
    folders = [FIXTURE_CORPUS / "seeds", REPO / "seeds"]
    checked = 0
    for folder in folders:
        for path in sorted(folder.glob("*.yml")):
            name = f"{path.stem}.json" if path.stem in ("sources", "entities") else "annotation.json"
            value = _as_editors_read(yaml.safe_load(path.read_text(encoding="utf-8")))
            errors = [e.message for e in _validator(name).iter_errors(value)]
            assert errors == [], f"{path}: {errors}"
            checked += 1
    assert checked >= 8


@pytest.mark.parametrize(("change", "says"), [
    ({"topic": ["x"]}, "Additional properties are not allowed ('topic' was unexpected)"),
    ({"key_points": "one point"}, "is not of type 'array'"),
    ({"credibility": 7}, "7 is greater than the maximum of 6"),
    ({"confidence": "certain"}, "'certain' is not one of ['low', 'moderate', 'high']"),
    ({"date": "23 November 2026"}, "does not match"),
    ({"source": {"name": "X", "reliability": "G"}}, "'G' does not match '^[A-F]$'"),
    ({"title": None}, "None is not of type"),
    ({"tlp": "PURPLE"}, "'PURPLE' does not match"),
])
def test_bad_annotations_are_rejected_by_the_schema(change: dict[str, Any], says: str) -> None:
    good = _as_editors_read(yaml.safe_load((FIXTURE_CORPUS / "seeds" / "alpha.yml").read_text(encoding="utf-8")))
    errors = _messages(_validator("annotation.json").iter_errors({**good, **change}))
    assert any(says in e for e in errors), errors


def test_every_way_of_writing_a_marking_validates() -> None:
    good = _as_editors_read(yaml.safe_load((FIXTURE_CORPUS / "seeds" / "alpha.yml").read_text(encoding="utf-8")))
    for label in ("CLEAR", "green", "TLP:AMBER", "tlp:amber+strict", "RED"):
        assert list(_validator("annotation.json").iter_errors({**good, "tlp": label})) == [], label


def test_a_draft_may_leave_the_summary_out_and_nothing_else_may() -> None:
    good = _as_editors_read(yaml.safe_load((FIXTURE_CORPUS / "seeds" / "alpha.yml").read_text(encoding="utf-8")))
    del good["summary"]
    validator = _validator("annotation.json")
    assert any("'summary' is a required property" in e.message for e in validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "draft": True})) == []


def test_the_schema_is_published_with_both_editions(built_fixture: Path) -> None:
    for edition in ("site", "dist/offline"):
        for name in rendered():
            assert (built_fixture / edition / "schema" / name).read_bytes() == rendered()[name]


def test_digest_schema_writes_the_files(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", None)
    shutil.rmtree(root / SCHEMA_DIR)
    code, out, _ = run("schema", "--root", str(root))
    assert code == EXIT_OK and "wrote annotation.json, sources.json, entities.json" in out
    assert "up to date" in run("schema", "--root", str(root))[1]

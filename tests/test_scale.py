"""Scale features: long lists split into pages, progress output, the bench."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from digest import bench, render
from digest.cli import main
from digest.fsutil import give_back_memory
from digest.pipeline import Options, Project, check, generate
from digest.progress import Progress
from digest.render import render_all
from digest.render.hubs import HUB_PAGE_SIZE, entity_chart
from digest.render.search import PAGES_START, pages_script, search_pages, search_script
from digest.searchindex import (
    ENGINE,
    SHOWN,
    IndexBuild,
    decode_shard,
    hand_written_documents,
    id_space,
    location,
    shard_of,
    shard_text,
)
from digest.synth import write_corpus
from digest.text import plain

from .conftest import REPO, make_project


def test_synthetic_corpus_is_deterministic_and_valid(tmp_path: Path) -> None:
    write_corpus(tmp_path / "a" / "seeds", 30)
    write_corpus(tmp_path / "b" / "seeds", 30)
    files = sorted(p.name for p in (tmp_path / "a/seeds").iterdir())
    assert len(files) == 62
    for name in files:
        assert (tmp_path / "a/seeds" / name).read_bytes() == (tmp_path / "b/seeds" / name).read_bytes()
    result = check(Project(tmp_path / "a"), Options(strict=True))
    assert len(result.digest.reviewed) == 30 and result.problems == ()
    # The standard corpus stays the one earlier measurements were made on.
    write_corpus(tmp_path / "c", 40)
    digest = hashlib.sha256()
    for path in sorted((tmp_path / "c").iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    assert digest.hexdigest() == "44e049004d2112157a7349ab8d6adbefacc29ebf1c743e44a656958dfb8ba20a"


def test_the_long_corpus_is_valid_and_heavier(tmp_path: Path) -> None:
    write_corpus(tmp_path / "seeds", 60, long=True)
    result = check(Project(tmp_path), Options(strict=True))
    assert len(result.digest.reviewed) == 60 and result.problems == ()
    articles = list(result.digest.articles.values())
    assert all(len(a.quotes) == 3 and len(a.corrections) == 2 and 8 <= len(a.entities) <= 20 for a in articles)
    assert sum(len(a.paragraphs) for a in articles) / len(articles) >= 12
    names = [h.name for h in result.digest.entities.values()]
    assert any("\u4e00" <= c <= "\u9fff" for name in names for c in name)  # Chinese names too
    assert any(not t.isascii() and " " not in t for a in articles for t in map(plain, a.paragraphs))  # no spaces


def test_long_hubs_and_editions_are_split(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for i in range(130):
        day = dt.date(2026, 11, 23) - dt.timedelta(days=i // 2)
        (seeds / f"a{i:03d}.txt").write_text(f"Article {i}.\n", encoding="utf-8")
        (seeds / f"a{i:03d}.yml").write_text(f"title: Article {i}\ndate: {day}\nsource: Wire\nsummary: S.\n"
                                             "topics: [Common]\n", encoding="utf-8")
    digest = check(Project(tmp_path)).digest
    pages = render_all(digest)
    first, second = pages["digest/topics/common.md"], pages["digest/topics/common/2.md"]
    assert isinstance(first, str) and isinstance(second, str)
    assert f"## Articles: 1–{HUB_PAGE_SIZE} of 130" in first
    assert f"## Articles: {HUB_PAGE_SIZE + 1}–130 of 130" in second
    assert '<a href="common/2.html">2</a>' in first and '<a href="../common.html">1</a>' in second
    listed = [re.sub(r"<[^>]+>", "", line) for page in (first, second) for line in page.splitlines()
              if line.startswith("<li>")]
    assert len(listed) == 130 and listed[0].startswith("Article 0 ·") and listed[-1].startswith("Article 129 ·")
    # The editions index rolls up by month: one line per month, not per day.
    index = str(pages["digest/editions/index.md"])
    assert [re.sub(r"<[^>]+>", "", line).split(":")[0] for line in index.splitlines() if line.startswith("<li>")] == [
        "November 2026", "October 2026", "September 2026"]
    assert "digest/editions/2026-11.md" in pages and "digest/editions/2026-10.md" in pages


def test_progress_is_a_bar_on_terminals_and_lines_in_logs() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, tty = io.StringIO(), Tty()
    for stream in (log, tty):
        progress = Progress(stream, enabled=True)
        progress.start("rendering pages", 1000)
        for _ in range(1000):
            progress.advance()
        progress.done()
    lines = log.getvalue().splitlines()
    assert lines[0] == "digest: rendering pages: 100/1,000"
    assert len(lines) == 11 and re.fullmatch(r"digest: rendering pages: 1,000 in \d+\.\d s", lines[-1])
    assert "[##############################] 1,000/1,000" in tty.getvalue() and "\r" in tty.getvalue()
    quiet = io.StringIO()
    Progress(quiet, enabled=False).start("x", 10)
    assert quiet.getvalue() == ""
    # A step counts what its block advanced once, and the rest at its end.
    for advanced in (0, 3, 7):
        steps = io.StringIO()
        progress = Progress(steps, enabled=True)
        with progress.step("printing briefs", 7):
            progress.advance(advanced)
        assert re.fullmatch(r"digest: printing briefs: 7 in \d+\.\d s", steps.getvalue().splitlines()[-1])


def test_long_runs_report_progress_short_runs_do_not(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", None)
    write_corpus(root / "seeds", 500)  # 1,002 files: a long run
    out, err = io.StringIO(), io.StringIO()
    assert main(["generate", "--root", str(root)], out=out, err=err) == 0
    assert "digest: reading seeds: 1,002 in" in err.getvalue()
    assert "digest: rendering pages:" in err.getvalue()


def test_bench_prints_every_figure(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["bench", "20", "40", "--no-search", "--rounds", "2", "--root", str(REPO), "--keep", str(tmp_path)],
                out=out) == 0
    said = out.getvalue()
    # The sizes' rounds take turns: 20, 40, 20, 40.
    assert re.findall(r"bench: (\d+) articles: full build and baseline \((\d)\)", said) == [
        ("20", "1"), ("40", "1"), ("20", "2"), ("40", "2")]
    tables = said[said.index("| figure"):].split("\n\n")
    assert len(tables) == 3, said
    for n, table in zip((20, 40), tables, strict=False):
        # Two pairs of full and baseline builds; each figure is their median.
        row = re.search(r"ratio hosted / baseline \(median of 2 pairs\)\s*\| ([\d.]+) \(([\d.]+), ([\d.]+)\)", table)
        assert row, table
        median, first, second = map(float, row.groups())
        assert median == pytest.approx((first + second) / 2, abs=0.011) and first > 0 and second > 0
        full = re.search(r"full build, both editions \(`digest build`\), median of 2\s*\| ([\d.]+) s "
                         r"\(([\d.]+) s, ([\d.]+) s\)", table)
        assert full, table
        # Each printed to 0.1 s: the median and the mean of the two printed may differ by 0.1 s.
        assert float(full.group(1)) == pytest.approx((float(full.group(2)) + float(full.group(3))) / 2, abs=0.101)
        for figure in (f"generation, seeds to Markdown ({n} articles)", "no-op regeneration", "0 files rewritten",
                       "baseline: MkDocs on plain pages", "ratio full build / baseline (medians)",
                       "built size per article (hosted)", "peak memory", "damaged-text warnings",
                       "damaged-text detection / `digest check` without memo"):
            assert figure in table, figure
        # The analyst's loop: each a real build on the built project, and which kind it was.
        assert re.search(r"no change \(`digest build`\)\s*\| [\d.]+ s, no build needed, 0 files written", table), table
        changed = re.search(r"one title changed \(`digest build`, both editions \+ zip\), three edits in turn\s*\| "
                            r"[\d.]+ s, median of [\d.]+, [\d.]+, [\d.]+ s; incremental build, (\d+) files written",
                            table)
        assert changed, table
        # The article, its edition, the home page, its hubs, the articles that list it as related, the
        # search text, the feeds of the digest and of its hubs, its edition's brief: a few dozen, never
        # everything (test_one_change_rewrites_exactly_the_pages_showing_it).
        assert 3 <= int(changed.group(1)) <= 80
        assert re.search(r"one article added \(`digest build`\), three articles in turn\s*\| [\d.]+ s, median of "
                         r"[\d.]+, [\d.]+, [\d.]+ s; incremental build", table), table
        # Those builds ran in the build server (its memory measured), and one more in a new process.
        assert re.search(r"build server: peak memory .*\| [1-9]\d* MB", table), table
        assert re.search(r"one title changed, `digest build --no-daemon` \(a new process\)\s*\| [\d.]+ s, "
                         r"incremental build", table), table
        served = re.search(r"`digest serve`: save to the served page holding the change\s*\| ([\d.]+) s", table)
        assert served and 0 < float(served.group(1)) < 120, table
        assert re.search(r"`digest serve`: peak memory .*\| [1-9]\d* MB", table), table
    grows = re.search(r"full build, 40 / 20 articles \(x2 the articles\)\s*\| ([\d.]+) \(([\d.]+) s / ([\d.]+) s\)",
                      tables[2])
    assert grows, tables[2]
    # The ratio of the medians, as far as their rounding to 0.1 s shows.
    ratio, large, small = map(float, grows.groups())
    assert (large - 0.05) / (small + 0.05) - 0.005 <= ratio <= (large + 0.05) / (small - 0.05) + 0.005
    assert "baseline, 40 / 20 articles" in tables[2]
    assert main(["bench", "40", "--rounds", "0"], err=io.StringIO()) == 2
    assert main(["bench", "40", "40"], err=io.StringIO()) == 2


def test_one_change_rewrites_exactly_the_pages_showing_it(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus", 60)
    root = make_project(tmp_path / "p", tmp_path / "corpus")
    project = Project(root)
    generate(project, check(project).digest)
    target = sorted((root / "seeds").glob("*.yml"))[30]
    text = target.read_text(encoding="utf-8")
    target.write_text(re.sub(r"^title: .*$", 'title: "A changed title"', text, count=1, flags=re.M), encoding="utf-8")
    report = generate(project, check(project).digest)
    showing = {p.relative_to(root / "docs").as_posix() for p in (root / "docs/digest").rglob("*")
               if p.is_file() and b"A changed title" in p.read_bytes()}
    assert set(report.written) == showing and len(showing) >= 3


def test_editions_open_with_what_is_new(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    plan = [  # (day, entities, topics)
        (1, ["ASELSAN"], ["drones"]), (2, ["ASELSAN", "Baykar"], ["drones"]),
        (3, ["ROKETSAN"], ["drones", "missiles"]), (3, ["Baykar"], ["drones", "missiles"]),
    ]
    for i, (day, entities, topics) in enumerate(plan):
        (seeds / f"a{i}.txt").write_text("Text.\n", encoding="utf-8")
        (seeds / f"a{i}.yml").write_text(
            f"title: T{i}\ndate: 2026-11-0{day}\nsource: S\nsummary: S.\ntopics: [{', '.join(topics)}]\n"
            f"entities:\n  organizations: [{', '.join(entities)}]\n", encoding="utf-8")
    digest = check(Project(tmp_path)).digest
    first, second, third = (dt.date(2026, 11, d) for d in (1, 2, 3))
    assert first not in digest.briefs  # everything is new in the first edition: nothing to brief
    assert digest.briefs[second].first_seen == ("baykar",) and digest.briefs[second].rising == ()
    assert digest.briefs[third].first_seen == ("roketsan",)
    assert digest.briefs[third].rising == (("drones", 2, 1), ("missiles", 2, 0))
    page = str(render_all(digest)["digest/editions/2026-11-03.md"])
    assert '<p class="admonition-title">New since the previous editions</p>' in page
    assert '<strong>First seen:</strong> <a href="../entities/roketsan.html">ROKETSAN</a>' in page
    assert '<a href="../topics/drones.html">drones</a> (2 articles; at most 1 in each of the previous 7 editions)' in page


TOKENIZER = REPO / "scripts/digest/assets/search-tokenize.js"


def with_tokenizer(script: str, given: str) -> Any:
    """The JSON a Node ``script`` prints, given ``given`` on its standard
    input, run with MiniSearch and search-tokenize.js loaded as
    build-index.mjs loads them."""
    prelude = ("import { readFileSync } from 'node:fs'; import vm from 'node:vm';"
               "const { default: MiniSearch } = await import(process.argv[1]);"
               "globalThis.MiniSearch = MiniSearch; vm.runInThisContext(readFileSync(process.argv[2], 'utf8'));")
    run = subprocess.run(["node", "--input-type=module", "-e", prelude + script, (REPO / ENGINE).as_uri(),
                          str(TOKENIZER)], input=given, capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def _recorded(built: Path) -> list[dict[str, Any]]:
    """The documents of an index folder's record, in id order, as the result list shows them."""
    record = json.loads((built / "record.json").read_text(encoding="utf-8"))
    return [{"location": shown[0], "id": doc_id, "key": key, "line": line, "title": shown[1], "snippet": shown[2],
             "tags": shown[3]} for key, doc_id, line, _, shown in record["docs"]]


def test_compact_shards_hold_exactly_minisearchs_entries(tmp_path: Path) -> None:
    """build-index.mjs writes its own compact shard format: decoded, it must be
    MiniSearch's own serialization of the same documents, term for term."""
    # Line breaks inside a text: Node reads its input a document a line.
    words = ["alpha", "beta", "gamma", "Ёлка", "北京市长", "İstanbul", "x9", "zeta", "omega", "tab\tbed",
             "line\nbreak", "para\u2028graph"]
    n = len(words)
    pages = [{"src": f"digest/articles/{i:04}.md", "title": f"{words[i % 7]} {i}", "terms": words[(i * 3) % n],
              "text": " ".join(words[(i * j) % n] for j in range(1 + i % 13)), "snippet": "", "tags": []}
             for i in range(300)]
    pages_file = tmp_path / "pages.js"
    pages_file.write_bytes(pages_script(pages))
    site = tmp_path / "site"
    (site / "search").mkdir(parents=True)
    (site / "search/search_index.json").write_text(json.dumps({"docs": [
        {"location": "guide/a.html", "title": "Guide", "text": "<p>alpha handbook</p>"}]}), encoding="utf-8")
    (tmp_path / "node_modules").symlink_to(REPO / "node_modules")
    build = IndexBuild(pages_file, tmp_path, directory_urls=False)
    built = build.finish(site)
    docs = _recorded(built)
    assert [d["location"] for d in docs][-1] == "guide/a.html" and len(docs) == 301
    # What Node was given: the documents' text, which the index's record does not hold.
    record = json.loads((built / "record.json").read_text(encoding="utf-8"))
    assert all(len(entry) == 5 and len(entry[4]) == len(SHOWN) + 1 for entry in record["docs"])
    # Stable ids (doc_ids), in id order, the hand-written page after the generated ones.
    ids = [d["id"] for d in docs]
    assert ids[:-1] == sorted(ids[:-1]) and len(set(ids)) == 301 and max(ids) < id_space(300)
    by_location = {location(p["src"], False): p for p in pages}
    given = [by_location[d["location"]] for d in docs[:-1]] + hand_written_documents(site, set())
    payload = json.dumps({"docs": [{"id": ids[i], **{f: d[f].replace("\t", " ") for f in ("title", "terms", "text")}}
                                   for i, d in enumerate(given)]}, ensure_ascii=False)
    decoded = {}
    for shard in sorted((built / "shards").glob("*.js")):
        # Kept as the editions get them (linked into each), escaped to ASCII.
        assert shard.read_bytes().isascii()
        entries = decode_shard(shard_text(shard.read_bytes(), shard.stem))
        # Lines in the order of their terms (UTF-16 code units), not of first meeting.
        assert [t for t, _ in entries] == sorted((t for t, _ in entries), key=lambda t: t.encode("utf-16-be"))
        for term, data in entries:
            assert shard_of(term) == shard.stem
            assert list(data) == sorted(data)
            decoded[term] = data
    reference = with_tokenizer("const m = new MiniSearch({ fields: ['title', 'terms', 'text'], storeFields: [],"
                               "                           tokenize: globalThis.digestTokenize });"
                               "m.addAll(JSON.parse(readFileSync(0, 'utf8')).docs);"
                               "process.stdout.write(JSON.stringify(m.toJSON()));", payload)
    # MiniSearch's own index numbers documents as they came; ours by id.
    short = {int(k): v for k, v in reference["documentIds"].items()}
    expected = {term: {int(f): {short[int(d)]: n for d, n in freqs.items()} for f, freqs in data.items()}
                for term, data in reference.pop("index")}
    # The header: MiniSearch's, the documents under their ids, the averages plain means.
    header = json.loads((built / "header.json").read_text(encoding="utf-8"))
    assert header["documentIds"] == {str(i): i for i in sorted(ids)}
    assert header["fieldLength"] == {str(short[int(k)]): v for k, v in reference["fieldLength"].items()}
    assert header["documentCount"] == reference["documentCount"] == 301
    assert header["averageFieldLength"] == pytest.approx(reference["averageFieldLength"])
    assert {k: header[k] for k in ("fieldIds", "storedFields", "dirtCount", "serializationVersion", "index")} == {
        k: reference[k] for k in ("fieldIds", "storedFields", "dirtCount", "serializationVersion")} | {"index": []}
    assert decoded == expected
    assert any(n > 1 for data in decoded.values() for freqs in data.values() for n in freqs.values())
    assert max(d for data in decoded.values() for freqs in data.values() for d in freqs) > 36
    assert ids[300] in decoded["handbook"][2]  # the hand-written page, added after the generated ones
    assert "tab" in decoded and "bed" in decoded  # a tab separates words
    assert {"line", "break", "para", "graph"} <= decoded.keys()
    assert {"北京", "京市", "市长"} <= decoded.keys() and "北京市长" not in decoded  # see test_words_are_split_*
    # The browser's reader (search-worker.js, loadShard) fills MiniSearch's
    # term map with the same entries.
    reader = ("import { readFileSync, readdirSync } from 'node:fs'; import vm from 'node:vm';"
              "const { default: MiniSearch } = await import(process.argv[1]);"
              "Object.assign(globalThis, { MiniSearch, self: globalThis, addEventListener() {} });"
              "vm.runInThisContext(readFileSync(process.argv[2], 'utf8'));"
              "vm.runInThisContext('header = ' + readFileSync(process.argv[3] + '/header.json', 'utf8'));"
              "const out = [];"
              "for (const name of readdirSync(process.argv[3] + '/shards')) {"
              "  vm.runInThisContext(readFileSync(process.argv[3] + '/shards/' + name, 'utf8'));"
              "  const engine = loadShard(self.__digestShards[name.slice(0, -3)]);"
              "  for (const [term, fields] of engine._index) out.push([term, Object.fromEntries("
              "    Array.from(fields, ([f, docs]) => [f, Object.fromEntries(docs)]))]);"
              "  if (engine.search('alpha').length === 0 && name === 'a.js') throw new Error('no alpha');"
              "}"
              "process.stdout.write(JSON.stringify(out));")
    run = subprocess.run(["node", "--input-type=module", "-e", reader, (REPO / ENGINE).as_uri(),
                          str(REPO / "scripts/digest/assets/search-worker.js"), str(built)],
                         capture_output=True, text=True, check=True)
    loaded = {term: {int(f): {int(d): n for d, n in freqs.items()} for f, freqs in data.items()}
              for term, data in json.loads(run.stdout)}
    assert loaded == expected
    # The second edition finds the same index built: no Node runs.
    again = IndexBuild(pages_file, tmp_path, directory_urls=False)
    assert again.proc is None and again.finish(site) == built
    # Other hand-written pages: the generated part is the same, so Node starts
    # only in finish(), on the generated pages read again from pages.js.
    (site / "search/search_index.json").write_text(json.dumps({"docs": [
        {"location": "guide/a.html", "title": "Guide", "text": "<p>alpha manual</p>"}]}), encoding="utf-8")
    other = IndexBuild(pages_file, tmp_path, directory_urls=False)
    assert other.proc is None
    built2 = other.finish(site)
    assert built2 != built and _recorded(built2)[:-1] == docs[:-1]
    now = {term: data for shard in (built2 / "shards").glob("*.js")
           for term, data in decode_shard(shard_text(shard.read_bytes(), shard.stem))}
    assert now == {**{t: d for t, d in decoded.items() if t != "handbook"}, "manual": {2: {ids[300]: 1}}}


def tokenize(*texts: str) -> list[list[str]]:
    """search-tokenize.js's words for each text."""
    return list(with_tokenizer("const texts = JSON.parse(readFileSync(0, 'utf8'));"
                               "process.stdout.write(JSON.stringify(texts.map((t) => globalThis.digestTokenize(t))));",
                               json.dumps(texts)))


def test_words_are_split_as_minisearch_does_but_chinese_and_japanese_into_pairs() -> None:
    assert tokenize("Rocket-parts line, near Baku: İstanbul x9", "北京市长访问了上海。", "GDP增长率3%", "東京と大阪",
                    "中 国", "한국어 문장") == [
        ["Rocket", "parts", "line", "near", "Baku", "İstanbul", "x9"],
        # The empty word after the full stop is MiniSearch's own (its indexing skips it).
        ["北京", "京市", "市长", "长访", "访问", "问了", "了上", "上海", ""],
        ["GDP", "增长", "长率", "3", ""],
        ["東京", "京と", "と大", "大阪"],
        ["中", "国"],  # a character alone stays itself
        ["한국어", "문장"],  # Korean is written with spaces: MiniSearch's words
    ]


def test_charts_drawn_beside_equal_charts_drawn_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_corpus(tmp_path / "corpus", 120)
    digest = check(Project(make_project(tmp_path / "p", tmp_path / "corpus"))).digest
    charts = [e for e in (entity_chart(digest, h) for h in digest.hubs("entity").values()) if e]
    assert len(charts) >= render.CHARTS_BESIDE  # so the default run draws them in a child
    beside = render_all(digest)
    monkeypatch.setattr(render, "CHARTS_BESIDE", 10**9)
    here = render_all(digest)
    assert beside == here
    assert all(b"<svg" in here[path][:100] for path, _, _ in charts)  # type: ignore[operator]


def test_pages_planned_as_bytes_are_the_rendered_pages_and_pages_js_their_documents_a_line_each(tmp_path: Path) -> None:
    write_corpus(tmp_path / "corpus", 60)
    digest = check(Project(make_project(tmp_path / "p", tmp_path / "corpus"))).digest
    pages = render_all(digest)
    encoded = render_all(digest, encoded=True)
    assert all(isinstance(v, bytes) for v in encoded.values())
    assert encoded == {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in pages.items()}
    docs = search_pages(digest)
    assert any("北京" in str(d["text"]) for d in docs)  # text beyond Latin-1, where the str form doubles
    script = search_script(digest)
    # One assignment of all documents; the last line's comma, which
    # JavaScript allows and JSON does not, set aside.
    assert script.endswith(b",\n];\n")
    assert json.loads(script[len(b"self.__digestPages = "):-len(b",\n];\n")] + b"]") == docs
    lines = script.splitlines()
    assert lines[0] == PAGES_START.rstrip() and lines[-1] == b"];"
    assert [json.loads(line.rstrip(b",")) for line in lines[1:-1]] == docs  # one a line


def _resident_mb() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


def test_freed_memory_is_handed_back_to_the_system() -> None:
    """What a generation frees stays resident until it is trimmed (glibc keeps
    freed blocks of this size in its heap); `digest build` trims it before
    building the site, and the search index build after handing Node the text."""
    blocks = [bytes([i % 256]) * 20_000 for i in range(20_000)]  # 400 MB, as pages and texts are held
    kept = blocks[::100]  # a few still in use, scattered through the heap
    del blocks
    before = _resident_mb()
    assert give_back_memory()  # glibc, as on the machines this runs on
    assert before - _resident_mb() > 250
    assert len(kept) == 200


def test_memory_a_forked_child_shares_is_counted_once() -> None:
    """The bench sums a command's processes by their proportional shares:
    resident sizes would count twice what a forked child still shares."""
    code = ("import os, sys\n"
            "block = bytearray(300 * 2**20)\n"
            "for i in range(0, len(block), 4096):\n"
            "    block[i] = 1  # resident now, and then shared with the child\n"
            "pid = os.fork()\n"
            "if pid == 0:\n"
            "    sys.stdin.read()\n"
            "    os._exit(0)\n"
            "print(pid, flush=True)\n"
            "sys.stdin.read()\n"
            "os.waitpid(pid, 0)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        time.sleep(0.2)
        page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
        parent_kb, child_kb = (int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page_kb
                               for p in (proc.pid, child))
        assert child_kb > 280 * 1024  # what a sum of resident sizes would add
        assert bench._tree_memory_kb(proc.pid) < parent_kb + 100 * 1024
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait()

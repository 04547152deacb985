"""Helping the analyst annotate: ``digest new`` and ``digest suggest``.

``digest new PATH`` brings one article into ``seeds/``: its text (from a
saved web page, the main text only, by ``trafilatura``) and a draft
annotation pre-filled with what the tool can know: title, date, source from
the registry, the entities the registry and earlier annotations name, and the
corrections of damaged words. ``digest suggest ID`` prints an item's
``corrections:`` block with the proposed corrections added.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from digest.connect import Matcher
from digest.damage import Damage, Detector
from digest.fsutil import project_lock
from digest.limits import Limits
from digest.load import ARTICLE_SUFFIXES, RawCorpus, decode, load
from digest.memo import Memo, open_memo
from digest.model import build
from digest.problems import DigestError, Problem
from digest.reading import Refused, read_file
from digest.schema import ENTITY_KINDS, ID_RE
from digest.text import apply_corrections, first_sentence, plain, slugify
from digest.validate import Checked, validate

PAGE_LIMIT: Final = 16 * 2**20  # a saved page over this is not one article
MIN_WORDS: Final = 30  # less than this is navigation or a teaser, not an article
SCHEMA_LINE: Final = "# yaml-language-server: $schema=../docs/schema/annotation.json"
PAGE_SUFFIXES: Final = (".html", ".htm")


class Refusal(DigestError):
    """``digest new`` or ``digest suggest`` refused; nothing was written."""


@dataclass
class Imported:
    """An article as read from the file given to ``digest new``."""

    text: str
    format: str  # "txt" or "md"
    title: str = ""
    author: str = ""
    published: str = ""  # YYYY-MM-DD
    site: str = ""
    url: str = ""
    notes: list[str] = field(default_factory=list)  # warnings for the analyst


def _read_page(data: bytes, name: str) -> Imported:
    import trafilatura

    doc = trafilatura.bare_extraction(data, with_metadata=True, include_comments=False, include_tables=True,
                                      include_images=False, include_links=False)
    text = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if len(text.split()) < MIN_WORDS:
        raise Refusal(f"{name}: no article text found in the page (only {len(text.split())} words of main text); "
                      "save the article's own page, or copy its text into a .txt file")
    title = (getattr(doc, "title", None) or "").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if title and lines and lines[0] == title:  # the page's headline, already the title
        lines = lines[1:]
    got = Imported("\n\n".join(lines) + "\n", "txt", title=title, author=(getattr(doc, "author", None) or "").strip(),
                   published=(getattr(doc, "date", None) or "")[:10], site=(getattr(doc, "sitename", None) or "").strip(),
                   url=(getattr(doc, "url", None) or "").strip())
    if not title:
        got.notes.append("the page has no title: the article's first sentence was taken; check it")
    if got.url and not got.url.startswith(("http://", "https://")):
        got.url = ""
    return got


def read_article(path: Path, limits: Limits | None = None) -> Imported:
    """The article in ``path`` (.txt, .md, or a saved .html page)."""
    limits = limits or Limits()
    suffix = path.suffix.lower()
    if suffix not in (*ARTICLE_SUFFIXES, *PAGE_SUFFIXES):
        raise Refusal(f"{path}: expected a .txt, .md or .html file")
    try:
        data = read_file(path, PAGE_LIMIT if suffix in PAGE_SUFFIXES else limits.max_article_bytes)
    except FileNotFoundError:
        raise Refusal(f"{path}: no such file") from None
    except Refused as exc:
        # read_file's hints speak of the build's options; here the way out is another file.
        raise Refusal(f"{path}: {exc.message} (save the article's own page, or copy its text into a .txt file)"
                      if "limit" in exc.message else f"{path}: {exc.message}") from None
    except OSError as exc:
        raise Refusal(f"{path}: cannot be read ({exc.strerror})") from None
    if b"\x00" in data[:65536]:
        raise Refusal(f"{path}: the file looks binary (it contains NUL bytes), not a {suffix} file")
    if suffix in PAGE_SUFFIXES:
        return _read_page(data, str(path))
    problems: list[Problem] = []
    text = decode(data, str(path), problems, "put the article's text in it")
    if text is None:
        raise Refusal("; ".join(f"{p.message} ({p.hint})" for p in problems))
    got = Imported(text.strip() + "\n", suffix[1:], notes=[p.message for p in problems])
    heading = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M) if suffix == ".md" else None
    got.title = heading.group(1) if heading else ""
    return got


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class Known:
    """What seeds/ already knows: entity spellings and kinds, outlets."""

    spellings: dict[str, str]  # every spelling -> canonical name
    kinds: dict[str, str]  # canonical name -> kind (people, organizations, ...)
    sources: dict[str, dict[str, Any]]
    raw: RawCorpus
    checked: Checked


def known(seeds: Path, memo: Memo) -> Known:
    """Read seeds/ as the check does, keeping what is usable despite problems."""
    raw = load(seeds, display_root=seeds.parent, memo=memo)
    checked = validate(raw, memo)
    spellings: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for name, details in checked.entities.items():
        spellings[name] = name
        kinds[name] = details.get("kind") or "other"
        for alias in details.get("aliases") or []:
            spellings.setdefault(alias, name)
    for ann in checked.annotations.values():
        for kind in ENTITY_KINDS:
            for name in (ann.values.get("entities") or {}).get(kind) or []:
                canonical = spellings.setdefault(name, name)
                kinds.setdefault(canonical, kind)
    return Known(spellings, kinds, checked.sources, raw, checked)


def _source_in_registry(got: Imported, sources: dict[str, dict[str, Any]]) -> str:
    host = (urlsplit(got.url).hostname or "").removeprefix("www.")
    for name, details in sources.items():
        their = (urlsplit(details.get("url") or "").hostname or "").removeprefix("www.")
        if host and their and (host == their or host.endswith("." + their)):
            return name
    site = got.site.casefold()
    return next((name for name in sources if site and name.casefold() == site), "")


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def new_id(date: dt.date, title: str, taken: set[str]) -> str:
    """``YYYY-MM-DD-slug-of-the-title``, made unique among ``taken`` (compared ignoring case)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", slugify(title)).strip("-")[:60].rstrip("-") or "article"
    base = f"{date.isoformat()}-{slug}"
    ident, n = base, 2
    folded = {t.casefold() for t in taken}
    while ident.casefold() in folded:
        ident, n = f"{base}-{n}", n + 1
    return ident


def annotation_text(got: Imported, ident: str, date: dt.date, source: str, in_registry: bool,
                    entities: dict[str, list[str]], fixes: list[Damage], origin: str) -> str:
    """The draft annotation, with prompts for what only the analyst can write."""
    lines = [SCHEMA_LINE,
             f"# Made by 'digest new' from {_q(origin)}. A draft: it stays out of the site",
             "# until you write the summary (and the source, if missing) and delete 'draft: true'.",
             f"title: {_q(got.title[:200])}",
             f"date: {date.isoformat()}  # the digest date: the edition this item belongs to"]
    details = [(k, v) for k, v in (("url", got.url), ("published", got.published), ("author", got.author)) if v]
    if source:
        lines.append("source:")
        note = "" if in_registry else "  # not in seeds/sources.yml: add it there with its reliability (A-F)"
        lines.append(f"  name: {_q(source)}{note}")
        for key, value in details:
            lines.append(f"  {key}: {value if key == 'published' else _q(value)}")
    else:
        lines.append("# source:")
        lines.append("#   name: the outlet's name (as in seeds/sources.yml)")
        for key, value in details:
            lines.append(f"#   {key}: {value if key == 'published' else _q(value)}")
    lines += ["# summary: >-",
              "#   The bottom line up front, in one to three sentences.",
              "# key_points:",
              "#   - One fact the reader must keep.",
              "# assessment: >-",
              "#   What it means, and how far it can be trusted.",
              "# confidence: low  # low | moderate | high",
              "# credibility: 3  # 1 confirmed ... 6 cannot be judged (Admiralty)",
              "importance: medium  # low | medium | high"]
    if any(entities.values()):
        lines.append("entities:  # found in the text: names the registry and earlier annotations know")
        for kind in ENTITY_KINDS:
            if entities.get(kind):
                lines.append(f"  {kind}: [{', '.join(_q(n) for n in entities[kind])}]")
    if fixes:
        lines.append("corrections:  # damaged words found in the text, and what they should read")
        lines += [f"  {d.correction()}  # {d.kind}" for d in fixes]
    lines.append("draft: true")
    return "\n".join(lines) + "\n"


@dataclass
class Created:
    ident: str
    article: Path
    annotation: Path
    notes: list[str]


def new_item(root: Path, path: Path, *, ident: str | None = None, date: dt.date | None = None,
             today: dt.date | None = None) -> Created:
    """Bring the article in ``path`` into ``root``/seeds/ with a draft annotation.
    Raises Refusal with nothing written."""
    got = read_article(path)
    seeds = root / "seeds"
    # seeds/ read once, as the build reads it: for the texts already there and for the names it knows.
    k = known(seeds, open_memo(root))
    mine = _normal(got.text)
    same = sorted(i for i, a in k.raw.articles.items() if _normal(a.text) == mine)
    if same:
        raise Refusal(f"{path}: this article's text is already in seeds/ as '{same[0]}'")
    date = date or today or dt.date.today()
    if not got.title:
        got.title = first_sentence(got.text, 120) or path.stem
    taken = set(k.raw.annotations) | set(k.raw.articles)
    if ident is not None:
        if not ID_RE.match(ident):
            raise Refusal(f"--id {ident!r}: use only letters, digits, '.', '_' and '-'")
        if ident.casefold() in {t.casefold() for t in taken} or ident in ("sources", "entities"):
            raise Refusal(f"--id {ident}: seeds/ already has an article or annotation with this id")
    ident = ident or new_id(date, got.title, taken | {"sources", "entities"})
    source = _source_in_registry(got, k.sources)
    in_registry = bool(source)
    source = source or got.site
    fixes = [d for d in Detector(k.spellings).find(got.text) if d.fixed]
    fixes = list({d.found: d for d in fixes}.values())
    found: dict[str, list[str]] = {kind: [] for kind in ENTITY_KINDS}
    if k.spellings:
        # Names are looked for in the text as the corrections will make it
        # ('Lham Aliyev' is found as 'İlham Aliyev'); the keys are canonical names.
        corrected = apply_corrections(got.text, {d.found: d.fixed for d in fixes})
        for name in dict.fromkeys(key for _start, _end, key in Matcher(k.spellings).find(plain(corrected))):
            found[k.kinds.get(name) or "other"].append(name)
    article = seeds / f"{ident}.{got.format}"
    annotation = seeds / f"{ident}.yml"
    body = annotation_text(got, ident, date, source, in_registry, found, fixes, path.name)
    seeds.mkdir(exist_ok=True)
    with project_lock(root):
        _write_new(article, got.text.encode("utf-8"))
        try:
            _write_new(annotation, body.encode("utf-8"))
        except BaseException:
            article.unlink(missing_ok=True)
            raise
    return Created(ident, article, annotation, got.notes)


def _write_new(path: Path, data: bytes) -> None:
    """Create ``path``; never replace a file that exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except FileExistsError:
        raise Refusal(f"{path} exists already") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def suggest(root: Path, ident: str) -> str:
    """The item's ``corrections:`` block with the proposed corrections added, ready to paste."""
    memo = open_memo(root)
    raw = load(root / "seeds", display_root=root, memo=memo)
    if ident not in raw.articles:
        import difflib

        close = difflib.get_close_matches(ident, sorted(raw.articles), n=1)
        raise Refusal(f"no article has the id '{ident}'" + (f"; did you mean '{close[0]}'?" if close else ""))
    checked = validate(raw, memo)
    digest, _problems = build(raw, checked, drafts=True, memo=memo)
    ann = checked.annotations.get(ident)
    current: dict[str, str] = (ann.values.get("corrections") or {}) if ann else {}
    found = [d for d in digest.damaged.get(ident, ()) if d.found not in current]
    where = ann.rel if ann else f"seeds/{ident}.yml"
    if not found:
        return f"# {where}: no damaged words found; the corrections stay as they are\n"
    lines = [f"# {where}: paste this over its corrections: block ({len(found)} proposed)", "corrections:"]
    lines += [f"  {_q(k)}: {_q(v)}" for k, v in current.items()]
    seen: set[str] = set()
    for d in found:
        if d.found in seen:
            continue
        seen.add(d.found)
        if d.fixed:
            lines.append(f"  {d.correction()}  # {d.kind}")
        else:
            lines.append(f"  # {_q(d.found)}: \"...\"  # a replacement character; no known name fits: see the source")
    return "\n".join(lines) + "\n"

"""A deterministic synthetic corpus for benchmarks: N annotated articles with
registries, realistic lengths, aliases, topics, regions and Unicode text.

The same N, seed and shape always give the same bytes, so measurements
compare. The long shape (``long=True``) is a heavier archive: articles twice
as long, a quote in three paragraphs, 8 to 20 annotated entities an article
out of 1,500 (names in four scripts, more aliases), and five times the
sources, topics and regions. Costs that grow with the square of something an
article holds show there, not in the standard shape.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

SYLLABLES = ("ka", "ro", "tes", "man", "dor", "vil", "sa", "ne", "bri", "lo", "gun", "tar", "mi", "zel",
             "ha", "pol", "ve", "dri", "om", "qu", "ly", "ser", "nak", "fi", "ul", "ban", "cet", "go", "rim", "su")
UNICODE_WORDS = ("Azərbaycan", "İstanbul", "ılık", "Kızılelma", "Москва", "оборона", "Ёлка", "القاهرة", "北京",
                 "Erdoğan", "Göktürk", "Şuşa", "Gəncə", "Київ")
KINDS = ("person", "organization", "equipment", "place", "other")
CJK = "北京上海市长工厂访问了政府国防部队新闻发布会议经济合作"
ARABIC = ("القاهرة", "دمشق", "وزارة", "الدفاع", "الرئيس")
PLURAL = {"person": "people", "organization": "organizations", "equipment": "equipment", "place": "places",
          "other": "other"}


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))


def _sentence(rng: random.Random, vocab: list[str], n: int) -> str:
    words = [rng.choice(vocab) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _long_name(rng: random.Random, i: int) -> tuple[str, list[str]]:
    """An entity of the long shape: its name (Latin, Cyrillic, Arabic or
    Chinese) and aliases."""
    script = i % 7
    if script == 3:
        name = "".join(rng.choice(CJK) for _ in range(3)) + f"{i}"
    elif script == 5:
        name = f"{rng.choice(ARABIC)} {i}"
    elif script == 6:
        name = f"Ми{_word(rng)} {i}"
    else:
        name = " ".join(_word(rng).capitalize() for _ in range(rng.choice((1, 2, 3)))) + f" {i}"
    aliases = [name.upper()] if i % 2 == 0 else []
    if i % 3 == 0:
        aliases.append(f"{_word(rng).upper()}{i}")
    if i % 11 == 0:
        aliases.append(name.split(" ")[0] + f"-{i}")
    return name, [a for a in dict.fromkeys(aliases) if a != name]


def write_corpus(seeds: Path, n: int, seed: int = 20261123, *, long: bool = False) -> None:
    """Write ``n`` articles, their annotations and both registries into ``seeds``
    (in the long shape with ``long``; see the module's description)."""
    rng = random.Random(seed)
    seeds.mkdir(parents=True, exist_ok=True)
    vocab = sorted({_word(rng) for _ in range(20000)}) + list(UNICODE_WORDS)
    entities = []
    for i in range(1500 if long else 300):
        kind = KINDS[i % len(KINDS)]
        if long:
            name, aliases = _long_name(rng, i)
            entities.append((name, kind, aliases))
            continue
        name = " ".join(_word(rng).capitalize() for _ in range(rng.choice((1, 2)))) + f" {i}"
        aliases = [name.upper()] if i % 3 == 0 else []
        if i % 5 == 0:
            aliases.append(name.split(" ")[0] + f"-{i}")
        entities.append((name, kind, aliases))
    scale = 5 if long else 1
    sources = [(f"{_word(rng).capitalize()} News {i}", "ABCDEF"[i % 6]) for i in range(40 * scale)]
    topics = [f"{_word(rng)} {_word(rng)}" + (f" {i}" if long else "") for i in range(60 * scale)]
    regions = [_word(rng).capitalize() + (f" {i}" if long else "") for i in range(40 * scale - 1)] + ["Azərbaycan"]
    with open(seeds / "sources.yml", "w", encoding="utf-8") as f:
        for name, rel in sources:
            f.write(f"{_yaml_str(name)}:\n  url: https://{name.split()[0].lower()}.example.org\n"
                    f"  country: Testland\n  reliability: {rel}\n  note: Synthetic outlet.\n")
    with open(seeds / "entities.yml", "w", encoding="utf-8") as f:
        for number, (name, kind, aliases) in enumerate(entities):
            f.write(f"{_yaml_str(name)}:\n  kind: {kind}\n")
            if aliases:
                f.write(f"  aliases: [{', '.join(_yaml_str(a) for a in aliases)}]\n")
            f.write(f"  description: Synthetic {kind} number {number}.\n")
    start = dt.date(2026, 11, 23)
    ids: list[str] = []
    for i in range(n):
        ident = f"{i:06d}_{rng.getrandbits(32):08x}"
        ids.append(ident)
        date = start - dt.timedelta(days=i // (9 if long else 20))
        chosen = rng.sample(entities, rng.randint(8, 20) if long else rng.randint(3, 8))
        paragraphs = []
        for _ in range(rng.randint(12, 20) if long else rng.randint(7, 11)):
            if long and rng.random() < 0.05:  # a paragraph of Chinese, no spaces
                paragraphs.append("".join(rng.choice(CJK) for _ in range(rng.randint(40, 120))) + "。")
                continue
            sentences = [_sentence(rng, vocab, rng.randint(10, 22) if long else rng.randint(8, 18))
                         for _ in range(rng.randint(4, 8) if long else rng.randint(4, 7))]
            for _ in range(rng.randint(1, 3) if long else 1):
                name, _, aliases = rng.choice(chosen)
                sentences.insert(rng.randrange(len(sentences)), f"{rng.choice([name, *aliases])} said so.")
            paragraphs.append(" ".join(sentences))
        damaged = rng.choice(vocab)
        paragraphs[0] += f" The {damaged[:-1]}x program continues."
        if long:  # a second damaged word, long enough not to occur inside others
            second = rng.choice([w for w in vocab[:2000] if len(w) >= 6 and w != damaged])
            paragraphs[-1] += f" The {second[:-1]}x line."
        quoted = [paragraphs[rng.randrange(len(paragraphs))]] if not long else rng.sample(paragraphs[1:-1], 3)
        (seeds / f"{ident}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
        by_kind: dict[str, list[str]] = {}
        for name, kind, aliases in chosen:
            by_kind.setdefault(PLURAL[kind], []).append(rng.choice([name, *aliases]))
        lines = [
            f"title: {_yaml_str(_sentence(rng, vocab, rng.randint(7, 12))[:-1])}",
            f"date: {date.isoformat()}",
            f"source: {_yaml_str(rng.choice(sources)[0])}",
            f"summary: {_yaml_str(' '.join(_sentence(rng, vocab, 14) for _ in range(2)))}",
            "key_points:",
            *(f"  - {_yaml_str(_sentence(rng, vocab, 12))}" for _ in range(rng.randint(2, 4))),
            f"assessment: {_yaml_str(' '.join(_sentence(rng, vocab, 12) for _ in range(3)))}",
            f"confidence: {rng.choice(['low', 'moderate', 'high'])}",
            f"credibility: {rng.randint(1, 6)}",
            f"importance: {rng.choice(['low', 'medium', 'medium', 'high'])}",
            f"topics: [{', '.join(_yaml_str(t) for t in rng.sample(topics, rng.randint(1, 5 if long else 3)))}]",
            f"regions: [{', '.join(_yaml_str(r) for r in rng.sample(regions, rng.randint(1, 3 if long else 2)))}]",
            "entities:",
            *(f"  {kind}: [{', '.join(_yaml_str(x) for x in names)}]" for kind, names in sorted(by_kind.items())),
            "quotes:",
            *(f"  - text: {_yaml_str(p.split('. ')[0])}\n    by: {_yaml_str(chosen[0][0])}" for p in quoted),
            "corrections:",
            f"  {_yaml_str(damaged[:-1] + 'x')}: {_yaml_str(damaged)}",
        ]
        if long:
            lines.append(f"  {_yaml_str(second[:-1] + 'x')}: {_yaml_str(second)}")
            related = list(dict.fromkeys(ids[i - rng.randint(1, min(i, 50))] for _ in range(rng.randint(0, 3) if i else 0)))
            if related:
                lines.append(f"related: [{', '.join(_yaml_str(r) for r in related)}]")
        elif i >= 20 and i % 4 == 0:
            lines.append(f"related: [{_yaml_str(ids[i - rng.randint(1, 20)])}]")
        (seeds / f"{ident}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")

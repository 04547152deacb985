"""A deterministic synthetic corpus for benchmarks: N annotated articles with
registries, realistic lengths, aliases, topics, regions and Unicode text.

The same N and seed always give the same bytes, so measurements compare.
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
PLURAL = {"person": "people", "organization": "organizations", "equipment": "equipment", "place": "places",
          "other": "other"}


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))


def _sentence(rng: random.Random, vocab: list[str], n: int) -> str:
    words = [rng.choice(vocab) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def _yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def write_corpus(seeds: Path, n: int, seed: int = 20261123) -> None:
    """Write ``n`` articles, their annotations and both registries into ``seeds``."""
    rng = random.Random(seed)
    seeds.mkdir(parents=True, exist_ok=True)
    vocab = sorted({_word(rng) for _ in range(20000)}) + list(UNICODE_WORDS)
    entities = []
    for i in range(300):
        kind = KINDS[i % len(KINDS)]
        name = " ".join(_word(rng).capitalize() for _ in range(rng.choice((1, 2)))) + f" {i}"
        aliases = [name.upper()] if i % 3 == 0 else []
        if i % 5 == 0:
            aliases.append(name.split(" ")[0] + f"-{i}")
        entities.append((name, kind, aliases))
    sources = [(f"{_word(rng).capitalize()} News {i}", "ABCDEF"[i % 6]) for i in range(40)]
    topics = [f"{_word(rng)} {_word(rng)}" for _ in range(60)]
    regions = [_word(rng).capitalize() for _ in range(39)] + ["Azərbaycan"]
    with open(seeds / "sources.yml", "w", encoding="utf-8") as f:
        for name, rel in sources:
            f.write(f"{_yaml_str(name)}:\n  url: https://{name.split()[0].lower()}.example.org\n"
                    f"  country: Testland\n  reliability: {rel}\n  note: Synthetic outlet.\n")
    with open(seeds / "entities.yml", "w", encoding="utf-8") as f:
        for name, kind, aliases in entities:
            f.write(f"{_yaml_str(name)}:\n  kind: {kind}\n")
            if aliases:
                f.write(f"  aliases: [{', '.join(_yaml_str(a) for a in aliases)}]\n")
            f.write(f"  description: Synthetic {kind} number {name.rsplit(' ', 1)[1]}.\n")
    start = dt.date(2026, 11, 23)
    ids: list[str] = []
    for i in range(n):
        ident = f"{i:06d}_{rng.getrandbits(32):08x}"
        ids.append(ident)
        date = start - dt.timedelta(days=i // 20)
        chosen = rng.sample(entities, rng.randint(3, 8))
        paragraphs = []
        for _ in range(rng.randint(7, 11)):
            sentences = [_sentence(rng, vocab, rng.randint(8, 18)) for _ in range(rng.randint(4, 7))]
            name, _, aliases = rng.choice(chosen)
            sentences.insert(rng.randrange(len(sentences)), f"{rng.choice([name, *aliases])} said so.")
            paragraphs.append(" ".join(sentences))
        damaged = rng.choice(vocab)
        paragraphs[0] += f" The {damaged[:-1]}x program continues."
        quote_source = paragraphs[rng.randrange(len(paragraphs))].split(". ")[0]
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
            f"topics: [{', '.join(_yaml_str(t) for t in rng.sample(topics, rng.randint(1, 3)))}]",
            f"regions: [{', '.join(_yaml_str(r) for r in rng.sample(regions, rng.randint(1, 2)))}]",
            "entities:",
            *(f"  {kind}: [{', '.join(_yaml_str(x) for x in names)}]" for kind, names in sorted(by_kind.items())),
            "quotes:",
            f"  - text: {_yaml_str(quote_source)}",
            f"    by: {_yaml_str(chosen[0][0])}",
            "corrections:",
            f"  {_yaml_str(damaged[:-1] + 'x')}: {_yaml_str(damaged)}",
        ]
        if i >= 20 and i % 4 == 0:
            lines.append(f"related: [{_yaml_str(ids[i - rng.randint(1, 20)])}]")
        (seeds / f"{ident}.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")

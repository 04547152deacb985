"""Editions for an audience (TLP 2.0): only what it may see goes in.

The releasable items are chosen before anything is derived from them: an
article, annotation or registry entry that the audience may not see is taken
out of the corpus right after it was read and checked, so every page, hub,
count, chart, mention, search entry, sitemap line and zip entry is computed
from the releasable items only, and a withheld item cannot leak through a
derived output it was never given to.

Settings live in mkdocs.yml, under ``extra.digest``::

    extra:
      digest:
        default_tlp: GREEN        # the marking of unmarked items (none: withheld from audience editions)
        audience:                 # which audience each edition is built for (none: the full edition)
          hosted: GREEN
          offline: AMBER
        feeds:
          items: 50               # entries in each feed (feeds need site_url)
        print:
          newest: 7               # editions that get a printed brief (PDF); "all" for every one
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from digest.load import RawCorpus
from digest.problems import Problem
from digest.schema import TLP_LABELS, tlp_label, tlp_rank
from digest.validate import Checked

FEED_ITEMS = 50
PRINT_NEWEST = 7  # printed briefs for the newest week or so of editions (docs/development/performance.md)


@dataclass(frozen=True)
class Settings:
    default_tlp: str | None = None
    audience: dict[str, str] = field(default_factory=dict)  # edition ("hosted", "offline") -> label
    site_url: str = ""  # mkdocs.yml's, ending in "/"; "" when it has none (then no feeds)
    site_name: str = "Briefing Digest"
    feed_items: int = FEED_ITEMS
    print_newest: int | None = PRINT_NEWEST  # None: every edition


class _Lenient(yaml.SafeLoader):
    """mkdocs.yml may hold MkDocs' and Python's own tags; they are not ours to read."""


_Lenient.add_multi_constructor("", lambda loader, suffix, node: None)


def read_settings(config: Path) -> tuple[Settings, list[Problem]]:
    """The audience settings of a configuration file, and what is wrong with them."""
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=_Lenient)
    except (OSError, yaml.YAMLError):
        return Settings(), []  # MkDocs reports a broken configuration itself
    top = data if isinstance(data, dict) else {}
    url = top.get("site_url")
    site_url = str(url).rstrip("/") + "/" if isinstance(url, str) and url.strip() else ""
    name = top.get("site_name")
    site_name = " ".join(name.split()) if isinstance(name, str) and name.strip() else "Briefing Digest"
    extra = top.get("extra")
    ours: Any = extra.get("digest") if isinstance(extra, dict) else None
    if not isinstance(ours, dict):
        return Settings(site_url=site_url, site_name=site_name), []
    problems: list[Problem] = []
    rel = config.name

    def label(value: Any, where: str) -> str | None:
        if value is None:
            return None
        found = tlp_label(str(value))
        if found is None:
            problems.append(Problem(rel, 1, 1, where, f"'{value}' is not a TLP label",
                                    "write one of " + ", ".join(TLP_LABELS)))
        return found

    def count(value: Any, where: str, default: int, *, every: bool = False) -> int | None:
        if value is None:
            return default
        if every and value == "all":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.append(Problem(rel, 1, 1, where, f"'{value}' is not a number of items",
                                    "write a whole number, 0 or more" + (', or "all"' if every else "")))
            return default
        return value

    default = label(ours.get("default_tlp"), "extra.digest.default_tlp")
    editions: dict[str, str] = {}
    for edition, value in (ours.get("audience") or {}).items():
        if edition not in ("hosted", "offline"):
            problems.append(Problem(rel, 1, 1, f"extra.digest.audience.{edition}",
                                    f"'{edition}' is not an edition", "write hosted or offline"))
            continue
        found = label(value, f"extra.digest.audience.{edition}")
        if found:
            editions[edition] = found
    feeds: dict[str, Any] = ours["feeds"] if isinstance(ours.get("feeds"), dict) else {}
    printed: dict[str, Any] = ours["print"] if isinstance(ours.get("print"), dict) else {}
    items = count(feeds.get("items"), "extra.digest.feeds.items", FEED_ITEMS)
    newest = count(printed.get("newest"), "extra.digest.print.newest", PRINT_NEWEST, every=True)
    return Settings(default, editions, site_url, site_name, FEED_ITEMS if items is None else items, newest), problems


def may_see(marking: str | None, audience: str | None) -> bool:
    """Whether an item marked ``marking`` goes into the edition for ``audience``
    (None: the full edition, which holds everything)."""
    if audience is None:
        return True
    return marking is not None and tlp_rank(marking) <= tlp_rank(audience)


@dataclass(frozen=True)
class Restricted:
    raw: RawCorpus
    checked: Checked
    withheld: frozenset[str]  # article ids withheld from this edition


def restrict(raw: RawCorpus, checked: Checked, audience: str | None, default: str | None) -> Restricted:
    """The corpus as the audience may see it: withheld articles (text and
    annotation) and withheld registry entries are gone."""
    if audience is None:
        return Restricted(raw, checked, frozenset())
    withheld = set()
    for ident in raw.articles:
        ann = checked.annotations.get(ident)
        marking = (ann.values.get("tlp") if ann else None) or default
        if not may_see(marking, audience):
            withheld.add(ident)
    kept_raw = RawCorpus(articles={k: v for k, v in raw.articles.items() if k not in withheld},
                         annotations={k: v for k, v in raw.annotations.items() if k not in withheld},
                         registries=raw.registries, problems=raw.problems)

    def entries(registry: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: details for name, details in registry.items()
                if may_see(details.get("tlp") or default, audience)}

    kept = replace(checked, annotations={k: v for k, v in checked.annotations.items() if k not in withheld},
                   sources=entries(checked.sources), entities=entries(checked.entities))
    return Restricted(kept_raw, kept, frozenset(withheld))

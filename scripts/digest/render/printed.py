"""What an edition's printed brief shows, as plain data for its template.

Pure, like every renderer: the same Digest gives the same data. The PDF is
made from it by digest/printed.py with scripts/digest/assets/brief.typ, which
places every value as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from digest.model import Digest
from digest.render.common import article_path, grade_title, plural
from digest.render.marking import strictest
from digest.schema import TLP_LABELS, tlp_rank


def _one_line(text: str) -> str:
    return " ".join(text.split())


def brief_data(digest: Digest, date: dt.date, ids: tuple[str, ...]) -> dict[str, Any]:
    """The brief of the edition of ``date`` (its articles ``ids``, by importance)."""
    site_url = digest.delivery.site_url
    articles = [digest.articles[i] for i in ids]
    label = strictest(a.tlp for a in articles)
    if digest.audience:
        wider = [x for x in TLP_LABELS if tlp_rank(x) <= tlp_rank(digest.audience)]
        audience = (f"For readers cleared for TLP:{digest.audience}: it holds only items marked "
                    f"{', '.join('TLP:' + x for x in wider)}.")
    else:
        audience = "The full edition: every item, whatever its marking." if label else ""
    items = []
    for a in articles:
        source = digest.sources.get(a.source)
        meta = [source.name if source else "Unknown source", f"grade {a.grade} ({grade_title(a.grade).lower()})",
                f"{a.importance} importance"]
        if not a.reviewed:
            meta.append("not reviewed yet")
        items.append({
            "title": _one_line(a.title),
            "meta": " · ".join(meta),
            "tlp": a.tlp,
            "summary": _one_line(a.summary),
            "points": [_one_line(p) for p in a.key_points],
            "assessment": _one_line(a.assessment),
            "confidence": a.confidence,
            "quotes": [{"text": _one_line(q.text), "by": _one_line(q.by)} for q in a.quotes],
            "url": site_url + article_path(a.id)[:-3] + ".html" if site_url else "",
        })
    day = date.strftime("%A, %d %B %Y")
    return {
        "site_name": digest.delivery.site_name,
        "title": f"Edition of {day}",
        "date_text": date.isoformat(),
        "label": label,
        "audience": audience,
        "count": plural(len(articles), "article"),
        "items": items,
    }

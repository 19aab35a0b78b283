"""Admin reports on gated content: per-asset funnel, and the published asset model's metrics.

Funnel per asset, from events (one grouped query over the asset events, and one over leads):

- ``views`` (``asset_view`` events) and ``viewers`` (distinct visitors);
- ``submissions`` (sum of ``form_submission`` counts, imported ones included) and ``leads``;
- ``conversion``: the share of viewers who also submitted the form, so it stays in [0, 1] and
  imported submissions (which come without views) cannot inflate it. None without viewers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select

from storefront.extensions import db
from storefront.models import ASSET_VIEW, FORM_SUBMISSION, TYPE_LABELS, Asset, BusinessUnit, Event, Lead

SORTS = {
    "title": "Title", "type": "Type", "views": "Views", "viewers": "Viewers",
    "submissions": "Submissions", "leads": "Leads", "conversion": "Conversion",
}
DEFAULT_SORT = "submissions"
PER_PAGE = 50
#: Holdout metrics shown per candidate (``@k`` is appended).
CANDIDATE_METRICS = ("ndcg", "recall", "hit_rate", "bu_hit_rate", "top_hit_rate", "coverage")
UNIT_METRICS = ("hit_rate", "ndcg", "bu_hit_rate", "top_hit_rate")


@dataclass(frozen=True)
class AssetRow:
    id: int
    title: str
    type_label: str
    active: bool
    views: int
    viewers: int
    submissions: int
    leads: int
    converted: int

    @property
    def conversion(self) -> float | None:
        return self.converted / self.viewers if self.viewers else None


@dataclass(frozen=True)
class RowsPage:
    """A page of rows, shaped like Flask-SQLAlchemy's pagination (for the same macro)."""

    items: list[AssetRow]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def _funnel() -> dict[int, dict[str, int]]:
    """Per asset: views, viewers, submissions, converted viewers (one pass over the asset events,
    read through their partial index), and leads.

    The inner query sums each (asset, visitor) pair once; the outer one counts the pairs. An
    earlier form joined "who viewed" to "who submitted" as two DISTINCT subqueries, which no
    index serves: 10 s per load on a million events (issue 15)."""
    count = func.coalesce(Event.properties["count"].as_integer(), 1)
    is_view = Event.type == ASSET_VIEW
    is_submission = Event.type == FORM_SUBMISSION
    pairs = (
        select(
            Event.asset_id.label("asset_id"),
            func.sum(case((is_view, 1), else_=0)).label("views"),
            func.sum(case((is_submission, count), else_=0)).label("submitted"),
            func.sum(case((is_submission, 1), else_=0)).label("submissions_rows"),
        )
        .where(Event.asset_id.is_not(None), Event.type.in_((ASSET_VIEW, FORM_SUBMISSION)))
        .group_by(Event.asset_id, Event.visitor_id)
        .subquery()
    )
    viewer = pairs.c.views > 0
    totals = select(
        pairs.c.asset_id,
        func.sum(pairs.c.views),
        func.sum(case((viewer, 1), else_=0)),
        func.sum(pairs.c.submitted),
        func.sum(case((and_(viewer, pairs.c.submissions_rows > 0), 1), else_=0)),
    ).group_by(pairs.c.asset_id)
    result = {
        asset_id: {"views": int(v or 0), "viewers": int(w or 0), "submissions": int(s or 0), "converted": int(c or 0)}
        for asset_id, v, w, s, c in db.session.execute(totals)
    }
    for asset_id, n in db.session.execute(select(Lead.asset_id, func.count()).group_by(Lead.asset_id)):
        result.setdefault(asset_id, {})["leads"] = int(n)
    return result


def performance(sort: str = DEFAULT_SORT, descending: bool = True, page: int = 1,
                per_page: int = PER_PAGE) -> RowsPage:
    """Every asset's funnel, sorted (ties by id), one page of it."""
    funnel = _funnel()
    rows = []
    for asset_id, title, kind, active in db.session.execute(select(Asset.id, Asset.title, Asset.type, Asset.active)):
        f = funnel.get(asset_id, {})
        rows.append(AssetRow(asset_id, title, TYPE_LABELS.get(kind, kind), active, f.get("views", 0),
                             f.get("viewers", 0), f.get("submissions", 0), f.get("leads", 0), f.get("converted", 0)))
    sort = sort if sort in SORTS else DEFAULT_SORT
    key = {"title": lambda r: r.title.lower(), "type": lambda r: r.type_label.lower(),
           "conversion": lambda r: -1.0 if r.conversion is None else r.conversion}.get(sort, lambda r: getattr(r, sort))
    rows.sort(key=lambda r: r.id)
    rows.sort(key=key, reverse=descending)
    page = max(1, page)
    return RowsPage(rows[(page - 1) * per_page: page * per_page], page, per_page, len(rows))


@dataclass(frozen=True)
class ModelReport:
    """The active version's asset metrics, ready for the admin template."""

    version: str
    k: int
    champion: str
    baseline: dict[str, Any]
    candidates: list[dict[str, Any]]  # name, status, error, metrics (by short name), fit_seconds
    per_unit: list[dict[str, Any]]  # code, name, n_visitors, metrics
    similarity: list[tuple[str, float]]  # (type label, average intra-type similarity)
    breakdown: list[dict[str, Any]]
    data: dict[str, int]
    selection: str = ""  # why the champion rule chose the champion
    pareto: tuple[dict[str, Any], ...] = ()  # ml.resources.pareto rows
    min_bu_hit_rate: float = 0.6
    split: str = "leave-one-out"


def model_report(version: str, summary: dict[str, Any]) -> ModelReport:
    k = int(summary.get("config", {}).get("k", 10))
    names = dict(db.session.execute(select(BusinessUnit.code, BusinessUnit.name)).all())
    candidates = [
        {"name": name, "status": c.get("status", "ok"), "error": c.get("error"),
         "fit_seconds": c.get("fit_seconds"),
         "metrics": {m: (c.get("metrics") or {}).get(f"{m}@{k}") for m in CANDIDATE_METRICS}}
        for name, c in (summary.get("candidates") or {}).items()
    ]
    candidates.sort(key=lambda c: -(c["metrics"]["hit_rate"] if c["metrics"]["hit_rate"] is not None else -1.0))
    per_unit = [
        {"code": code, "name": names.get(code, code), "n_visitors": int(values.get("n_visitors", 0)),
         "metrics": {m: values.get(f"{m}@{k}") for m in UNIT_METRICS}}
        for code, values in sorted((summary.get("per_unit") or {}).items())
    ]
    similarity = sorted(
        ((TYPE_LABELS.get(t, t), float(v)) for t, v in (summary.get("intra_type_similarity") or {}).items()),
        key=lambda item: -item[1],
    )
    config = summary.get("config") or {}
    return ModelReport(version, k, str(summary.get("champion", "")), summary.get("baseline") or {}, candidates,
                       per_unit, similarity, list(summary.get("breakdown") or []), dict(summary.get("data") or {}),
                       selection=str(summary.get("selection_reason") or ""), pareto=tuple(summary.get("pareto") or ()),
                       min_bu_hit_rate=float(config.get("min_bu_hit_rate", 0.6)),
                       split=str(config.get("split", "leave-one-out")))

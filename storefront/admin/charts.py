"""The admin's Chart.js charts outside the dashboard, as JSON-ready dicts ("point charts").

The dashboard's charts are tables (``storefront.analytics.tables.Table.as_json``); these are
series of points instead: the champion's NDCG@10 over training runs, the click models'
calibration, the gated-content model's hit rates by number of interactions and the customer map.
A page embeds them all in one ``<script type="application/json" id="chart-data">`` block
(``templates/admin/_charts.html``) and ``static/js/dashboard.js`` draws each ``<canvas
data-chart="<key>">`` from its spec. No geometry here: Chart.js lays the charts out for the width
it gets (phone or desktop). The shape of a spec::

    {"type": "line" | "scatter", "title": str,
     "labels": [str | [str, ...]],          # category x axis (a list label is drawn on several lines)
     "x": {"title", "min", "max", "format"}, "y": {...},   # format: score | rate | count | number
     "axes": bool,                          # false: no axes (the map: its units mean nothing)
     "equal_scale": bool,                   # one unit is as long on both axes (the map)
     "link": "/admin/customers/{id}",       # a click on a point with an "id" opens this
     "tip": "Customer #{id}",               # the tooltip of a point with an "id"
     "datasets": [{"label", "data": [y | null] or [{"x", "y", "id"?}], "tips": [str]?,
                   "colour": int (PALETTE index) | "--css-variable", "line": bool, "dashed": bool,
                   "points": bool}]}
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from storefront.training.overview import ChartPoint

if TYPE_CHECKING:
    from storefront.segments.customer_map import CustomerMap

#: (metric short name, label) of each line of the gated-content model's plot.
HIT_RATE_SERIES = (
    ("hit_rate", "Hit rate"),
    ("bu_hit_rate", "BU hit rate"),
    ("top_hit_rate", "Top hit rate"),
)
GREY = "--muted"  # the diagonal of the calibration plot, customers without a segment


def nice_ceiling(value: float) -> float:
    """A round upper bound for an axis (0.05, 0.1, 0.25, 0.5 ... times a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * scale >= value:
            return round(step * scale, 12)
    return 10 * scale


def ndcg_chart(points: list[ChartPoint]) -> dict[str, Any] | None:
    """Champion NDCG@10 per successful run, oldest left; None when there is nothing to draw."""
    if not points:
        return None
    return {
        "type": "line",
        "title": f"Champion NDCG@10 of the last {len(points)} successful runs",
        "labels": [f"#{p.run_id}" for p in points],
        "x": {"title": "Training run"},
        "y": {"title": "NDCG@10", "min": 0, "format": "score"},
        "datasets": [{
            "label": "Champion NDCG@10",
            "data": [round(p.ndcg, 6) for p in points],
            "tips": [f"Run #{p.run_id} ({p.finished_at:%d %b %H:%M}): {p.champion}, NDCG@10 {p.ndcg:.4f}"
                     for p in points],
        }],
    }


def calibration_chart(models: list[dict]) -> dict[str, Any] | None:
    """Observed click rate against predicted probability per bin, one line per click model, and
    the diagonal (perfect calibration); None without calibration bins. Both axes share one range."""
    bins = [(m.get("kind", "?"), m.get("calibration") or []) for m in models]
    values = [v for _, rows in bins for row in rows for v in (row["predicted"], row["observed"])]
    if not values:
        return None
    top = nice_ceiling(max(values) * 1.05)
    datasets = [
        {
            "label": kind,
            "colour": i,
            "data": [{"x": round(row["predicted"], 6), "y": round(row["observed"], 6)} for row in rows],
            "tips": [f"{kind}: predicted {row['predicted']:.3f}, observed {row['observed']:.3f} ({row['count']:,} rows)"
                     for row in rows],
            "line": True,
        }
        for i, (kind, rows) in enumerate(bins) if rows
    ]
    datasets.append({"label": "perfect calibration", "colour": GREY, "data": [{"x": 0, "y": 0}, {"x": top, "y": top}],
                     "line": True, "dashed": True, "points": False})
    axis = {"min": 0, "max": top, "format": "number"}
    return {
        "type": "scatter",
        "title": "Calibration on the test set: observed click rate against predicted probability",
        "x": {**axis, "title": "predicted"}, "y": {**axis, "title": "observed"},
        "datasets": datasets,
    }


def hit_rate_chart(breakdown: list[dict[str, Any]], k: int) -> dict[str, Any] | None:
    """The champion's hit rates@k per interaction-count bucket (y from 0 to 1); None when no bucket
    has visitors. A bucket without visitors has no point (its mean would read as a real 0), so a
    line may have gaps at the right, where few visitors have many interactions."""
    if not any(int(row.get("n_visitors", 0)) for row in breakdown):
        return None

    def value(row: dict[str, Any], metric: str) -> float | None:
        return round(float(row.get(f"{metric}@{k}") or 0.0), 6) if int(row.get("n_visitors", 0)) else None

    return {
        "type": "line",
        "title": f"Hit rate, BU hit rate and top hit rate at {k} per number of assets a visitor interacted with",
        "labels": [[str(row["bucket"]), f"n={int(row.get('n_visitors', 0))}"] for row in breakdown],
        "x": {"title": "assets per visitor (visitors evaluated)"},
        "y": {"title": f"rate@{k}", "min": 0, "max": 1, "format": "score"},
        "datasets": [
            {
                "label": f"{label}@{k}",
                "colour": i,
                "data": [value(row, metric) for row in breakdown],
                "tips": [f"{label}@{k}, {row['bucket']} interactions: {value(row, metric) or 0:.3f} "
                         f"({int(row.get('n_visitors', 0))} visitors)" for row in breakdown],
            }
            for i, (metric, label) in enumerate(HIT_RATE_SERIES)
        ],
    }


def pareto_chart(rows: list[dict[str, Any]], k: int, floor: float) -> dict[str, Any] | None:
    """Hit rate (x) against business-unit hit rate (y) of every candidate: one curve per
    business-unit blend through its weights, one point per other model, and marketing's floor
    as a dashed line. None without rows."""
    if not rows:
        return None
    blends: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("weight") is not None:
            blends.setdefault(row["candidate"], []).append(row)
    singles = [row for row in rows if row.get("weight") is None]
    datasets: list[dict[str, Any]] = [
        {"label": name, "colour": i, "line": True,
         "data": [{"x": round(r["hit_rate"], 6), "y": round(r["bu_hit_rate"], 6)} for r in points],
         "tips": [f"{name}, weight {r['weight']:g}{' (chosen)' if r['chosen'] else ''}: hit rate {r['hit_rate']:.3f}, "
                  f"BU hit rate {r['bu_hit_rate']:.3f}" for r in points]}
        for i, (name, points) in enumerate(blends.items())
    ]
    datasets += [
        {"label": row["candidate"], "colour": len(blends) + i,
         "data": [{"x": round(row["hit_rate"], 6), "y": round(row["bu_hit_rate"], 6)}],
         "tips": [f"{row['candidate']}: hit rate {row['hit_rate']:.3f}, BU hit rate {row['bu_hit_rate']:.3f}"]}
        for i, row in enumerate(singles)
    ]
    top = nice_ceiling(max(r["hit_rate"] for r in rows))
    datasets.append({"label": f"floor {floor:g}", "colour": GREY, "line": True, "dashed": True, "points": False,
                     "data": [{"x": 0, "y": floor}, {"x": top, "y": floor}]})
    return {
        "type": "scatter",
        "title": f"Hit rate@{k} against business-unit hit rate@{k} per candidate and blend weight",
        "x": {"title": f"hit rate@{k}", "min": 0, "max": top, "format": "score"},
        "y": {"title": f"BU hit rate@{k}", "min": 0, "max": 1, "format": "score"},
        "datasets": datasets,
    }


def customer_map_chart(points: CustomerMap, colouring_label: str, link: str) -> dict[str, Any]:
    """The customer map as a scatter: one dataset (and legend entry) per segment or cluster, a
    tooltip and a link (``link`` with ``{id}``) per customer, the same scale on both axes."""
    return {
        "type": "scatter",
        "title": f"{points.shown} customers by their Customer2Vec embedding, coloured by {colouring_label}",
        "axes": False,
        "equal_scale": True,
        "link": link,
        "tip": "Customer #{id}",
        "datasets": [
            {
                "label": f"{group.label} ({group.customers:,})",
                "colour": GREY if group.colour is None else f"--seg-{group.colour}",
                "data": [{"x": x, "y": y, "id": cid} for cid, (x, y) in zip(group.customer_ids, group.xy)],
            }
            for group in points.groups
        ],
    }

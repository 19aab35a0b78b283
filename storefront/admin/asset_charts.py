"""SVG geometry of the asset admin's plot: hit rates against a visitor's number of interactions.

Server-side like the other admin charts (no JavaScript, no inline script): this module computes
coordinates, the template draws them. One line per metric over the interaction-count buckets of
``ml.resources.COUNT_BUCKETS``; a bucket without visitors gets no point (its mean would read as a
real 0), so a line may have gaps at the right where few visitors have many interactions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storefront.admin.charts import PlotPoint, Series, Tick

#: (metric short name, legend label, CSS class) of each line.
SERIES = (
    ("hit_rate", "Hit rate", "series-hit"),
    ("bu_hit_rate", "BU hit rate", "series-bu"),
    ("top_hit_rate", "Top hit rate", "series-top"),
)


@dataclass(frozen=True)
class BucketChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def hit_rate_chart(breakdown: list[dict[str, Any]], k: int, width: int = 720,
                   height: int = 260) -> BucketChart | None:
    """The champion's hit rates@k per bucket (y from 0 to 1); None when no bucket has visitors."""
    if not any(int(row.get("n_visitors", 0)) for row in breakdown):
        return None
    left, right, top, bottom = 56, width - 150, 16, height - 40
    span = max(len(breakdown) - 1, 1)

    def x_of(index: int) -> float:
        return left + (right - left) * index / span

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * min(max(value, 0.0), 1.0)

    series = []
    for metric, label, css in SERIES:
        points = [
            PlotPoint(x_of(i), y_of(float(row.get(f"{metric}@{k}") or 0.0)),
                      f"{label}@{k}, {row['bucket']} interactions: {float(row.get(f'{metric}@{k}') or 0.0):.3f} "
                      f"({int(row['n_visitors'])} visitors)")
            for i, row in enumerate(breakdown) if int(row.get("n_visitors", 0))
        ]
        series.append(Series(label, css, points))
    x_ticks = [Tick(x_of(i), f"{row['bucket']} (n={int(row.get('n_visitors', 0))})") for i, row in enumerate(breakdown)]
    y_ticks = [Tick(y_of(v), f"{v:g}") for v in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    return BucketChart(width, height, left, right, top, bottom, series, x_ticks, y_ticks)

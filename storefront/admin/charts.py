"""Server-side SVG geometry for the admin charts (no JavaScript: the page works offline and
under a strict content policy). The template draws the shapes; this module only does the maths."""
from __future__ import annotations

import math
from dataclasses import dataclass

from storefront.training.overview import ChartPoint


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    label: str  # the tooltip (<title>) of the point


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[PlotPoint]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _nice_ceiling(value: float) -> float:
    """A round upper bound for the y axis (0.05, 0.1, 0.25, 0.5 ... times a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):  # fifths of each are round too
        if step * scale >= value:
            return step * scale
    return 10 * scale


def ndcg_chart(points: list[ChartPoint], width: int = 720, height: int = 240) -> LineChart | None:
    """Champion NDCG@10 per run, oldest left; None when there is nothing to draw."""
    if not points:
        return None
    left, right, top, bottom = 56, width - 16, 16, height - 36
    top_value = _nice_ceiling(max(p.ndcg for p in points) * 1.1)
    span = max(len(points) - 1, 1)

    def x_of(index: int) -> float:
        return left + (right - left) * (index / span if len(points) > 1 else 0.5)

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / top_value

    plotted = [
        PlotPoint(x_of(i), y_of(p.ndcg),
                  f"Run #{p.run_id} ({p.finished_at:%d %b %H:%M}): {p.champion}, NDCG@10 {p.ndcg:.4f}")
        for i, p in enumerate(points)
    ]
    y_ticks = [Tick(y_of(top_value * f), f"{round(top_value * f, 6):g}") for f in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    every = max(1, math.ceil(len(points) / 8))  # at most ~8 run labels under the axis
    x_ticks = [Tick(x_of(i), f"#{p.run_id}") for i, p in enumerate(points) if i % every == 0 or i == len(points) - 1]
    return LineChart(width, height, left, right, top, bottom, plotted, y_ticks, x_ticks)


@dataclass(frozen=True)
class Series:
    """One line of a multi-line chart (the asset model's metrics, the calibration plot)."""

    label: str
    css_class: str
    points: list[PlotPoint]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True)
class AxisTick:
    x: float  # where the value sits on the x axis
    y: float  # and on the y axis
    label: str


@dataclass(frozen=True)
class CalibrationChart:
    """Observed click rate against predicted probability per bin, one series per model, with
    the diagonal (perfect calibration) from (0, 0) to (top, top)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: list[Series]
    ticks: list[AxisTick]  # the same scale on both axes
    diagonal: tuple[float, float, float, float]


def calibration_chart(models: list[dict], width: int = 420, height: int = 320) -> CalibrationChart | None:
    """From the click-model summaries (``calibration``: bins with ``predicted``/``observed``)."""
    bins = [(m.get("kind", "?"), m.get("calibration") or []) for m in models]
    values = [v for _, rows in bins for row in rows for v in (row["predicted"], row["observed"])]
    if not values:
        return None
    left, right, top, bottom = 48, width - 16, 16, height - 36
    top_value = _nice_ceiling(max(values) * 1.05)

    def x_of(value: float) -> float:
        return left + (right - left) * value / top_value

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * value / top_value

    series = [
        Series(kind, f"series-{i}", [
            PlotPoint(x_of(row["predicted"]), y_of(row["observed"]),
                      f"{kind}: predicted {row['predicted']:.3f}, observed {row['observed']:.3f} "
                      f"({row['count']:,} rows)")
            for row in rows
        ])
        for i, (kind, rows) in enumerate(bins) if rows
    ]
    ticks = [AxisTick(x_of(top_value * f), y_of(top_value * f), f"{round(top_value * f, 6):g}")
             for f in (0.0, 0.25, 0.5, 0.75, 1.0)]
    return CalibrationChart(width, height, left, right, top, bottom, series, ticks,
                            (x_of(0), y_of(0), x_of(top_value), y_of(top_value)))

"""The admin's point charts as data (storefront.admin.charts, storefront.segments.customer_map): what
static/js/dashboard.js gets to draw, without a database or a browser."""
from __future__ import annotations

import json
from datetime import datetime
from types import SimpleNamespace

import numpy as np
import pytest

from storefront.admin.charts import calibration_chart, customer_map_chart, hit_rate_chart, ndcg_chart, nice_ceiling
from storefront.segments import customer_map as segment_map
from storefront.training.overview import ChartPoint


def test_nice_ceiling_rounds_an_axis_up():
    assert [nice_ceiling(v) for v in (0, 0.042, 0.0735, 0.26, 1.0, 7.2)] == [1.0, 0.05, 0.08, 0.3, 1.0, 8.0]


def test_ndcg_chart_is_one_line_oldest_run_first_with_a_tooltip_per_run():
    assert ndcg_chart([]) is None
    points = [ChartPoint(3, datetime(2026, 1, 2, 9, 5), "als", 0.123456789),
              ChartPoint(7, datetime(2026, 1, 3, 18, 0), "ease", 0.25)]
    chart = ndcg_chart(points)
    assert chart["type"] == "line" and chart["labels"] == ["#3", "#7"]
    assert chart["y"] == {"title": "NDCG@10", "min": 0, "format": "score"}
    (line,) = chart["datasets"]
    assert line["data"] == [0.123457, 0.25]
    assert line["tips"] == ["Run #3 (02 Jan 09:05): als, NDCG@10 0.1235", "Run #7 (03 Jan 18:00): ease, NDCG@10 0.2500"]
    json.dumps(chart)  # the page embeds it as JSON


def test_calibration_chart_shares_one_range_on_both_axes_and_draws_the_diagonal():
    assert calibration_chart([]) is None and calibration_chart([{"kind": "lr", "calibration": []}]) is None
    models = [
        {"kind": "lr", "calibration": [{"predicted": 0.01, "observed": 0.02, "count": 1200},
                                       {"predicted": 0.05, "observed": 0.071, "count": 300}]},
        {"kind": "fm", "calibration": None},  # a model without bins gets no line
        {"kind": "xdeepfm", "calibration": [{"predicted": 0.03, "observed": 0.025, "count": 900}]},
    ]
    chart = calibration_chart(models)
    assert chart["type"] == "scatter" and "labels" not in chart
    assert chart["x"] == {"min": 0, "max": 0.08, "format": "number", "title": "predicted"}
    assert chart["y"] == {"min": 0, "max": 0.08, "format": "number", "title": "observed"}
    lr, xdeepfm, diagonal = chart["datasets"]
    assert (lr["label"], lr["colour"], lr["line"]) == ("lr", 0, True)
    assert lr["data"] == [{"x": 0.01, "y": 0.02}, {"x": 0.05, "y": 0.071}]
    assert lr["tips"][0] == "lr: predicted 0.010, observed 0.020 (1,200 rows)"
    assert (xdeepfm["label"], xdeepfm["colour"]) == ("xdeepfm", 2)  # keeps its model's colour
    assert diagonal["data"] == [{"x": 0, "y": 0}, {"x": 0.08, "y": 0.08}]
    assert diagonal["dashed"] and diagonal["points"] is False and diagonal["colour"] == "--muted"


def test_hit_rate_chart_leaves_gaps_for_buckets_without_visitors():
    breakdown = [
        {"bucket": "2", "n_visitors": 12, "hit_rate@10": 0.5, "bu_hit_rate@10": 0.75, "top_hit_rate@10": 0.25},
        {"bucket": "3", "n_visitors": 0, "hit_rate@10": 0.0, "bu_hit_rate@10": 0.0, "top_hit_rate@10": 0.0},
        {"bucket": "10+", "n_visitors": 3, "hit_rate@10": 1.0, "bu_hit_rate@10": 0.9, "top_hit_rate@10": 0.0},
    ]
    assert hit_rate_chart([{**row, "n_visitors": 0} for row in breakdown], 10) is None
    chart = hit_rate_chart(breakdown, 10)
    assert chart["labels"] == [["2", "n=12"], ["3", "n=0"], ["10+", "n=3"]]  # two lines under the axis
    assert (chart["y"]["min"], chart["y"]["max"]) == (0, 1)
    assert [d["label"] for d in chart["datasets"]] == ["Hit rate@10", "BU hit rate@10", "Top hit rate@10"]
    assert [d["data"] for d in chart["datasets"]] == [[0.5, None, 1.0], [0.75, None, 0.9], [0.25, None, 0.0]]
    assert chart["datasets"][0]["tips"][0] == "Hit rate@10, 2 interactions: 0.500 (12 visitors)"


class _Segments:
    """What customer_map reads of a SegmentsResult: the projection and each customer's segment."""

    def __init__(self, n: int, segments: dict[str, str]):
        ids = np.array([str(i) for i in range(1, n + 1)])
        xy = np.column_stack([np.arange(n) * 0.123456, np.arange(n) % 7 * -0.5]).astype(np.float32)
        self.projection = SimpleNamespace(customer_ids=ids, xy=xy, method="pca")
        self._segments = segments

    def segment_of(self, customer_id: str) -> str | None:
        return self._segments.get(customer_id)


def test_the_customer_map_is_one_group_per_segment_in_the_segments_order():
    segments = _Segments(5, {"1": "Lost", "2": "Champions", "3": "Lost", "4": "Champions"})  # 5: none
    points = segment_map.customer_map(segments)
    assert (points.method, points.colouring, points.shown, points.total) == ("pca", "segment", 5, 5)
    assert [(g.label, g.colour, g.customer_ids) for g in points.groups] == [
        ("Champions", segment_map.SEGMENT_COLOURS["Champions"], ["2", "4"]),
        ("Lost", segment_map.SEGMENT_COLOURS["Lost"], ["1", "3"]),
        ("none", None, ["5"]),
    ]
    assert points.groups[0].xy[0] == (pytest.approx(0.1235, abs=1e-4), -0.5)  # rounded: the page stays light
    assert segment_map.customer_map(_Segments(0, {})) is None

    chart = customer_map_chart(points, "RFM segment", "/admin/customers/{id}")
    assert (chart["type"], chart["axes"], chart["equal_scale"]) == ("scatter", False, True)
    assert chart["link"] == "/admin/customers/{id}" and chart["tip"] == "Customer #{id}"
    assert chart["title"] == "5 customers by their Customer2Vec embedding, coloured by RFM segment"
    assert [(d["label"], d["colour"]) for d in chart["datasets"]] == [
        ("Champions (2)", f"--seg-{segment_map.SEGMENT_COLOURS['Champions']}"),
        ("Lost (2)", f"--seg-{segment_map.SEGMENT_COLOURS['Lost']}"),
        ("none (1)", "--muted"),
    ]
    assert chart["datasets"][0]["data"][1] == {"x": points.groups[0].xy[1][0], "y": points.groups[0].xy[1][1], "id": "4"}


def test_a_big_shop_is_thinned_evenly_and_always_the_same_way():
    segments = _Segments(segment_map.MAX_POINTS * 3, {})
    first, again = segment_map.customer_map(segments), segment_map.customer_map(segments)
    assert (first.shown, first.total) == (segment_map.MAX_POINTS, segment_map.MAX_POINTS * 3)
    (group,) = first.groups
    assert group.customer_ids[0] == "1" and group.customer_ids[-1] == str(segment_map.MAX_POINTS * 3)
    assert group.customer_ids == again.groups[0].customer_ids

"""The admin's customer map as data: the 2-D projection of the Customer2Vec embeddings (computed
in training, PCA by default), one group of points per RFM segment or per k-means cluster.

Only the points: the page draws them with Chart.js (``storefront.admin.charts.customer_map_chart``
turns a :class:`CustomerMap` into the chart's JSON, ``static/js/dashboard.js`` draws it with one
scale on both axes, so the picture does not stretch distances in one direction). Positions stay
in the projection's own units. Large shops are thinned to ``MAX_POINTS`` evenly spaced customers,
deterministically, so the page stays light and the same version always draws the same map.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ml.segments.rfm import SEGMENTS

if TYPE_CHECKING:
    from ml.segments import SegmentsResult

#: What the points can be coloured by: RFM segment, or the k-means clusters of either space.
COLOURINGS = {
    "segment": "RFM segment",
    "embedding_cluster": "k-means cluster of the embeddings",
    "feature_cluster": "k-means cluster of the RFM + spend-share features",
}
DEFAULT_COLOURING = "segment"
#: Each RFM segment keeps its colour on every page and map, whichever segments are present.
SEGMENT_COLOURS = {name: i for i, name in enumerate(SEGMENTS)}
MAX_POINTS = 2000
PALETTE_SIZE = 10  # colours --seg-0 .. --seg-9 in static/css/admin.css
PRECISION = 10_000  # positions are rounded to 1/PRECISION of the cloud's extent (plenty for a chart)


@dataclass(frozen=True)
class MapGroup:
    """The customers of one segment or cluster: a dataset of the scatter and a legend entry."""

    label: str
    colour: int | None  # index into the segment palette; None: grey (customers without a segment)
    customer_ids: list[str]
    xy: list[tuple[float, float]]

    @property
    def customers(self) -> int:
        return len(self.customer_ids)


@dataclass(frozen=True)
class CustomerMap:
    groups: list[MapGroup]  # legend order; groups without a shown customer are left out
    method: str  # the projection: pca, tsne or identity
    colouring: str
    shown: int
    total: int


def _groups(segments: SegmentsResult, colouring: str, ids: np.ndarray) -> tuple[list[str], list[str]]:
    """(group label of each customer in ``ids``, every group label in legend order)."""
    if colouring == "segment":
        labels = [segments.segment_of(c) or "none" for c in ids]
        return labels, [s for s in SEGMENTS if s in set(labels)] + (["none"] if "none" in labels else [])
    if colouring == "embedding_cluster":
        clusters = segments.embedding_clusters.labels[[segments.embeddings.index_of(c) for c in ids]]
    else:
        clusters = np.array([segments.cluster_of(c) for c in ids])
    labels = [f"Cluster {int(k) + 1}" for k in clusters]
    return labels, [f"Cluster {k + 1}" for k in range(int(clusters.max()) + 1 if len(clusters) else 0)]


def _decimals(xy: np.ndarray) -> int:
    """Enough decimals to place a point to 1/PRECISION of the larger extent of the cloud."""
    extent = float(np.ptp(xy, axis=0).max()) if len(xy) else 0.0
    return max(0, math.ceil(math.log10(PRECISION / extent))) if extent > 0 else 0


def customer_map(segments: SegmentsResult, colouring: str = DEFAULT_COLOURING) -> CustomerMap | None:
    """Every customer with a vector (thinned above ``MAX_POINTS``), grouped; None if there are none."""
    colouring = colouring if colouring in COLOURINGS else DEFAULT_COLOURING
    projection = segments.projection
    total = len(projection.customer_ids)
    if total == 0:
        return None
    keep = np.linspace(0, total - 1, min(total, MAX_POINTS)).round().astype(int)
    ids = projection.customer_ids[keep]
    xy = np.asarray(projection.xy, dtype=np.float64)[keep]
    xy = np.round(xy, _decimals(xy))
    labels, order = _groups(segments, colouring, ids)
    colour_of = (SEGMENT_COLOURS if colouring == "segment"
                 else {name: i % PALETTE_SIZE for i, name in enumerate(order)})
    members: dict[str, list[int]] = {name: [] for name in order}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    groups = [
        MapGroup(name, colour_of.get(name), [str(ids[i]) for i in rows],
                 [(float(xy[i, 0]), float(xy[i, 1])) for i in rows])
        for name, rows in members.items() if rows
    ]
    return CustomerMap(groups, projection.method, colouring, len(keep), total)

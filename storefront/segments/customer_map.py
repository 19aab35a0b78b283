"""Geometry of the admin's customer map: the 2-D projection of the Customer2Vec embeddings
(computed in training, PCA by default) as points of a server-side SVG, coloured by RFM segment
or by k-means cluster, with a legend. No JavaScript: the template only draws what this returns.

Both axes share one scale, so the picture does not stretch distances in one direction (PCA
distances are meaningful; a squashed axis would suggest groups that are not there). Large
shops are thinned to ``MAX_POINTS`` evenly spaced customers, deterministically, so the page
stays light and the same version always draws the same map.
"""
from __future__ import annotations

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
PALETTE_SIZE = 10  # colour classes .seg-0 .. .seg-9 in static/css/admin.css


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    colour: int  # index of the colour class
    customer_id: str
    label: str  # the tooltip


@dataclass(frozen=True)
class LegendEntry:
    colour: int
    label: str
    customers: int


@dataclass(frozen=True)
class CustomerMap:
    width: int
    height: int
    points: list[MapPoint]
    legend: list[LegendEntry]
    method: str
    colouring: str
    shown: int
    total: int


def _groups(segments: SegmentsResult, colouring: str, ids: np.ndarray) -> tuple[list[str], list[str]]:
    """(group label of each customer in ``ids``, every group label in legend order)."""
    if colouring == "segment":
        labels = [segments.segment_of(c) or "none" for c in ids]
        return labels, [s for s in SEGMENTS if s in set(labels)]
    if colouring == "embedding_cluster":
        clusters = segments.embedding_clusters.labels[[segments.embeddings.index_of(c) for c in ids]]
    else:
        clusters = np.array([segments.cluster_of(c) for c in ids])
    labels = [f"Cluster {int(k) + 1}" for k in clusters]
    return labels, [f"Cluster {k + 1}" for k in range(int(clusters.max()) + 1 if len(clusters) else 0)]


def customer_map(segments: SegmentsResult, colouring: str = DEFAULT_COLOURING,
                 width: int = 720, heights: tuple[int, int] = (320, 560), pad: int = 16) -> CustomerMap | None:
    """The map of every customer with a vector (thinned above ``MAX_POINTS``); None if empty.
    The height follows the cloud's aspect ratio within ``heights``, so it fills the frame."""
    colouring = colouring if colouring in COLOURINGS else DEFAULT_COLOURING
    projection = segments.projection
    total = len(projection.customer_ids)
    if total == 0:
        return None
    keep = np.linspace(0, total - 1, min(total, MAX_POINTS)).round().astype(int)
    ids = projection.customer_ids[keep]
    xy = np.asarray(projection.xy, dtype=np.float64)[keep]
    low, span = xy.min(axis=0), np.ptp(xy, axis=0)
    aspect = span[1] / span[0] if span[0] > 0 else 1.0
    height = int(min(max((width - 2 * pad) * aspect + 2 * pad, heights[0]), heights[1]))
    scale = min((width - 2 * pad) / span[0] if span[0] > 0 else np.inf,
                (height - 2 * pad) / span[1] if span[1] > 0 else np.inf)
    scale = 1.0 if not np.isfinite(scale) else scale
    # centre the cloud in the frame; y grows downwards in SVG, so flip it
    offset = (np.array([width, height]) - span * scale) / 2
    x = offset[0] + (xy[:, 0] - low[0]) * scale
    y = height - (offset[1] + (xy[:, 1] - low[1]) * scale)
    labels, order = _groups(segments, colouring, ids)
    colour_of = (SEGMENT_COLOURS if colouring == "segment"
                 else {name: i % PALETTE_SIZE for i, name in enumerate(order)})
    points = [
        MapPoint(float(px), float(py), colour_of.get(label, 0), str(cid), f"Customer #{cid}: {label}")
        for px, py, cid, label in zip(x, y, ids, labels)
    ]
    counts = {name: 0 for name in order}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    legend = [LegendEntry(colour_of[name], name, counts[name]) for name in order]
    return CustomerMap(width, height, points, legend, projection.method, colouring, len(points), total)

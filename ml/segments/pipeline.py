"""The segments job: orders in, RFM segments, k-means segments, Customer2Vec neighbours, a 2-D
map and the offline comparison out, as one :class:`SegmentsResult`.

It runs inside the shop's training job (a two-minute budget for everything), so every step is
cheap: on the demo shop (about 1,400 orders) the whole job takes a few seconds, most of it
the two Doc2Vec fits (all orders, and the orders before the comparison's cut-off).

Typical use, next to the recommender models of a new version::

    result = train_segments(orders, lines, products, reference_time=now)
    files = save(result, version_dir)      # ["segments.npz", "segments.json"]
    ...
    served = load(version_dir)
    served.customers_like_you_also_bought("cust-000042", n=10, exclude_items=cart)
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import DEFAULT_K, SEED
from ml.data.timeutil import to_utc_timestamp
from ml.segments.clusters import DEFAULT_K_RANGE
from ml.segments.comparison import compare_neighbourhoods
from ml.segments.customer2vec import Customer2VecParams
from ml.segments.frames import (
    CREATED_COL,
    CUSTOMER_COL,
    PRODUCT_COL,
    prepare_lines,
    prepare_orders,
    prepare_products,
)
from ml.segments.projection import project
from ml.segments.result import ALL_CUSTOMERS, SegmentsResult
from ml.segments.scoring import purchase_matrix, rank_items
from ml.segments.spaces import fit_spaces
from ml.segments.storage import load, save

log = logging.getLogger(__name__)

__all__ = ["SegmentsConfig", "load", "save", "train_segments"]


@dataclass(frozen=True)
class SegmentsConfig:
    """Settings of the segments job.

    ``n_neighbours``: how many nearest customers vote in "customers like you also bought" (and
    in the comparison). On the sparse demo shop 100 clearly beat 20 (each neighbour bought
    only one or two products, so few neighbours give a thin, noisy vote); 200 was no better.
    ``compare``: run the offline comparison (a second fit on the orders before the cut-off
    that leaves the last ``test_fraction`` of the time span for testing).
    """

    customer2vec: Customer2VecParams = field(default_factory=Customer2VecParams)
    k_range: tuple[int, ...] = DEFAULT_K_RANGE
    n_neighbours: int = 100
    compare: bool = True
    test_fraction: float = 0.2
    k: int = DEFAULT_K
    projection: Literal["pca", "tsne"] = "pca"
    best_sellers: int = 50
    seed: int = SEED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (tuples as lists, so a JSON round trip gives the same dict)."""
        data = asdict(self)
        data["k_range"] = list(self.k_range)
        return data


def _best_sellers(
    purchases: sp.csr_matrix, segments: np.ndarray, n: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per RFM segment (and for everyone) the ``n`` products most of its customers bought."""
    popularity = np.asarray(purchases.sum(axis=0)).ravel()
    groups = {ALL_CUSTOMERS: np.ones(len(segments), dtype=bool)}
    groups.update({str(s): segments == s for s in np.unique(segments)})
    result = {}
    for name, mask in groups.items():
        counts = np.asarray(purchases[np.flatnonzero(mask)].sum(axis=0)).ravel()
        top = rank_items(np.where(counts > 0, counts, -np.inf), popularity, n)
        result[name] = (top.astype(np.int64), counts[top].astype(np.float32))
    return result


def train_segments(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    products: pd.DataFrame,
    reference_time: object | None = None,
    config: SegmentsConfig = SegmentsConfig(),
) -> SegmentsResult:
    """Compute every segment artifact from the shop's orders (see :mod:`ml.segments.frames`
    for the columns). ``reference_time`` (default: the last order's time) is "now" for RFM
    recency; orders after it are ignored."""
    started = time.perf_counter()
    lines = prepare_lines(lines)
    orders = prepare_orders(orders, lines)
    products = prepare_products(products)
    if orders.empty:
        raise ValueError("there are no orders to segment")
    reference = (orders[CREATED_COL].max() if reference_time is None
                 else to_utc_timestamp(reference_time))
    orders = orders[orders[CREATED_COL] <= reference]
    if orders.empty:
        raise ValueError(f"there are no orders before the reference time {reference}")
    spaces = fit_spaces(orders, lines, products, reference, config.customer2vec,
                        config.k_range, config.seed)
    timings = dict(spaces.timings)

    step = time.perf_counter()
    customers = np.asarray(spaces.rfm.index).astype(str)
    order_lines = spaces.order_lines
    items = np.sort(pd.unique(order_lines[PRODUCT_COL].astype(str).to_numpy()))
    purchases = purchase_matrix(
        order_lines[CUSTOMER_COL], order_lines[PRODUCT_COL], customers, items
    )
    best = _best_sellers(purchases, spaces.rfm["segment"].to_numpy(), config.best_sellers)
    timings["serving_arrays"] = time.perf_counter() - step

    step = time.perf_counter()
    projection = project(spaces.embeddings.customer_ids, spaces.embeddings.vectors,
                         config.projection, config.seed)
    timings["projection"] = time.perf_counter() - step

    comparison: dict[str, Any] = {"skipped": "disabled by the config"}
    if config.compare:
        step = time.perf_counter()
        comparison = compare_neighbourhoods(
            orders, lines, products, params=config.customer2vec, k_range=config.k_range,
            n_neighbours=config.n_neighbours, k=config.k, test_fraction=config.test_fraction,
            seed=config.seed,
        )
        timings["comparison"] = time.perf_counter() - step
    timings["total"] = time.perf_counter() - started
    log.info("segments: %d customers, %d with vectors, %.1fs", len(customers),
             len(spaces.embeddings), timings["total"])
    return SegmentsResult(
        rfm=spaces.rfm, feature_columns=spaces.features.columns,
        feature_clusters=spaces.feature_clusters, embeddings=spaces.embeddings,
        embedding_clusters=spaces.embedding_clusters, projection=projection, item_ids=items,
        purchases=purchases, best_sellers=best, comparison=comparison,
        reference_time=reference.isoformat(), config=config.to_dict(), timings=timings,
    )

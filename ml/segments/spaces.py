"""Both customer spaces fitted on one set of orders: the RFM + spend-share features with their
k-means segments, and the Customer2Vec embeddings with theirs.

One function builds them so that the published model (all orders) and the offline comparison
(orders before a cut-off) are guaranteed to be built the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from ml.constants import SEED
from ml.segments import customer2vec
from ml.segments.clusters import DEFAULT_K_RANGE, ClusterResult, kmeans_by_silhouette
from ml.segments.customer2vec import Customer2VecModel, Customer2VecParams
from ml.segments.features import CustomerFeatures, build_features
from ml.segments.frames import CATEGORY_COL, CREATED_COL, PRODUCT_COL, join_lines
from ml.segments.rfm import compute_rfm

log = logging.getLogger(__name__)

__all__ = ["Spaces", "fit_spaces"]


@dataclass
class Spaces:
    """``rfm`` (per customer), the ``features`` and their ``feature_clusters``, the
    ``embeddings`` and their ``embedding_clusters``, the joined ``order_lines`` used, and the
    seconds each step took."""

    rfm: pd.DataFrame
    features: CustomerFeatures
    feature_clusters: ClusterResult
    embeddings: Customer2VecModel
    embedding_clusters: ClusterResult
    order_lines: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)


def fit_spaces(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    products: pd.DataFrame,
    reference_time: pd.Timestamp,
    params: Customer2VecParams = Customer2VecParams(),
    k_range: Sequence[int] = DEFAULT_K_RANGE,
    seed: int = SEED,
) -> Spaces:
    """Fit everything on the ``orders`` up to ``reference_time`` (prepared frames, see
    :mod:`ml.segments.frames`): RFM, features, k-means on features, Customer2Vec, k-means on
    the embeddings."""
    timings: dict[str, float] = {}
    start = time.perf_counter()
    orders = orders[orders[CREATED_COL] <= reference_time]
    order_lines = join_lines(orders, lines)
    rfm = compute_rfm(orders, reference_time)
    features = build_features(order_lines, products, rfm)
    timings["features"] = time.perf_counter() - start

    start = time.perf_counter()
    feature_clusters = kmeans_by_silhouette(features.matrix, k_range, seed=seed)
    timings["kmeans_features"] = time.perf_counter() - start

    start = time.perf_counter()
    categories = dict(zip(products[PRODUCT_COL], products[CATEGORY_COL]))
    embeddings = customer2vec.fit(order_lines, params, categories)
    timings["customer2vec"] = time.perf_counter() - start

    start = time.perf_counter()
    embedding_clusters = kmeans_by_silhouette(embeddings.vectors, k_range, seed=seed)
    timings["kmeans_embeddings"] = time.perf_counter() - start
    return Spaces(
        rfm, features, feature_clusters, embeddings, embedding_clusters, order_lines, timings
    )

"""What :func:`ml.segments.train_segments` returns, how it is served and how it is stored.

Serving needs numpy and scipy only (no gensim, no scikit-learn): the customer vectors, the
binary customers x products purchase matrix and the per-segment best sellers are plain arrays.
On disk a result is two files in a directory the caller chooses (normally the model version
directory published by :mod:`ml.registry`): ``segments.npz`` (arrays; loaded with
``allow_pickle=False``) and ``segments.json`` (parameters, metrics, summaries).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.segments.clusters import ClusterResult
from ml.segments.customer2vec import Customer2VecModel
from ml.segments.projection import Projection
from ml.segments.rfm import segment_sizes
from ml.segments.scoring import knn_weights, rank_items

__all__ = ["ALL_CUSTOMERS", "SegmentsResult"]

#: The pseudo-segment whose best sellers are the whole shop's (fallback for unknown segments).
ALL_CUSTOMERS = "all"


@dataclass
class SegmentsResult:
    """Everything the segments job produced.

    Row alignment: ``rfm`` (indexed by customer id, sorted), ``feature_clusters.labels`` and
    the rows of ``purchases`` follow the same customers; ``embedding_clusters.labels`` and
    ``projection.xy`` follow ``embeddings.customer_ids``. ``best_sellers`` maps each RFM segment
    (and :data:`ALL_CUSTOMERS`) to (product ids, number of its customers who bought each).
    """

    rfm: pd.DataFrame
    feature_columns: tuple[str, ...]
    feature_clusters: ClusterResult
    embeddings: Customer2VecModel
    embedding_clusters: ClusterResult
    projection: Projection
    item_ids: np.ndarray
    purchases: sp.csr_matrix
    best_sellers: dict[str, tuple[np.ndarray, np.ndarray]]
    comparison: dict[str, Any]
    reference_time: str
    config: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._customers = pd.Index(np.asarray(self.rfm.index).astype(str))
        self._items = pd.Index(np.asarray(self.item_ids).astype(str))
        popularity = np.asarray(self.purchases.sum(axis=0)).ravel()
        self._popularity = popularity
        self._embedding_rows = self._customers.get_indexer(self.embeddings.customer_ids)

    # ----------------------------------------------------------------- serving
    @property
    def n_neighbours(self) -> int:
        return int(self.config.get("n_neighbours", 100))

    def neighbours(self, customer_id: object, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` customers most similar to ``customer_id`` (cosine, best first); ``[]``
        for a customer without a vector."""
        return self.embeddings.nearest(customer_id, n)

    def customers_like_you_also_bought(
        self,
        customer_id: object,
        n: int = 10,
        exclude_items: Iterable[object] = (),
        exclude_own: bool = True,
    ) -> list[tuple[str, float]]:
        """Products bought by the customer's ``n_neighbours`` nearest customers, each scored by
        the summed similarity of the neighbours who bought it, best first, as (product id,
        score). ``exclude_items`` (e.g. the cart) and, with ``exclude_own``, what the customer
        already bought are left out. Only products some neighbour bought are returned, so an
        empty or short list tells the caller to fall back (:meth:`segment_best_sellers`)."""
        own = self.embeddings.index_of(customer_id)
        if own < 0 or n <= 0:
            return []
        weights = np.zeros(len(self._customers))
        sims = self.embeddings.vectors @ self.embeddings.vectors[own]
        weights[self._embedding_rows] = knn_weights(sims, own, self.n_neighbours)
        scores = np.asarray(self.purchases.T @ weights).ravel()
        excluded = set(self._items.get_indexer([str(i) for i in exclude_items]).tolist()) - {-1}
        if exclude_own:
            excluded |= set(self.purchases[self._embedding_rows[own]].indices.tolist())
        scores[scores <= 0] = -np.inf
        top = rank_items(scores, self._popularity, n, excluded)
        return [(str(self._items[i]), float(scores[i])) for i in top]

    def segment_of(self, customer_id: object) -> str | None:
        """The customer's RFM segment, or None for a customer without orders."""
        row = self._customers.get_indexer([str(customer_id)])[0]
        return None if row < 0 else str(self.rfm["segment"].iloc[row])

    def cluster_of(self, customer_id: object) -> int | None:
        """The customer's k-means segment on the baseline features, or None."""
        row = self._customers.get_indexer([str(customer_id)])[0]
        return None if row < 0 else int(self.feature_clusters.labels[row])

    def segment_best_sellers(self, segment: str | None, n: int = 10) -> list[str]:
        """The products most customers of ``segment`` bought; the whole shop's best sellers
        for None or an unknown or empty segment (so there is always an answer)."""
        items, _ = self.best_sellers.get(segment or ALL_CUSTOMERS, (np.empty(0, np.int64), None))
        if len(items) == 0:
            items, _ = self.best_sellers.get(ALL_CUSTOMERS, (np.empty(0, np.int64), None))
        return [str(self._items[i]) for i in items[:n]]

    # ----------------------------------------------------------------- reporting
    def summary(self) -> dict[str, Any]:
        """JSON-ready record: sizes, segment sizes, both silhouettes, the comparison, timings."""
        return {
            "reference_time": self.reference_time,
            "data": {
                "customers": len(self._customers),
                "customers_with_vectors": len(self.embeddings),
                "products": len(self._items),
            },
            "rfm_segments": segment_sizes(self.rfm),
            "feature_clusters": self.feature_clusters.summary(),
            "embedding_clusters": self.embedding_clusters.summary(),
            "projection": self.projection.method,
            "comparison": self.comparison,
            "timings": self.timings,
            "config": self.config,
        }

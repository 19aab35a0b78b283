"""Turning neighbours into product recommendations: shared by the offline comparison and by
serving, so what is measured is exactly what is served.

A neighbourhood is a weight per other customer (cosine similarity for Customer2Vec
neighbours, 1 for members of the same cluster, nothing for popularity). An item's score is the
sum of the weights of the neighbours who bought it (each neighbour counts once per item, so a
single heavy buyer cannot dominate). Items are ranked by (score, popularity, item index), so
when the neighbours bought fewer than ``n`` products the list is filled by popularity, the way
the shop's widgets always render a full list.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["knn_weights", "purchase_matrix", "rank_items"]


def purchase_matrix(
    customers: pd.Series, products: pd.Series, customer_ids: np.ndarray, item_ids: np.ndarray
) -> sp.csr_matrix:
    """Binary customers x items matrix (float32): 1 where the customer ever bought the item.

    ``customers``/``products`` are aligned columns of order lines; pairs whose customer or item
    is not in ``customer_ids``/``item_ids`` (both sorted unicode arrays) are dropped.
    """
    rows = pd.Index(customer_ids).get_indexer(customers.astype(str))
    cols = pd.Index(item_ids).get_indexer(products.astype(str))
    keep = (rows >= 0) & (cols >= 0)
    matrix = sp.csr_matrix(
        (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
        shape=(len(customer_ids), len(item_ids)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def knn_weights(similarities: np.ndarray, self_row: int, n_neighbours: int) -> np.ndarray:
    """A weight vector over customers: the ``n_neighbours`` most similar (excluding
    ``self_row``; -1 for none) keep their similarity clipped at 0, all others get 0."""
    sims = np.asarray(similarities, dtype=np.float64).copy()
    if self_row >= 0:
        sims[self_row] = -np.inf
    n = min(n_neighbours, len(sims) - (1 if self_row >= 0 else 0))
    weights = np.zeros(len(sims))
    if n <= 0:
        return weights
    top = np.argpartition(-sims, n - 1)[:n]
    weights[top] = np.clip(sims[top], 0.0, None)
    return weights


def rank_items(
    scores: np.ndarray,
    popularity: np.ndarray,
    n: int,
    exclude: Iterable[int] = (),
) -> np.ndarray:
    """Indices of the top ``n`` items by (score, popularity, index), ``exclude`` left out."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    excluded = np.fromiter((int(i) for i in exclude), dtype=np.int64)
    scores[excluded[(excluded >= 0) & (excluded < len(scores))]] = -np.inf
    order = np.lexsort((np.arange(len(scores)), -np.asarray(popularity, dtype=np.float64), -scores))
    order = order[np.isfinite(scores[order])]
    return order[:n]

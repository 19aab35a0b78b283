"""A 2-D map of the customer embeddings, for the admin's segment chart.

PCA is the default: linear, deterministic, milliseconds even for many customers, and its axes
mean the same thing from one run to the next. t-SNE draws tighter, more readable groups but is
quadratic-ish, seed-dependent in layout and misleading about distances between groups, so it
is only used on request and only up to ``tsne_max`` customers (otherwise PCA is returned and
``method`` says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from ml.constants import SEED

__all__ = ["Projection", "project"]

Method = Literal["pca", "tsne"]


@dataclass(frozen=True)
class Projection:
    """``xy[i]`` (float32, 2 columns) is the position of ``customer_ids[i]``."""

    customer_ids: np.ndarray
    xy: np.ndarray
    method: str


def project(
    customer_ids: np.ndarray,
    vectors: np.ndarray,
    method: Method = "pca",
    seed: int = SEED,
    tsne_max: int = 3000,
) -> Projection:
    """Project ``vectors`` (one row per customer) to 2-D with PCA or (small sets) t-SNE."""
    from sklearn.decomposition import PCA  # training only: serving loads results without scikit-learn
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = np.asarray(vectors, dtype=np.float64)
    ids = np.asarray(customer_ids).astype(str)
    n = x.shape[0]
    if method not in ("pca", "tsne"):
        raise ValueError(f"unknown projection method {method!r}")
    if n < 2 or x.shape[1] < 2:
        xy = np.zeros((n, 2))
        xy[:, : min(x.shape[1], 2)] = x[:, :2] if n else 0.0
        return Projection(ids, xy.astype(np.float32), "identity")
    if method == "tsne" and 4 <= n <= tsne_max:
        perplexity = float(min(30.0, (n - 1) / 3.0))
        tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
        with threadpool_limits(limits=1):  # small inputs: threads cost more than they save
            xy = tsne.fit_transform(x)
        return Projection(ids, xy.astype(np.float32), "tsne")
    xy = PCA(n_components=2, random_state=seed).fit_transform(x)
    return Projection(ids, xy.astype(np.float32), "pca")

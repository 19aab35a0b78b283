"""k-means segments with k chosen by the silhouette score, for any customer representation.

The same selection runs on the baseline features (:mod:`ml.segments.features`) and on the
Customer2Vec embeddings, so the two spaces can be compared on equal terms. Silhouettes of
different spaces are not strictly comparable (dimension and scale differ), but both say how
well separated the best k-means partition of each space is, on the same [-1, 1] scale.

Why silhouette: it needs no labels and penalises both too few clusters (loose clusters) and
too many (close neighbours in other clusters). Every fit is seeded (``random_state``), and
above ``silhouette_sample`` customers the score is computed on a seeded sample, since the
exact score is quadratic in the number of customers. The fits run single-threaded: on a few
thousand customers OpenMP's thread start-up and spinning cost far more than they save (measured
about 20x slower with two threads on a busy two-core host), and the job shares its machine with
the web workers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ml.constants import SEED

log = logging.getLogger(__name__)

__all__ = ["ClusterResult", "choose_k", "kmeans_by_silhouette"]

DEFAULT_K_RANGE: tuple[int, ...] = tuple(range(2, 11))


@dataclass(frozen=True)
class ClusterResult:
    """The chosen partition: ``labels[i]`` of row ``i``, ``centroids`` (k x dims), the chosen
    ``k``, its ``silhouette``, and the silhouette of every k tried (``silhouettes``)."""

    k: int
    labels: np.ndarray
    centroids: np.ndarray
    silhouette: float
    silhouettes: dict[int, float] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        """JSON-ready: k, silhouette, silhouette per k (string keys) and cluster sizes."""
        return {
            "k": self.k,
            "silhouette": self.silhouette,
            "silhouettes": {str(k): v for k, v in self.silhouettes.items()},
            "sizes": np.bincount(self.labels, minlength=self.k).tolist() if self.k else [],
        }


def choose_k(silhouettes: dict[int, float]) -> int:
    """The k with the highest silhouette; the smaller k on (near) ties, the simpler model."""
    best = max(silhouettes.values())
    return min(k for k, s in silhouettes.items() if s >= best - 1e-9)


def _fit_one(
    x: np.ndarray, k: int, seed: int, n_init: int, sample: int,
    silhouettes: dict[int, float], fits: dict[int, Any],
) -> None:
    """Fit k-means with ``k`` clusters and record its silhouette (skipped if it collapsed)."""
    from sklearn.cluster import KMeans  # training only: serving loads results without scikit-learn
    from sklearn.metrics import silhouette_score

    model = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
    if len(np.unique(model.labels_)) < 2:
        return
    sample_size = sample if sample < x.shape[0] else None
    score = silhouette_score(x, model.labels_, sample_size=sample_size, random_state=seed)
    silhouettes[k] = float(score)
    fits[k] = model


def kmeans_by_silhouette(
    matrix: np.ndarray,
    k_range: Iterable[int] = DEFAULT_K_RANGE,
    seed: int = SEED,
    n_init: int = 4,
    silhouette_sample: int = 3000,
) -> ClusterResult:
    """Fit k-means for each k in ``k_range`` (limited to 2..n-1) and keep the best silhouette.

    With fewer than 3 distinct rows no k is valid: everyone goes to one cluster (k = 1,
    silhouette 0), so callers always get labels.
    """
    x = np.asarray(matrix, dtype=np.float64)
    n = x.shape[0]
    n_distinct = len(np.unique(x, axis=0)) if n else 0
    ks = sorted({int(k) for k in k_range if 2 <= int(k) <= min(n - 1, n_distinct)})
    if not ks:
        centroid = x.mean(axis=0, keepdims=True) if n else np.zeros((1, x.shape[1]))
        return ClusterResult(1, np.zeros(n, dtype=np.int32), centroid, 0.0, {})
    sample = min(n, silhouette_sample)
    silhouettes: dict[int, float] = {}
    from threadpoolctl import threadpool_limits

    fits: dict[int, Any] = {}
    with threadpool_limits(limits=1):
        for k in ks:
            _fit_one(x, k, seed, n_init, sample, silhouettes, fits)
    if not silhouettes:
        return ClusterResult(1, np.zeros(n, dtype=np.int32), x.mean(axis=0, keepdims=True), 0.0, {})
    k = choose_k(silhouettes)
    log.info("k-means: k=%d (silhouette %.3f) of %s", k, silhouettes[k], ks)
    best = fits[k]
    return ClusterResult(
        k, best.labels_.astype(np.int32), best.cluster_centers_.astype(np.float32),
        silhouettes[k], silhouettes,
    )

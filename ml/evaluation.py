"""Offline ranking metrics as pure functions with one signature.

Like the recommenders project, every accuracy metric is ``metric(recommended, relevant, k)``:

- ``recommended``: one ranked sequence of item indices per user (best first);
- ``relevant``: one set of held-out item indices per user, aligned with ``recommended``;
- ``k``: the cut-off; only the first ``k`` recommendations count.

Conventions shared by all of them (so the numbers of different models are comparable):

- Users with no relevant items are skipped: they cannot be hit, and counting them as 0 would
  only rescale every model's score by the same factor. When no user is left, the result is 0.0.
- A repeated item in a recommendation list counts once (at its first position).
- Lists shorter than ``k`` are not padded: precision still divides by ``k``.

Scores are averaged over users (macro average). :func:`evaluate_model` runs a model on a
train/test matrix pair and returns all metrics in a dict.
"""

from __future__ import annotations

import math
from typing import AbstractSet, Callable, Protocol, Sequence

import numpy as np
import scipy.sparse as sp

from ml.constants import DEFAULT_K

#: One ranked list of item indices per user, best first.
Ranked = Sequence[Sequence[int]]
#: One set of relevant (held-out) item indices per user, aligned with ``Ranked``.
Relevant = Sequence[AbstractSet[int]]


def _check_inputs(recommended: Sequence, relevant: Sequence, k: int) -> None:
    if k <= 0:
        raise ValueError("k must be a positive integer")
    if len(recommended) != len(relevant):
        raise ValueError(
            f"recommended has {len(recommended)} users but relevant has {len(relevant)}"
        )


def _hit_positions(row: Sequence[int], relevant: set[int], k: int) -> list[int]:
    """1-based ranks (within the first ``k``) of the distinct recommended items that hit."""
    seen: set[int] = set()
    ranks = []
    for rank, item in enumerate(list(row)[:k], start=1):
        item = int(item)
        if item in seen:
            continue
        seen.add(item)
        if item in relevant:
            ranks.append(rank)
    return ranks


def _mean_over_users(
    recommended: Ranked,
    relevant: Relevant,
    k: int,
    per_user: Callable[[list[int], int], float],
) -> float:
    """Average ``per_user(hit ranks, number relevant)`` over users with a relevant item."""
    _check_inputs(recommended, relevant, k)
    values = [
        per_user(_hit_positions(row, set(rel), k), len(rel))
        for row, rel in zip(recommended, relevant)
        if len(rel) > 0
    ]
    return float(np.mean(values)) if values else 0.0


def precision_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Mean of ``hits / k``. Range [0, 1]; below 1 when a user has fewer than k relevant items."""
    return _mean_over_users(recommended, relevant, k, lambda hits, n: len(hits) / k)


def recall_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Mean of ``hits / |relevant|``. Range [0, 1]."""
    return _mean_over_users(recommended, relevant, k, lambda hits, n: len(hits) / n)


def hit_rate_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Fraction of users with at least one hit in the top k. Range [0, 1]."""
    return _mean_over_users(recommended, relevant, k, lambda hits, n: float(bool(hits)))


def mrr_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Mean reciprocal rank of the first hit (0 without a hit in the top k). Range [0, 1]."""
    return _mean_over_users(
        recommended, relevant, k, lambda hits, n: 1.0 / hits[0] if hits else 0.0
    )


def _ndcg(hits: list[int], n_relevant: int, k: int) -> float:
    dcg = sum(1.0 / math.log2(rank + 1) for rank in hits)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, n_relevant) + 1))
    return dcg / ideal


def ndcg_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Normalised DCG with binary gains: ``sum_hits 1/log2(rank+1)`` over the ideal DCG of
    ``min(k, |relevant|)`` hits at the top. Range [0, 1]; 1 means all top slots are hits."""
    return _mean_over_users(recommended, relevant, k, lambda hits, n: _ndcg(hits, n, k))


def _average_precision(hits: list[int], n_relevant: int, k: int) -> float:
    precisions = [count / rank for count, rank in enumerate(hits, start=1)]
    return sum(precisions) / min(k, n_relevant)


def map_at_k(recommended: Ranked, relevant: Relevant, k: int) -> float:
    """Mean average precision: per user, the sum of precision@i at each hit rank i <= k,
    divided by ``min(k, |relevant|)``. Range [0, 1]."""
    return _mean_over_users(
        recommended, relevant, k, lambda hits, n: _average_precision(hits, n, k)
    )


def catalog_coverage(recommended: Ranked, n_items: int, k: int) -> float:
    """Share of the catalogue that appears in at least one user's top k. Range [0, 1].

    Measures how much of the catalogue a model ever surfaces (popularity scores near 0).
    """
    if n_items <= 0:
        raise ValueError("n_items must be positive")
    if k <= 0:
        raise ValueError("k must be a positive integer")
    shown = {int(item) for row in recommended for item in list(row)[:k]}
    return len(shown) / n_items


def novelty(recommended: Ranked, item_popularity: np.ndarray, k: int) -> float:
    """Mean self-information ``-log2 p(i)`` of the recommended items (top k of every user).

    ``item_popularity[i]`` is ``p(i)``, the probability that a user knows item ``i`` (e.g. the
    share of training users who interacted with it, see :func:`item_probabilities`); it must be
    in (0, 1] for every recommended item. Range [0, inf): 0 when only items everyone knows are
    recommended; higher means less obvious suggestions. Empty input gives 0.0.
    """
    if k <= 0:
        raise ValueError("k must be a positive integer")
    popularity = np.asarray(item_popularity, dtype=np.float64)
    items = np.asarray([int(i) for row in recommended for i in list(row)[:k]], dtype=np.int64)
    if items.size == 0:
        return 0.0
    p = popularity[items]
    if np.any(p <= 0) or np.any(p > 1):
        raise ValueError("item_popularity must be a probability in (0, 1] for recommended items")
    return float(np.mean(-np.log2(p)))


def item_probabilities(train_matrix: sp.spmatrix) -> np.ndarray:
    """``p(i)`` = share of users with a stored interaction with item ``i`` in ``train_matrix``.

    Items nobody interacted with are counted as known by one user, so their self-information is
    large but finite (a model may still rank such items, e.g. from random factors).
    """
    csc = sp.csc_matrix(train_matrix)
    csc.eliminate_zeros()
    counts = np.diff(csc.indptr).astype(np.float64)
    n_users = max(csc.shape[0], 1)
    return np.maximum(counts, 1.0) / n_users


class SupportsRecommendBatch(Protocol):
    """Anything with ``Recommender.recommend_batch`` (every model in ``ml.models``)."""

    def recommend_batch(
        self,
        userids: Sequence[int],
        user_items: sp.csr_matrix,
        N: int = DEFAULT_K,
        filter_already_liked_items: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-N item indices and scores per user, padded with item -1."""


METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "hit_rate": hit_rate_at_k,
    "mrr": mrr_at_k,
}


def evaluation_users(test_matrix: sp.spmatrix, max_users: int | None, seed: int) -> np.ndarray:
    """The users to evaluate: every user with a test interaction, or a seeded uniform sample of
    ``max_users`` of them (sorted) when there are more.

    Scoring a user costs a pass over every item (a 200k-item catalogue: ~1.5 ms), so the full
    Retailrocket holdout (hundreds of thousands of users) would take minutes per candidate; a
    sample of 10,000 users puts the standard error of NDCG@10 near 0.002, well below the gaps
    between candidates. The same users serve every candidate of a run, so the comparison is fair.
    """
    users = np.flatnonzero(np.diff(sp.csr_matrix(test_matrix).indptr) > 0)
    if max_users is None or len(users) <= max_users:
        return users
    picked = np.random.default_rng(seed).choice(len(users), size=max_users, replace=False)
    return users[np.sort(picked)]


def evaluate_model(
    model: SupportsRecommendBatch,
    train_matrix: sp.spmatrix,
    test_matrix: sp.spmatrix,
    k: int = DEFAULT_K,
    users: Sequence[int] | None = None,
    batch_size: int = 1024,
    per_user: dict[str, np.ndarray] | None = None,
) -> dict[str, float | int]:
    """Score a fitted model on held-out interactions; return every metric at ``k``.

    Both matrices are users x items over the same :class:`~ml.data.IdMap`. Each evaluated user
    (default: every user with a test interaction) gets the model's top ``k`` with their training
    items filtered out; their relevant set is their test items minus their training items (an
    item a model may not recommend cannot count against it). Keys: ``precision@k``,
    ``recall@k``, ``ndcg@k``, ``map@k``, ``hit_rate@k``, ``mrr@k``, ``coverage@k``,
    ``novelty@k`` and ``n_users`` (users with at least one relevant item). With ``per_user`` (a
    dict), ``per_user["ndcg@k"]`` receives each of those users' NDCG in ``users`` order: two
    models scored on the same users can then be compared pairwise (``ml.training.significance``).
    """
    train = sp.csr_matrix(train_matrix)
    test = sp.csr_matrix(test_matrix)
    if train.shape != test.shape:
        raise ValueError(f"train {train.shape} and test {test.shape} shapes differ")
    if users is None:
        users = np.flatnonzero(np.diff(test.indptr) > 0)
    users = np.asarray(users, dtype=np.int64)
    # Dense score blocks are users x items: bound them to about 2**24 values (~128 MB).
    batch_size = max(1, min(batch_size, 2**24 // max(train.shape[1], 1)))
    recommended: list[list[int]] = []
    relevant: list[set[int]] = []
    for start in range(0, len(users), batch_size):
        chunk = users[start : start + batch_size]
        ids, _ = model.recommend_batch(
            chunk, train[chunk], N=k, filter_already_liked_items=True
        )
        for row, user in zip(ids, chunk):
            recommended.append([int(i) for i in row if i >= 0])
            seen = set(train.indices[train.indptr[user] : train.indptr[user + 1]].tolist())
            test_items = test.indices[test.indptr[user] : test.indptr[user + 1]].tolist()
            relevant.append(set(test_items) - seen)
    results: dict[str, float | int] = {
        f"{name}@{k}": metric(recommended, relevant, k) for name, metric in METRICS.items()
    }
    results[f"coverage@{k}"] = catalog_coverage(recommended, train.shape[1], k)
    results[f"novelty@{k}"] = novelty(recommended, item_probabilities(train), k)
    results["n_users"] = sum(1 for rel in relevant if rel)
    if per_user is not None:
        per_user[f"ndcg@{k}"] = np.array([
            _ndcg(_hit_positions(row, rel, k), len(rel), k) for row, rel in zip(recommended, relevant) if rel
        ])
    return results

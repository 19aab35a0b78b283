"""Score one fitted candidate on the leave-one-out holdout: ranking metrics plus BU metrics.

Every candidate gets the same visitors, the same filtering (their training assets are never
suggested) and the same per-visitor values, so the overall numbers, the per-unit table and the
interaction-count breakdown of different models are directly comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data.interactions import build_interactions
from ml.evaluation import METRICS, catalog_coverage, item_probabilities, novelty
from ml.models.base import Recommender
from ml.resources.interactions import AssetData, scale_strength
from ml.resources.metrics import (
    by_count_bucket,
    by_unit,
    strongest_items,
    visitor_unit_hits,
)


@dataclass(frozen=True, eq=False)
class Holdout:
    """The evaluation visitors and what the metrics need to know about them.

    ``users``: rows with a hidden asset; ``relevant[v]``: the hidden asset of ``users[v]``;
    ``consumed[v]`` / ``strongest[v]``: their training assets / strongest training asset(s);
    ``counts[v]``: their number of distinct assets before the holdout (for the breakdown).
    """

    train_fit: sp.csr_matrix
    item_units: tuple[frozenset[str], ...]
    users: np.ndarray
    relevant: list[set[int]]
    consumed: list[set[int]]
    strongest: list[set[int]]
    counts: np.ndarray


def make_holdout(
    train_raw: sp.csr_matrix,
    train_fit: sp.csr_matrix,
    test_raw: sp.csr_matrix,
    item_units: tuple[frozenset[str], ...],
) -> Holdout:
    """Build the :class:`Holdout` from the raw train/test strengths and the fitting matrix."""
    test = sp.csr_matrix(test_raw)
    train = sp.csr_matrix(train_raw)
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    relevant = [set(test.indices[test.indptr[u] : test.indptr[u + 1]].tolist()) for u in users]
    consumed = [set(train.indices[train.indptr[u] : train.indptr[u + 1]].tolist()) for u in users]
    counts = np.asarray([len(r | c) for r, c in zip(relevant, consumed)], dtype=np.int64)
    return Holdout(
        train_fit, item_units, users, relevant, consumed, strongest_items(train, users), counts
    )


def holdout_from_events(train_events: pd.DataFrame, test_events: pd.DataFrame, data: AssetData,
                        scale: str) -> Holdout:
    """The :class:`Holdout` of a split of ``data.events`` (ids of ``data.id_map``), the models
    fitted on the ``scale``d training strengths."""
    train_raw, _ = build_interactions(train_events, id_map=data.id_map)
    test_raw, _ = build_interactions(test_events, id_map=data.id_map)
    return make_holdout(train_raw, scale_strength(train_raw, scale), test_raw, data.item_units)


def recommend_lists(model: Recommender, holdout: Holdout, k: int) -> list[list[int]]:
    """Top ``k`` per evaluation visitor, training assets filtered out."""
    train = holdout.train_fit
    lists: list[list[int]] = []
    batch = max(1, 2**22 // max(train.shape[1], 1))
    for start in range(0, len(holdout.users), batch):
        chunk = holdout.users[start : start + batch]
        ids, _ = model.recommend_batch(chunk, train[chunk], N=k, filter_already_liked_items=True)
        lists.extend([int(i) for i in row if i >= 0] for row in ids)
    return lists


def per_visitor(lists: list[list[int]], holdout: Holdout, k: int) -> dict[str, np.ndarray]:
    """Per-visitor hit, NDCG, BU hit and top hit values (NaN where a BU metric is undefined)."""
    hit = np.asarray([float(bool(set(row[:k]) & rel)) for row, rel in zip(lists, holdout.relevant)])
    ndcg = np.asarray(
        [METRICS["ndcg"]([row], [rel], k) for row, rel in zip(lists, holdout.relevant)]
    )
    return {
        f"hit_rate@{k}": hit,
        f"ndcg@{k}": ndcg,
        f"bu_hit_rate@{k}": visitor_unit_hits(lists, holdout.consumed, holdout.item_units, k),
        f"top_hit_rate@{k}": visitor_unit_hits(lists, holdout.strongest, holdout.item_units, k),
    }


def two_goals(model: Recommender, holdout: Holdout, k: int) -> dict[str, float]:
    """Hit rate, NDCG and business-unit hit rate at ``k`` of a fitted model on ``holdout``
    (``bu_defined``: whether any visitor's profile had a known unit)."""
    values = per_visitor(recommend_lists(model, holdout, k), holdout, k)
    bu = values[f"bu_hit_rate@{k}"]
    known = ~np.isnan(bu)
    return {
        f"hit_rate@{k}": float(values[f"hit_rate@{k}"].mean()) if len(bu) else 0.0,
        f"ndcg@{k}": float(values[f"ndcg@{k}"].mean()) if len(bu) else 0.0,
        f"bu_hit_rate@{k}": float(bu[known].mean()) if known.any() else 0.0,
        "bu_defined": bool(known.any()),
    }


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else 0.0


def evaluate_candidate(model: Recommender, holdout: Holdout, k: int) -> dict[str, Any]:
    """``metrics`` (overall), ``per_unit`` and ``breakdown`` (by interaction count).

    ``metrics`` has every :data:`ml.evaluation.METRICS` at ``k``, ``coverage@k``,
    ``novelty@k``, ``bu_hit_rate@k``, ``top_hit_rate@k``, ``n_users`` (visitors evaluated),
    ``n_users_bu`` and ``n_users_top`` (visitors whose profile has a known unit).
    """
    lists = recommend_lists(model, holdout, k)
    values = per_visitor(lists, holdout, k)
    metrics: dict[str, float] = {
        f"{name}@{k}": metric(lists, holdout.relevant, k) for name, metric in METRICS.items()
    }
    n_items = holdout.train_fit.shape[1]
    metrics[f"coverage@{k}"] = catalog_coverage(lists, n_items, k) if n_items else 0.0
    metrics[f"novelty@{k}"] = novelty(lists, item_probabilities(holdout.train_fit), k)
    metrics[f"bu_hit_rate@{k}"] = _mean(values[f"bu_hit_rate@{k}"])
    metrics[f"top_hit_rate@{k}"] = _mean(values[f"top_hit_rate@{k}"])
    metrics["n_users"] = len(lists)
    metrics["n_users_bu"] = int((~np.isnan(values[f"bu_hit_rate@{k}"])).sum())
    metrics["n_users_top"] = int((~np.isnan(values[f"top_hit_rate@{k}"])).sum())
    return {
        "metrics": metrics,
        "per_unit": by_unit(values, holdout.consumed, holdout.item_units),
        "breakdown": by_count_bucket(values, holdout.counts),
    }

"""The trade-off table: hit rate against business-unit hit rate, per candidate and blend weight.

Every candidate that ran is one point on the holdout; each business-unit blend is one point per
weight of :attr:`~ml.resources.config.AssetConfig.blend_weights` (its own fitted base model,
re-weighted, nothing refitted), with the weight tuning chose marked. The weights are scored on
the holdout here only to draw the curve: the choice was made on validation. Rows on the Pareto
front (no other row is better on one goal without being worse on the other) are marked, and so
are those that meet marketing's minimum business-unit hit rate.
"""

from __future__ import annotations

from typing import Any, Mapping

from ml.models.base import Recommender
from ml.resources.blend import UnitBlendRecommender
from ml.resources.champion import Point, pareto_front
from ml.resources.config import AssetConfig
from ml.resources.evaluate import Holdout, two_goals
from ml.resources.result import AssetCandidateResult


def _row(candidate: str, weight: float | None, chosen: bool, scores: Mapping[str, Any], k: int) -> dict[str, Any]:
    return {"candidate": candidate, "weight": weight, "chosen": chosen,
            "hit_rate": float(scores[f"hit_rate@{k}"]), "bu_hit_rate": float(scores[f"bu_hit_rate@{k}"]),
            "ndcg": float(scores[f"ndcg@{k}"])}


def pareto_table(results: Mapping[str, AssetCandidateResult], fitted: Mapping[str, Recommender],
                 holdout: Holdout, config: AssetConfig) -> list[dict[str, Any]]:
    """One row per candidate (and per weight of each blend): ``candidate``, ``weight`` (None
    for a plain model), ``chosen``, ``hit_rate``, ``bu_hit_rate``, ``ndcg`` (all @k on the
    holdout), ``front`` and ``meets_minimum``."""
    k = config.k
    rows = []
    for name, result in results.items():
        if result.status != "ok":
            continue
        model = fitted.get(name)
        if not isinstance(model, UnitBlendRecommender):
            rows.append(_row(name, None, True, result.metrics, k))
            continue
        chosen = float(model.params["weight"])
        for weight in config.blend_weights:
            same = abs(weight - chosen) < 1e-9
            scores = result.metrics if same else two_goals(model.with_weight(weight), holdout, k)
            rows.append(_row(name, float(weight), same, scores, k))
    labels = [f"{row['candidate']}@{row['weight']}" for row in rows]
    front = pareto_front([Point(label, row["hit_rate"], row["bu_hit_rate"]) for label, row in zip(labels, rows)])
    for label, row in zip(labels, rows):
        row["front"] = label in front
        row["meets_minimum"] = row["bu_hit_rate"] >= config.min_bu_hit_rate
    return rows

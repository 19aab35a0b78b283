"""Tune the asset candidates on a validation split carved from the training part.

The test holdout hides each visitor's strongest asset; tuning must not see it, so the training
part is split again the same way (each remaining visitor's strongest asset, visitors with two
or more left) and every setting is scored there:

- EASE: regularisation x binary (0/1 interactions, as in the paper) vs weighted strengths;
- ALS: regularisation x confidence ``alpha`` (on this data ``regularization / alpha`` decides
  between overfitting and collapsing to popularity, see :mod:`ml.resources.config`);
  both by hit rate@k (ties: NDCG@k), the goal they serve;
- the business-unit blends: the base model's tuned setting, then the blend weight by
  marketing's rule (:mod:`ml.resources.champion`), since the weight is what trades hit rate
  for business-unit hit rate.

A candidate with explicit ``candidate_params`` is not tuned (the user's setting stands). Every
setting tried is returned with its validation scores, so the run records what was searched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from ml.resources.champion import Point, rank_by_rule
from ml.resources.config import ASSET_CANDIDATES, AssetConfig, make_model
from ml.resources.evaluate import Holdout, two_goals
from ml.resources.interactions import AssetData

log = logging.getLogger(__name__)

#: Settings searched per base candidate (the rest of its parameters are the defaults).
GRIDS: dict[str, tuple[dict[str, Any], ...]] = {
    "ease": tuple({"regularization": r, "binary": b}
                  for r in (50.0, 100.0, 200.0, 400.0, 800.0, 1600.0) for b in (True, False)),
    "als": tuple({"regularization": r, "alpha": a}
                 for r in (10.0, 25.0, 50.0, 100.0) for a in (5.0, 10.0, 20.0)),
}


@dataclass
class Tuned:
    """Parameter overrides per candidate and the validation score of every setting tried."""

    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    validation_visitors: int = 0


def point(name: str, scores: Mapping[str, Any], k: int) -> Point:
    return Point(name, float(scores[f"hit_rate@{k}"]), float(scores[f"bu_hit_rate@{k}"]),
                 bool(scores.get("bu_defined", True)))


def _tune_base(name: str, data: AssetData, holdout: Holdout, config: AssetConfig,
               tuned: Tuned) -> None:
    best: tuple[float, float] | None = None
    for setting in GRIDS[name]:
        params = {**config.params(name), **setting}
        try:
            scores = two_goals(make_model(name, params, data).fit(holdout.train_fit), holdout, config.k)
        except Exception as exc:  # a setting that fails to fit is recorded and skipped
            log.warning("tuning %s with %s failed: %s", name, setting, exc)
            continue
        tuned.trials.append({"candidate": name, "params": setting, **scores})
        key = (scores[f"hit_rate@{config.k}"], scores[f"ndcg@{config.k}"])
        if best is None or key > best:
            best, tuned.params[name] = key, setting


def _tune_blend(name: str, data: AssetData, holdout: Holdout, config: AssetConfig,
                tuned: Tuned) -> None:
    spec = ASSET_CANDIDATES[name]
    base_tuned = tuned.params.get(spec.base_candidate or "", {})
    params = config.params(name, base_overrides=base_tuned)
    try:
        fitted = make_model(name, params, data).fit(holdout.train_fit)
    except Exception as exc:
        log.warning("tuning %s failed: %s", name, exc)
        return
    points = []
    for weight in config.blend_weights:
        scores = two_goals(fitted.with_weight(weight), holdout, config.k)
        tuned.trials.append({"candidate": name, "params": {"weight": weight}, **scores})
        points.append(point(str(weight), scores, config.k))
    chosen = float(rank_by_rule(points, config.min_bu_hit_rate)[0])
    tuned.params[name] = {"base_params": params["base_params"], "weight": chosen}


def tune(data: AssetData, holdout: Holdout, config: AssetConfig) -> Tuned:
    """Overrides for every tunable candidate of ``config`` (see the module doc)."""
    tuned = Tuned(validation_visitors=len(holdout.users))
    if not len(holdout.users):
        return tuned
    explicit = set(config.candidate_params)
    blends = [name for name in config.candidates if ASSET_CANDIDATES[name].base_candidate]
    # a blend's base is tuned even when the base itself is not a candidate of this run
    bases = dict.fromkeys([*config.candidates, *(ASSET_CANDIDATES[b].base_candidate for b in blends)])
    for name in bases:
        if name in GRIDS and name not in explicit and config.skip_reason(name, data.id_map.n_items) is None:
            _tune_base(name, data, holdout, config, tuned)
    for name in blends:
        if name not in explicit and config.skip_reason(name, data.id_map.n_items) is None:
            _tune_blend(name, data, holdout, config, tuned)
    log.info("asset tuning on %d validation visitors: %s", len(holdout.users), tuned.params)
    return tuned

"""Choosing the model to publish, and fitting it on every event.

The rule is deliberately simple and auditable from the manifest: the champion is the candidate
with the best NDCG@k on the holdout among those that beat global popularity; if none does,
popularity itself is published (a personalised model that cannot beat it is not worth serving).
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import scipy.sparse as sp

from ml.evaluation import evaluate_model, evaluation_users
from ml.models import PopularityRecommender, Recommender
from ml.training.candidates import CANDIDATES, CandidateSpec, InteractionCache
from ml.training.config import TrainingConfig
from ml.training.result import CandidateResult

log = logging.getLogger(__name__)


def popularity_bar(
    results: Mapping[str, CandidateResult],
    train_matrix: sp.csr_matrix,
    test_matrix: sp.csr_matrix,
    config: TrainingConfig,
) -> dict[str, Any]:
    """Popularity's score on the holdout (computed here when it was not a candidate)."""
    metric = f"ndcg@{config.k}"
    result = results.get("popularity")
    if result is not None and result.status == "ok":
        return {"name": "popularity", metric: result.metrics[metric]}
    model = PopularityRecommender().fit(train_matrix)
    users = evaluation_users(test_matrix, config.eval_max_users, config.seed)
    score = evaluate_model(model, train_matrix, test_matrix, k=config.k, users=users)[metric]
    return {"name": "popularity", metric: score}


def ranking(results: Mapping[str, CandidateResult], metric: str, bar: float) -> list[str]:
    """Candidates that beat the bar, best first (ties keep the configured order)."""
    winners = [r for r in results.values() if r.status == "ok" and r.metrics[metric] > bar]
    return [r.name for r in sorted(winners, key=lambda r: -r.metrics[metric])]


def refit_champion(
    results: Mapping[str, CandidateResult],
    specs: Mapping[str, CandidateSpec],
    full: InteractionCache,
    ranked: list[str],
    config: TrainingConfig,
) -> tuple[CandidateResult, Recommender]:
    """Fit the best candidate on all events; fall down the ranking, then to popularity.

    A champion that fitted on the training part but fails on all events is logged and passed
    over rather than failing the run: the next best model is still better than nothing new.
    """
    for name in ranked:
        result = results[name]
        try:
            return result, specs[name].train(result.params, full.fit_data(result.event_weights))
        except Exception:
            log.exception("refitting champion %s on all events failed; trying the next", name)
    spec = specs.get("popularity", CANDIDATES["popularity"])
    fallback = results.get("popularity") or CandidateResult(
        "popularity", PopularityRecommender.name, spec.resolved_params(config),
        dict(config.event_weights),
    )
    return fallback, spec.train(fallback.params, full.fit_data(fallback.event_weights))

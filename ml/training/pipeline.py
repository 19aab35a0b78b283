"""The training job: events in, a champion and the helper models out (no disk, no web app).

Stages (each timed, each reported to the optional ``progress(stage, detail)`` callback):

1. ``prepare``: check and normalise the events (ids as strings, times as UTC).
2. ``split``: hold out a test part (time: the events after a cut-off, for users and items seen
   before it; or a per-user random holdout).
3. ``search``: tune candidates on a validation split of the training part (:mod:`.search`).
4. ``evaluate``: fit every candidate on the training part, score it on the test part. A
   candidate that raises is recorded as failed with its error and the run goes on.
5. ``refit``: the champion (best NDCG@k among candidates that beat popularity, else popularity)
   is fitted again on *all* events, so serving uses the freshest data.
6. ``extras``: the always-published helper models, also on all events: item-kNN "similar items",
   basket "also bought", "frequently bought together" complements (with the optional items
   frame: category, brand, price per item) and trending popularity for fallbacks.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.artifacts import ALSO_BOUGHT, COMPLEMENTS, POPULAR, RECOMMENDER, SIMILAR
from ml.constants import DEFAULT_K, EVENT_COL, ITEM_COL, TIME_COL, USER_COL, WEIGHT_COL
from ml.data.interactions import build_interactions
from ml.data.timeutil import to_utc_series
from ml.evaluation import evaluate_model, evaluation_users
from ml.models import (
    AlsoBoughtRecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
    Recommender,
)
from ml.training.baskets import BASKET_COL, SESSION_COL, basket_matrix
from ml.training.candidates import (
    CANDIDATES,
    DEFAULT_CANDIDATES,
    CandidateSpec,
    InteractionCache,
    resolve_candidates,
    split_events,
    split_trial,
)
from ml.training.complements import fit_complements
from ml.training.config import TrainingConfig
from ml.training.significance import paired_bootstrap
from ml.training.result import CandidateResult, TrainingResult
from ml.training.search import SearchOutcome, search, start_trial

log = logging.getLogger(__name__)

Progress = Callable[[str, dict], None]
_COLUMNS = (USER_COL, ITEM_COL, EVENT_COL, TIME_COL, WEIGHT_COL, BASKET_COL, SESSION_COL)


def prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    """The known columns of ``events`` with string ids and UTC times; refuses empty input."""
    missing = [c for c in (USER_COL, ITEM_COL) if c not in events.columns]
    if missing:
        raise ValueError(f"events are missing the column(s): {', '.join(missing)}")
    if len(events) == 0:
        raise ValueError("there are no events to train on")
    frame = events[[c for c in _COLUMNS if c in events.columns]].reset_index(drop=True)
    frame[USER_COL] = frame[USER_COL].astype(str)
    frame[ITEM_COL] = frame[ITEM_COL].astype(str)
    if TIME_COL in frame.columns:
        frame[TIME_COL] = to_utc_series(frame[TIME_COL])
    return frame


class _Stages:
    """Times each stage and forwards progress to the caller's callback, if any."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}

    def notify(self, stage: str, detail: dict) -> None:
        if self.progress is not None:
            self.progress(stage, detail)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.notify(name, {"status": "started"})
        started = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - started, 4)
        log.info("training stage %s done in %.2f s", name, self.timings[name])
        self.notify(name, {"status": "done", "seconds": self.timings[name]})


@dataclass
class _Comparison:
    """The holdout and every candidate's outcome on it."""

    train_events: pd.DataFrame
    test_events: pd.DataFrame
    train: InteractionCache
    test_matrix: sp.csr_matrix
    results: dict[str, CandidateResult]
    outcome: SearchOutcome


def _evaluate_one(
    spec: CandidateSpec, trial: dict[str, Any], cache: InteractionCache, test: sp.csr_matrix,
    users: np.ndarray, config: TrainingConfig,
) -> CandidateResult:
    params, overrides = split_trial(trial)
    weights = {**config.event_weights, **overrides}
    model_name = getattr(spec.model, "name", spec.name)
    result = CandidateResult(spec.name, model_name, params, weights, engine=spec.engine)
    try:
        started = time.monotonic()
        model = spec.train(params, cache.fit_data(weights))
        result.fit_seconds = round(time.monotonic() - started, 4)
        started = time.monotonic()
        per_user: dict[str, np.ndarray] = {}
        result.metrics = evaluate_model(model, cache.matrix(weights), test, k=config.k, users=users,
                                        per_user=per_user)
        result.per_user_ndcg = per_user[f"ndcg@{config.k}"]
        result.evaluate_seconds = round(time.monotonic() - started, 4)
    except Exception as exc:  # a broken candidate is recorded, never fatal
        log.exception("candidate %s failed", spec.name)
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
    return result


def _compare(
    events: pd.DataFrame, config: TrainingConfig, specs: Sequence[CandidateSpec], stages: _Stages
) -> _Comparison:
    with stages.stage("split"):
        train_events, test_events = split_events(
            events, config.split, config.test_fraction, config.seed
        )
        cache = InteractionCache(train_events, half_life_days=config.recency_half_life_days)
        test_matrix, _ = build_interactions(test_events, config.event_weights, id_map=cache.id_map)
    results: dict[str, CandidateResult] = {}
    eligible = []
    for spec in specs:
        reason = spec.skip_reason(events, cache.id_map.n_items, config)
        if reason is None:
            eligible.append(spec)
            continue
        log.info("candidate %s skipped: %s", spec.name, reason)
        model_name = getattr(spec.model, "name", spec.name)
        results[spec.name] = CandidateResult(
            spec.name, model_name, spec.resolved_params(config), dict(config.event_weights),
            status="skipped", error=reason, engine=spec.engine,
        )
    starts = {
        s.name: start_trial(s, s.resolved_params(config), config.event_weights) for s in eligible
    }
    outcome = SearchOutcome()
    if config.search:
        with stages.stage("search"):
            outcome = search(eligible, starts, train_events, config, stages.notify)
    with stages.stage("evaluate"):
        users = evaluation_users(test_matrix, config.eval_max_users, config.seed)  # the same for every candidate
        for index, spec in enumerate(eligible, start=1):
            trial = outcome.best.get(spec.name, starts[spec.name])
            result = _evaluate_one(spec, trial, cache, test_matrix, users, config)
            result.validation_ndcg = outcome.scores.get(spec.name)
            result.search_trials = outcome.counts.get(spec.name, 0)
            results[spec.name] = result
            stages.notify(
                "evaluate",
                {"candidate": spec.name, "index": index, "of": len(eligible),
                 "status": result.status, "metrics": result.metrics, "error": result.error},
            )
    ordered = {spec.name: results[spec.name] for spec in specs}
    return _Comparison(train_events, test_events, cache, test_matrix, ordered, outcome)


def fit_helper_models(
    events: pd.DataFrame, full: InteractionCache, config: TrainingConfig, items: pd.DataFrame | None = None
) -> tuple[dict[str, Recommender], int]:
    """The always-published models, and the number of baskets "also bought" learnt from.
    ``items`` (``item_id`` and any of category, brand, price) helps "frequently bought together"
    tell complements from substitutes (:mod:`ml.training.complements`)."""
    data = full.fit_data(config.event_weights)
    baskets = basket_matrix(events, full.id_map)
    similar_params = {"num_threads": config.num_threads, **config.similar_params}
    if TIME_COL in events.columns:
        popular: Recommender = RecentPopularityRecommender(
            config.trending_half_life_days, user_cap=max(config.event_weights.values(), default=1.0) or None,
        ).fit_events(events, full.id_map, config.event_weights, data.reference_time)
    else:
        popular = PopularityRecommender().fit(data.matrix)
    similar = ItemKNNRecommender(**similar_params).fit(data.matrix)
    complements, _ = fit_complements(events, full.id_map, data.matrix, similar.similarity, items,
                                     dict(config.complements_params))
    models = {
        SIMILAR: similar,
        ALSO_BOUGHT: AlsoBoughtRecommender(**config.also_bought_params).fit(baskets),
        COMPLEMENTS: complements,
        POPULAR: popular,
    }
    return models, baskets.shape[0]


def train(
    events: pd.DataFrame, config: TrainingConfig | None = None, progress: Progress | None = None,
    items: pd.DataFrame | None = None,
) -> TrainingResult:
    """Run the whole pipeline (see the module doc) and return models plus the run's record;
    ``items`` is the optional items frame of :func:`fit_helper_models`."""
    config = config or TrainingConfig()
    stages = _Stages(progress)
    started = time.monotonic()
    with stages.stage("prepare"):
        events = prepare_events(events)
        specs = resolve_candidates(config)
    comparison = _compare(events, config, specs, stages)
    metric = f"ndcg@{config.k}"
    baseline = popularity_bar(
        comparison.results, comparison.train.matrix(config.event_weights),
        comparison.test_matrix, config,
    )
    ranked, selection = select_champion(comparison.results, metric, baseline, config)
    with stages.stage("refit"):
        full = InteractionCache(events, half_life_days=config.recency_half_life_days)
        spec_map = {spec.name: spec for spec in specs}
        champion, model = refit_champion(comparison.results, spec_map, full, ranked, config)
    log.info("champion: %s (%s=%s, popularity %.4f)", champion.name, metric,
             champion.metrics.get(metric), baseline[metric])
    with stages.stage("extras"):
        helpers, n_baskets = fit_helper_models(events, full, config, items)
        models = {RECOMMENDER: model, **helpers}
    stages.timings["total"] = round(time.monotonic() - started, 4)
    user_items = full.matrix(champion.event_weights)
    data = {
        "events": len(events),
        "users": full.id_map.n_users,
        "items": full.id_map.n_items,
        "interactions": int(user_items.nnz),
        "train_events": len(comparison.train_events),
        "test_events": len(comparison.test_events),
        "train_interactions": int(comparison.train.matrix(config.event_weights).nnz),
        "test_interactions": int(comparison.test_matrix.nnz),
        "test_users": int((comparison.test_matrix.getnnz(axis=1) > 0).sum()),
        "baskets": int(n_baskets),
    }
    trained_until = events[TIME_COL].max().isoformat() if TIME_COL in events.columns else None
    return TrainingResult(
        config=config, candidates=comparison.results, champion=champion.name,
        champion_model=model.name, champion_params=dict(model.params),
        event_weights=dict(champion.event_weights), baseline=baseline, data=data,
        timings=stages.timings, search=comparison.outcome.trials, trained_until=trained_until,
        id_map=full.id_map, user_items=user_items, models=models, selection=selection,
    )


def evaluate_frame(
    events: pd.DataFrame,
    split: str = "time",
    k: int = DEFAULT_K,
    candidates: Sequence[str | CandidateSpec] = DEFAULT_CANDIDATES,
    config: TrainingConfig | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Offline comparison only (no refit, nothing to publish): one row per candidate.

    Columns: every metric at ``k`` (``ndcg@10``...), ``fit_seconds``, ``status`` and ``error``.
    Without ``config`` the search is off (a plain comparison at default parameters).
    """
    base = config or TrainingConfig(search=False)
    config = dataclasses.replace(base, split=split, k=k, candidates=tuple(candidates))
    stages = _Stages(progress)
    comparison = _compare(prepare_events(events), config, resolve_candidates(config), stages)
    rows = [
        {"model": r.name, **r.metrics, "fit_seconds": r.fit_seconds, "status": r.status,
         "error": r.error}
        for r in comparison.results.values()
    ]
    return pd.DataFrame(rows).set_index("model")


# -- choosing the champion --------------------------------------------------------------------------
# Choosing the model to publish, and fitting it on every event.
# 
# The rule is deliberately simple and auditable from the manifest: the champion is the candidate
# with the best NDCG@k on the holdout among those that beat global popularity; if none does,
# popularity itself is published (a personalised model that cannot beat it is not worth serving).


def popularity_bar(
    results: Mapping[str, CandidateResult],
    train_matrix: sp.csr_matrix,
    test_matrix: sp.csr_matrix,
    config: TrainingConfig,
) -> dict[str, Any]:
    """Popularity's score on the holdout (computed here when it was not a candidate); the
    per-user scores travel under ``"per_user"`` (popped before the baseline is saved)."""
    metric = f"ndcg@{config.k}"
    result = results.get("popularity")
    if result is not None and result.status == "ok":
        return {"name": "popularity", metric: result.metrics[metric], "per_user": result.per_user_ndcg}
    model = PopularityRecommender().fit(train_matrix)
    users = evaluation_users(test_matrix, config.eval_max_users, config.seed)
    per_user: dict[str, np.ndarray] = {}
    score = evaluate_model(model, train_matrix, test_matrix, k=config.k, users=users, per_user=per_user)[metric]
    return {"name": "popularity", metric: score, "per_user": per_user[metric]}


def ranking(results: Mapping[str, CandidateResult], metric: str, bar: float) -> list[str]:
    """Candidates that beat the bar, best first (ties keep the configured order)."""
    winners = [r for r in results.values() if r.status == "ok" and r.metrics[metric] > bar]
    return [r.name for r in sorted(winners, key=lambda r: -r.metrics[metric])]


def select_champion(results: Mapping[str, CandidateResult], metric: str, baseline: dict[str, Any],
                    config: TrainingConfig) -> tuple[list[str], dict[str, Any]]:
    """The candidates to refit, best first, and the record of why (saved in the manifest).

    Eligible: the candidates whose NDCG beats popularity's (each with its paired 95% interval
    against popularity, for the reader). The best of them is the champion, except when the
    shop serves another eligible candidate (``config.incumbent``) that the best does not beat
    beyond the interval: then the serving candidate stays champion, refitted on the new data.
    """
    bar_users = baseline.pop("per_user", None)
    ranked = ranking(results, metric, baseline[metric])
    scored = {name: r for name, r in results.items() if r.status == "ok" and r.per_user_ndcg is not None}
    vs_popularity = {}
    if bar_users is not None:
        vs_popularity = {name: paired_bootstrap(r.per_user_ndcg, bar_users, seed=config.seed).as_dict()
                         for name, r in scored.items() if name != "popularity"}
    selection: dict[str, Any] = {"vs_popularity": vs_popularity, "incumbent": config.incumbent}
    incumbent = config.incumbent
    if not ranked:
        selection["reason"] = f"no candidate beats popularity's {metric}: popularity is published"
    elif incumbent in ranked and ranked[0] != incumbent and incumbent in scored:
        challenger = ranked[0]
        versus = paired_bootstrap(scored[challenger].per_user_ndcg, scored[incumbent].per_user_ndcg, seed=config.seed)
        selection["vs_incumbent"] = {"challenger": challenger, **versus.as_dict()}
        if versus.better:
            selection["reason"] = (f"{challenger} beats the serving {incumbent} by {versus.describe()} {metric} "
                                   "(95% interval above zero): it replaces it")
        else:
            ranked = [incumbent] + [name for name in ranked if name != incumbent]
            selection["reason"] = (f"{challenger} scores {versus.describe()} {metric} against the serving "
                                   f"{incumbent}, an interval that includes zero: {incumbent} stays champion")
    else:
        kept = " (it was serving already)" if ranked[0] == incumbent else ""
        selection["reason"] = f"{ranked[0]} has the best {metric} of the candidates that beat popularity{kept}"
    return ranked, selection


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

"""The asset-recommender job: submissions in, a champion for "Suggested next" assets out.

Stages (timed, logged):

1. ``prepare``: visitor x asset strengths (type weight x submissions, summed per pair), asset
   types and business units (:func:`~ml.resources.interactions.prepare_assets`).
2. ``split``: by default leave one out, hiding each visitor's *strongest* asset (visitors with
   >= 2 assets; see :func:`~ml.resources.interactions.hold_out_strongest` for why not the
   latest); ``config.split`` may ask for a per-visitor random or a time split instead.
3. ``search`` (``config.search``): EASE, ALS and the business-unit blend weights tuned on a
   validation split carved the same way from the training part (:mod:`ml.resources.tuning`).
4. ``evaluate``: fit every candidate on the rest, score the standard ranking metrics, BU hit
   rate and top hit rate at ``k``, per business unit and per interaction-count bucket, and the
   hit rate / BU hit rate trade-off of every blend weight (:mod:`ml.resources.pareto`). A
   failing candidate is recorded and the run goes on.
5. ``refit``: the champion by marketing's rule (:mod:`ml.resources.champion`: the best hit rate
   among candidates with BU hit rate >= ``min_bu_hit_rate``, else the highest BU hit rate) is
   fitted again on all interactions, with global popularity as the serving fallback.

Pure: DataFrames in, :class:`~ml.resources.result.AssetResult` out; :func:`ml.resources.save`
writes it to disk.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.models import PopularityRecommender
from ml.models.base import Recommender
from ml.resources.champion import Point, rank_by_rule, why
from ml.resources.config import ASSET_CANDIDATES, AssetConfig, make_model
from ml.resources.evaluate import Holdout, evaluate_candidate, holdout_from_events
from ml.resources.interactions import AssetData, prepare_assets, scale_strength, split_assets
from ml.resources.pareto import pareto_table
from ml.resources.tuning import Tuned, tune
from ml.resources.metrics import average_intra_type_similarity
from ml.resources.result import AssetCandidateResult, AssetResult

log = logging.getLogger(__name__)

POPULARITY = "popularity"
#: Above this many assets the items x items similarity behind the intra-type report is skipped.
SIMILARITY_MAX_ITEMS = 20_000


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        yield
        self.timings[name] = round(time.monotonic() - started, 4)
        log.info("asset stage %s done in %.2f s", name, self.timings[name])


def _run_candidate(
    name: str, data: AssetData, holdout: Holdout, config: AssetConfig, params: dict
) -> tuple[AssetCandidateResult, Recommender | None]:
    model_name = getattr(ASSET_CANDIDATES[name].model_cls, "name", name)
    result = AssetCandidateResult(name, model_name, params)
    reason = config.skip_reason(name, data.id_map.n_items)
    if reason is not None:
        log.info("asset candidate %s skipped: %s", name, reason)
        result.status, result.error = "skipped", reason
        return result, None
    model = None
    try:
        started = time.monotonic()
        model = make_model(name, params, data).fit(holdout.train_fit)
        result.fit_seconds = round(time.monotonic() - started, 4)
        started = time.monotonic()
        scores = evaluate_candidate(model, holdout, config.k)
        result.evaluate_seconds = round(time.monotonic() - started, 4)
        result.metrics, result.per_unit = scores["metrics"], scores["per_unit"]
        result.breakdown = scores["breakdown"]
    except Exception as exc:  # a broken candidate is recorded, never fatal
        log.exception("asset candidate %s failed", name)
        result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
    return result, model


def _popularity_bar(
    results: dict[str, AssetCandidateResult], holdout: Holdout, k: int
) -> dict[str, float | str]:
    """Popularity's NDCG@k on the holdout (computed here when it was not a candidate)."""
    metric = f"ndcg@{k}"
    result = results.get(POPULARITY)
    if result is None or result.status != "ok":
        model = PopularityRecommender().fit(holdout.train_fit)
        score = evaluate_candidate(model, holdout, k)["metrics"][metric]
        return {"name": POPULARITY, metric: score}
    return {"name": POPULARITY, metric: result.metrics[metric]}


def champion_ranking(results: dict[str, AssetCandidateResult], config: AssetConfig) -> list[Point]:
    """The points of the candidates that ran, in configured order (for the rule and its reason)."""
    k = config.k
    return [Point(r.name, r.metrics[f"hit_rate@{k}"], r.metrics[f"bu_hit_rate@{k}"], r.metrics["n_users_bu"] > 0)
            for r in results.values() if r.status == "ok"]


def _params(name: str, config: AssetConfig, tuned: Tuned) -> dict:
    spec = ASSET_CANDIDATES[name]
    found = tuned.params.get(name, {})
    if spec.base_candidate:
        return {**config.params(name, base_overrides=tuned.params.get(spec.base_candidate)), **found}
    return {**config.params(name), **found}


def _refit(
    ranked: list[str], data: AssetData, full: sp.csr_matrix, params: dict[str, dict]
) -> tuple[str, Recommender]:
    """Fit the best candidate on all data; fall down the ranking, then to popularity."""
    for name in ranked:
        try:
            return name, make_model(name, params[name], data).fit(full)
        except Exception:
            log.exception("refitting asset champion %s on all data failed; trying the next", name)
    return POPULARITY, PopularityRecommender().fit(full)


def cosine_item_similarity(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Items x items cosine similarity of the interaction columns (sparse, diagonal kept)."""
    csc = sp.csc_matrix(matrix, dtype=np.float64)
    norms = np.sqrt(np.asarray(csc.multiply(csc).sum(axis=0)).ravel())
    scaled = csc @ sp.diags(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))
    return sp.csr_matrix(scaled.T @ scaled)


def train_assets(
    submissions: pd.DataFrame, bu_mapping: pd.DataFrame, config: AssetConfig | None = None
) -> AssetResult:
    """Run the whole asset pipeline (see the module doc) on the reader's (or synth's) frames."""
    config = config or AssetConfig()
    timer = _Timer()
    started = time.monotonic()
    with timer.stage("prepare"):
        data = prepare_assets(submissions, bu_mapping, config.type_weights)
    with timer.stage("split"):
        train_events, test_events = split_assets(data.events, config.split, config.seed, config.test_fraction)
        holdout = holdout_from_events(train_events, test_events, data, config.scale)
    with timer.stage("search"):
        tuned = Tuned()
        if config.search:
            fit_events, validation_events = split_assets(train_events, config.split, config.seed + 1,
                                                         config.test_fraction)
            tuned = tune(data, holdout_from_events(fit_events, validation_events, data, config.scale), config)
    params = {name: _params(name, config, tuned) for name in config.candidates}
    with timer.stage("evaluate"):
        runs = {name: _run_candidate(name, data, holdout, config, params[name]) for name in config.candidates}
        results = {name: result for name, (result, _) in runs.items()}
        pareto = pareto_table(results, {name: model for name, (_, model) in runs.items() if model}, holdout, config)
    baseline = _popularity_bar(results, holdout, config.k)
    points = champion_ranking(results, config)
    ranked = rank_by_rule(points, config.min_bu_hit_rate)
    with timer.stage("refit"):
        full = scale_strength(data.matrix, config.scale)
        champion, model = _refit(ranked, data, full, params)
        popular = PopularityRecommender().fit(full)
        similarity = (
            average_intra_type_similarity(cosine_item_similarity(full), data.item_types)
            if data.id_map.n_items <= SIMILARITY_MAX_ITEMS else {}
        )
    reason = (why(points, champion, config.min_bu_hit_rate, config.k) if champion in results
              else "no candidate could be evaluated or refitted: global popularity")
    log.info("asset champion: %s (%s)", champion, reason)
    timer.timings["total"] = round(time.monotonic() - started, 4)
    data_sizes = {
        "submission_rows": len(submissions),
        "visitors": data.id_map.n_users,
        "assets": data.id_map.n_items,
        "assets_without_unit": sum(1 for units in data.item_units if not units),
        "business_units": len(data.unit_names),
        "interactions": int(data.matrix.nnz),
        "train_interactions": int(holdout.train_fit.nnz),
        "test_visitors": len(holdout.users),
    }
    return AssetResult(
        config=config, candidates=results, champion=champion, baseline=baseline, model=model,
        popular=popular, id_map=data.id_map, user_items=full, item_types=data.item_types,
        item_units=data.item_units, unit_names=data.unit_names, data=data_sizes,
        timings=timer.timings, intra_type_similarity=similarity, selection=reason, pareto=pareto,
        search={"tuned": tuned.params, "validation_visitors": tuned.validation_visitors, "trials": tuned.trials},
    )

"""The asset-recommender job: submissions in, a champion for "Suggested next" assets out.

Stages (timed, logged):

1. ``prepare``: visitor x asset strengths (type weight x submissions, summed per pair), asset
   types and business units (:func:`~ml.resources.interactions.prepare_assets`).
2. ``split``: leave one out, hiding each visitor's *strongest* asset (visitors with >= 2
   assets; see :func:`~ml.resources.interactions.hold_out_strongest` for why not the latest).
3. ``evaluate``: fit every candidate on the rest, score the standard ranking metrics, BU hit
   rate and top hit rate at ``k``, per business unit and per interaction-count bucket. A
   failing candidate is recorded and the run goes on.
4. ``refit``: the champion, the best NDCG@k among candidates that beat global popularity (else
   popularity: B2B data is small and sparse, expect popularity to be a hard baseline), is
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

from ml.data.interactions import build_interactions
from ml.models import PopularityRecommender
from ml.models.base import Recommender
from ml.resources.config import ASSET_CANDIDATES, AssetConfig, make_model
from ml.resources.evaluate import Holdout, evaluate_candidate, make_holdout
from ml.resources.interactions import AssetData, hold_out_strongest, prepare_assets, scale_strength
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
    name: str, data: AssetData, holdout: Holdout, config: AssetConfig
) -> AssetCandidateResult:
    params = config.params(name)
    model_name = getattr(ASSET_CANDIDATES[name].model_cls, "name", name)
    result = AssetCandidateResult(name, model_name, params)
    reason = config.skip_reason(name, data.id_map.n_items)
    if reason is not None:
        log.info("asset candidate %s skipped: %s", name, reason)
        result.status, result.error = "skipped", reason
        return result
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
    return result


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


def ranking(results: dict[str, AssetCandidateResult], metric: str, bar: float) -> list[str]:
    """Candidates that beat the bar, best first (ties keep the configured order).

    The same rule as the shop's training (:mod:`ml.training.pipeline`), kept here so the asset
    job does not depend on the shop pipeline's internals.
    """
    winners = [r for r in results.values() if r.status == "ok" and r.metrics[metric] > bar]
    return [r.name for r in sorted(winners, key=lambda r: -r.metrics[metric])]


def _refit(
    ranked: list[str], data: AssetData, full: sp.csr_matrix, config: AssetConfig
) -> tuple[str, Recommender]:
    """Fit the best candidate on all data; fall down the ranking, then to popularity."""
    for name in ranked:
        try:
            return name, make_model(name, config.params(name), data).fit(full)
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
        train_events, test_events = hold_out_strongest(data.events, config.seed)
        train_raw, _ = build_interactions(train_events, id_map=data.id_map)
        test_raw, _ = build_interactions(test_events, id_map=data.id_map)
        train_fit = scale_strength(train_raw, config.scale)
        holdout = make_holdout(train_raw, train_fit, test_raw, data.item_units)
    with timer.stage("evaluate"):
        results = {name: _run_candidate(name, data, holdout, config) for name in config.candidates}
    metric = f"ndcg@{config.k}"
    baseline = _popularity_bar(results, holdout, config.k)
    ranked = ranking(results, metric, float(baseline[metric]))
    with timer.stage("refit"):
        full = scale_strength(data.matrix, config.scale)
        champion, model = _refit(ranked, data, full, config)
        popular = PopularityRecommender().fit(full)
        similarity = (
            average_intra_type_similarity(cosine_item_similarity(full), data.item_types)
            if data.id_map.n_items <= SIMILARITY_MAX_ITEMS else {}
        )
    score = results[champion].metrics.get(metric) if champion in results else None
    log.info("asset champion: %s (%s=%s, popularity %.4f)", champion, metric, score,
             baseline[metric])
    timer.timings["total"] = round(time.monotonic() - started, 4)
    data_sizes = {
        "submission_rows": len(submissions),
        "visitors": data.id_map.n_users,
        "assets": data.id_map.n_items,
        "assets_without_unit": sum(1 for units in data.item_units if not units),
        "business_units": len(data.unit_names),
        "interactions": int(data.matrix.nnz),
        "train_interactions": int(train_raw.nnz),
        "test_visitors": len(holdout.users),
    }
    return AssetResult(
        config=config, candidates=results, champion=champion, baseline=baseline, model=model,
        popular=popular, id_map=data.id_map, user_items=full, item_types=data.item_types,
        item_units=data.item_units, unit_names=data.unit_names, data=data_sizes,
        timings=timer.timings, intra_type_similarity=similarity,
    )

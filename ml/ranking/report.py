"""The offline trade-off of each diversity level: NDCG@k against intra-list diversity @k.

Protocol (the same as ``flask ml evaluate``'s, see ``ml.training.protocol``): a split of the
events (default: the time split, the latest 20% held out for users and items seen before),
one model fitted on the training part with the given parameters and event weights, each
evaluated user's training items removed from their list and their relevant set, binary-gain
NDCG. For every user the model proposes a pool of ``k * overfetch`` candidates (what a widget's
model step fetches, ``OVERFETCH``), each level re-ranks that pool with MMR
(``ml.ranking.diversity``) and its top ``k`` is scored: NDCG@k on the held-out items and ILD@k
on the catalogue's categories and brands. Level ``none`` is the model's own top ``k``.

Intervals are 95% percentile bootstraps over the evaluated users (1,000 resamples of the
per-user values, as ``ml.training.significance`` does), and each level's NDCG change against
``none`` is a *paired* bootstrap (the same users, so the noise of who is in the holdout cancels).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import DEFAULT_EVENT_WEIGHTS, DEFAULT_K, ITEM_COL, SEED
from ml.data.interactions import build_interactions
from ml.evaluation import evaluation_users
from ml.ranking.diversity import BRAND_SIMILARITY, LEVELS, UNKNOWN, codes, intra_list_diversity, mmr, rank_relevance
from ml.training.candidates import CANDIDATES, InteractionCache, split_events
from ml.training.config import TrainingConfig
from ml.training.pipeline import prepare_events
from ml.training.significance import Difference, paired_bootstrap

#: A model step fetches this many times the slots it fills (``storefront.recommendations.steps``).
OVERFETCH = 3
RELEVANCE = ("rank", "score")
Progress = Callable[[str, dict], None]


@dataclass(frozen=True)
class LevelResult:
    level: str
    lam: float
    ndcg: Difference  # mean NDCG@k over the users, with its interval
    ild: Difference  # mean ILD@k
    ndcg_vs_none: Difference  # paired: this level's NDCG minus none's
    categories: float  # mean number of distinct categories in a top k
    users: int

    def as_record(self, k: int) -> dict[str, Any]:
        return {
            "level": self.level, "lambda": self.lam, "users": self.users, f"categories@{k}": self.categories,
            **{f"{name}_{part}": getattr(value, attr) for name, value in
               ((f"ndcg@{k}", self.ndcg), (f"ild@{k}", self.ild), ("ndcg_vs_none", self.ndcg_vs_none))
               for part, attr in (("mean", "mean"), ("ci95_low", "low"), ("ci95_high", "high"))},
        }


@dataclass(frozen=True)
class DiversityReport:
    model: str
    k: int
    pool: int
    relevance: str
    split: str
    test_fraction: float
    levels: list[LevelResult]

    def describe(self) -> str:
        return (f"{self.model} on a {self.split} split (test share {self.test_fraction:g}), top {self.k} of "
                f"{self.pool} candidates re-ranked by MMR ({self.relevance} relevance; same category "
                f"similarity 1, same brand only {BRAND_SIMILARITY:g}), binary-gain NDCG, seen items removed, "
                "95% bootstrap intervals over users")


def item_codes(item_ids: np.ndarray, labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Category and brand codes aligned with ``item_ids`` (a model's columns), from ``labels``
    (columns ``item_id``, ``category``, ``brand``); an item without labels is unknown (-1)."""
    table = labels.assign(**{ITEM_COL: labels[ITEM_COL].astype(str)}).drop_duplicates(ITEM_COL)
    table = table.set_index(ITEM_COL).reindex(pd.Index(np.asarray(item_ids, dtype=str)))
    return codes(table["category"]), codes(table["brand"])


def score_levels(ids: np.ndarray, scores: np.ndarray, relevant: Sequence[set[int]], categories: np.ndarray,
                 brands: np.ndarray, k: int, levels: Mapping[str, float] = LEVELS, relevance: str = "rank",
                 brand_similarity: float = BRAND_SIMILARITY) -> dict[str, dict[str, np.ndarray]]:
    """Per-user NDCG@k, ILD@k and distinct categories of each level's top ``k``.

    ``ids``/``scores``: users x pool candidates per user, best first, padded with -1;
    ``relevant``: each user's held-out items; ``categories``/``brands``: codes per item index.
    """
    if relevance not in RELEVANCE:
        raise ValueError(f"relevance must be one of {', '.join(RELEVANCE)}")
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    out: dict[str, dict[str, np.ndarray]] = {}
    for level, lam in levels.items():
        tops = np.full((len(ids), k), -1, dtype=np.int64)
        for row, (items, values) in enumerate(zip(ids, scores)):
            keep = items >= 0
            items, values = items[keep], values[keep]
            wanted = rank_relevance(len(items)) if relevance == "rank" else values
            order = mmr(wanted, categories[items], brands[items], lam, k, brand_similarity)
            tops[row, :len(order)] = items[order]
        hits = np.array([[item in rel for item in top] for top, rel in zip(tops, relevant)], dtype=bool)
        n_relevant = np.array([min(len(rel), k) for rel in relevant])
        valid = tops >= 0  # a user with fewer candidates than k has a padded list
        cat = np.where(valid, categories[tops], UNKNOWN)
        out[level] = {
            "ndcg": (hits * discount).sum(axis=1) / ideal[np.maximum(n_relevant, 1) - 1],
            "ild": intra_list_diversity(cat, np.where(valid, brands[tops], UNKNOWN), valid, brand_similarity),
            "categories": np.array([len(set(row[row != UNKNOWN].tolist())) for row in cat]),
        }
    return out


def summarise(per_user: dict[str, dict[str, np.ndarray]], levels: Mapping[str, float], seed: int = SEED) -> list[LevelResult]:
    """Means and bootstrap intervals of ``score_levels``'s per-user values."""
    base = next(iter(per_user.values()))["ndcg"]
    none = per_user.get("none", {}).get("ndcg", base)
    results = []
    for level, values in per_user.items():
        ild = values["ild"][~np.isnan(values["ild"])]
        results.append(LevelResult(
            level, float(levels[level]),
            paired_bootstrap(values["ndcg"], np.zeros_like(values["ndcg"]), seed=seed),
            paired_bootstrap(ild, np.zeros_like(ild), seed=seed),
            paired_bootstrap(values["ndcg"], none, seed=seed),
            float(values["categories"].mean()) if len(values["categories"]) else 0.0,
            len(values["ndcg"]),
        ))
    return results


def evaluate_diversity(events: pd.DataFrame, labels: pd.DataFrame, model: str, params: Mapping[str, Any] | None = None,
                       event_weights: Mapping[str, float] | None = None, *, split: str = "time",
                       test_fraction: float = 0.2, k: int = DEFAULT_K, overfetch: int = OVERFETCH,
                       levels: Mapping[str, float] = LEVELS, relevance: str = "rank", seed: int = SEED,
                       half_life_days: float | None = None, max_users: int | None = 10_000,
                       progress: Progress | None = None) -> DiversityReport:
    """Fit candidate ``model`` (a name of ``ml.training.candidates.CANDIDATES``) with ``params``
    (default: its defaults) and ``event_weights`` (and, like training, ``half_life_days``'s recency
    decay) on the training part and report every level (see the module doc). ``labels``:
    ``item_id``, ``category``, ``brand`` of the catalogue's items."""
    if model not in CANDIDATES:
        raise ValueError(f"unknown model {model!r} (known: {', '.join(CANDIDATES)})")
    if "none" not in levels:
        levels = {"none": 0.0, **levels}
    spec = CANDIDATES[model]
    weights = {**DEFAULT_EVENT_WEIGHTS, **(event_weights or {})}
    notify = progress or (lambda stage, detail: None)
    events = prepare_events(events)
    train_events, test_events = split_events(events, split, test_fraction, seed)
    cache = InteractionCache(train_events, half_life_days=half_life_days)
    test, _ = build_interactions(test_events, DEFAULT_EVENT_WEIGHTS, id_map=cache.id_map)
    notify("fit", {"model": model})
    fitted = spec.train(_params(spec, params, seed), cache.fit_data(weights))
    train = cache.matrix(weights)
    users = evaluation_users(test, max_users, seed)
    ids, scores, relevant = _candidates(fitted, train, test, users, k * overfetch)
    categories, brands = item_codes(cache.id_map.item_ids, labels)
    notify("rerank", {"users": len(relevant)})
    per_user = score_levels(ids, scores, relevant, categories, brands, k, levels, relevance)
    return DiversityReport(model, k, k * overfetch, relevance, split, test_fraction, summarise(per_user, levels, seed))


def _params(spec, params: Mapping[str, Any] | None, seed: int) -> dict[str, Any]:
    """The spec's defaults resolved as a run would (seed, threads), then ``params`` (a manifest's)."""
    resolved = spec.resolved_params(TrainingConfig(seed=seed, search=False))
    return {**resolved, **(params or {})}


def _candidates(model, train: sp.csr_matrix, test: sp.csr_matrix, users: np.ndarray,
                pool: int) -> tuple[np.ndarray, np.ndarray, list[set[int]]]:
    """Each user's ``pool`` best unseen items (ids, scores) and relevant set, for the users with a
    relevant item (as ``ml.evaluation.evaluate_model`` counts them)."""
    batch = max(1, min(1024, 2**24 // max(train.shape[1], 1)))
    id_rows, score_rows, relevant = [], [], []
    for start in range(0, len(users), batch):
        chunk = users[start:start + batch]
        ids, scores = model.recommend_batch(chunk, train[chunk], N=pool, filter_already_liked_items=True)
        for row_ids, row_scores, user in zip(ids, scores, chunk):
            seen = set(train.indices[train.indptr[user]:train.indptr[user + 1]].tolist())
            rel = set(test.indices[test.indptr[user]:test.indptr[user + 1]].tolist()) - seen
            if rel:
                id_rows.append(np.asarray(row_ids, dtype=np.int64))
                score_rows.append(np.asarray(row_scores, dtype=np.float64))
                relevant.append(rel)
    width = max((len(r) for r in id_rows), default=0)
    ids = np.full((len(id_rows), width), -1, dtype=np.int64)
    scores = np.zeros((len(id_rows), width))
    for row, (items, values) in enumerate(zip(id_rows, score_rows)):
        ids[row, :len(items)], scores[row, :len(values)] = items, values
    return ids, scores, relevant

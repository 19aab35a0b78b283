"""Does the personal re-rank of search results help? Measured offline (``flask search evaluate-rerank``).

Protocol (:meth:`RerankProtocol.describe` prints it with the numbers):

1. Time split on purchases: the shop's purchase events (one per shopper, product and order),
   oldest first; the latest ``test_fraction`` of them are the test, and the split time is the
   first test purchase's. Purchases at that very time are test purchases too.
2. A recommender (``model``, default ALS) is fitted on the shop's training events strictly
   before the split time, as the training job refits its champion (``ml.training`` candidate
   spec, the shop's event weights and recency setting) at its default parameters (no search),
   seeded; it is held in memory as a served version (``ml.serving.LoadedVersion``).
3. For each test purchase (shopper u bought product p of category c) the query is c's name, what
   a shopper types, run through :func:`storefront.search.find` on the current index (the
   catalogue is the same); p's rank is read in the engine's order and after the personal re-rank
   of the first ``RERANK_TOP`` with the held-out model's scores for u
   (:func:`storefront.search.ranking.affinity_for` and ``blend``, the code serving runs). u's
   history is their training row (their events before the split); nothing after the split is
   folded in, since the session that led to the purchase would hand the model its answer.
4. Hit rate@k and MRR@k (``ml.evaluation``) for both orders over the purchases whose shopper
   has personal scores, and the paired difference with a 95% percentile bootstrap over those
   purchases (``ml.training.significance``, seeded). Purchases without them (no events before
   the split) are counted apart: the re-rank leaves their order unchanged.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import select

from ml.artifacts import RECOMMENDER
from ml.constants import DEFAULT_K, EVENT_COL, ITEM_COL, SEED, TIME_COL, USER_COL
from ml.evaluation import hit_rate_at_k, mrr_at_k
from ml.serving import LoadedVersion
from ml.training import CANDIDATES, TrainingConfig, prepare_events
from ml.training.baskets import BASKET_COL
from ml.training.candidates import InteractionCache
from ml.training.significance import RESAMPLES, Difference, paired_bootstrap
from storefront.extensions import db
from storefront.models import TRANSACTION, Category, Product
from storefront.search import find
from storefront.search.ranking import RERANK_TOP, affinity_for, blend

FIND_LIMIT = 1000  # as the search page asks (storefront.search.pages)
SECOND_K = 20  # reported besides ``k``
MIN_PURCHASES = 20  # fewer, and the split leaves a handful of test purchases
MIN_TRAIN_EVENTS = 100  # as training (storefront.training.data.MIN_TRAINING_EVENTS)
ORDERS = ("engine", "reranked")
METRICS = {"hit_rate": hit_rate_at_k, "mrr": mrr_at_k}


class NotEnoughPurchases(ValueError):
    """The shop has too few purchases (or too little before them) for the protocol."""


@dataclass(frozen=True)
class RerankProtocol:
    test_fraction: float = 0.2
    seed: int = SEED
    k: int = DEFAULT_K
    model: str = "als"

    @property
    def cutoffs(self) -> list[int]:
        return sorted({self.k, SECOND_K})

    def describe(self) -> str:
        return (f"time split of the purchases: the latest {self.test_fraction:g} of them are the test; "
                f"{self.model} (default parameters, seed {self.seed}, the shop's event weights) fitted on "
                "the events strictly before the first test purchase; query = the name of the bought "
                f"product's category; its rank in the search's results in the engine's order and after "
                f"the personal re-rank of the first {RERANK_TOP} with the held-out model's scores for the "
                f"shopper (their events before the split); hit rate and MRR at k={', '.join(map(str, self.cutoffs))}; "
                f"reranked - engine with 95% percentile-bootstrap intervals over the test purchases "
                f"({RESAMPLES:,} resamples, seed {self.seed}); shoppers without personal scores counted apart")


@dataclass(frozen=True)
class RerankResult:
    protocol: RerankProtocol
    split_at: pd.Timestamp
    train_events: int
    test_purchases: int
    no_history: int  # no events before the split: the re-rank leaves their order unchanged
    no_scores: int  # history, but the model scores nothing for them (unchanged too)
    out_of_reach: int  # of the measured: p not in the engine's first RERANK_TOP (a miss either way)
    metrics: dict[str, dict[str, float]]  # order -> "hit_rate@10"... over the measured purchases
    differences: dict[str, Difference]  # "hit_rate@10"... -> reranked - engine
    unchanged: dict[str, float] = field(default_factory=dict)  # the engine's metrics on the rest

    @property
    def measured(self) -> int:
        return self.test_purchases - self.no_history - self.no_scores

    def as_dict(self) -> dict:
        return {
            "protocol": {**dataclasses.asdict(self.protocol), "cutoffs": self.protocol.cutoffs,
                         "rerank_top": RERANK_TOP, "resamples": RESAMPLES, "description": self.protocol.describe()},
            "split_at": self.split_at.isoformat(), "train_events": self.train_events,
            "test_purchases": self.test_purchases, "measured": self.measured, "no_history": self.no_history,
            "no_scores": self.no_scores, "out_of_reach": self.out_of_reach, "metrics": self.metrics,
            "differences": {name: d.as_dict() for name, d in self.differences.items()},
            "unchanged": self.unchanged,
        }


def split_purchases(events: pd.DataFrame, test_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """(events strictly before the split, test purchases, split time) of a prepared events frame:
    the latest ``test_fraction`` of the purchases (one per user, item and basket) are the test."""
    purchases = events[events[EVENT_COL] == TRANSACTION]
    keys = [c for c in (USER_COL, ITEM_COL, BASKET_COL) if c in purchases.columns]
    purchases = purchases.drop_duplicates(keys).sort_values(TIME_COL, kind="stable")
    if len(purchases) < MIN_PURCHASES:
        raise NotEnoughPurchases(f"{len(purchases)} purchases in the shop's events: at least {MIN_PURCHASES} "
                                 "are needed to hold out the latest ones")
    n_test = max(1, int(round(len(purchases) * test_fraction)))
    split_at = purchases[TIME_COL].iloc[len(purchases) - n_test]
    train = events[events[TIME_COL] < split_at]
    if len(train) < MIN_TRAIN_EVENTS or train[USER_COL].nunique() < 2 or train[ITEM_COL].nunique() < 2:
        raise NotEnoughPurchases(f"{len(train)} events before the split time {split_at:%Y-%m-%d %H:%M}: at least "
                                 f"{MIN_TRAIN_EVENTS} from two shoppers on two products are needed to fit a model")
    return train, purchases[purchases[TIME_COL] >= split_at], split_at


def fit_heldout(train: pd.DataFrame, config: TrainingConfig, model: str) -> LoadedVersion:
    """``model`` fitted on ``train`` as training refits its champion, held as a served version."""
    spec = CANDIDATES[model]
    cache = InteractionCache(train, half_life_days=config.recency_half_life_days)
    reason = spec.skip_reason(train, cache.id_map.n_items, config)
    if reason:
        raise NotEnoughPurchases(f"{model} cannot be fitted here: {reason}")
    data = cache.fit_data(config.event_weights)
    fitted = spec.train(spec.resolved_params(config), data)
    manifest = {"version": "heldout", "champion": model, "event_weights": dict(config.event_weights),
                "trained_until": train[TIME_COL].max().isoformat(), "config": config.to_dict()}
    return LoadedVersion("heldout", manifest, cache.id_map, data.matrix, {RECOMMENDER: fitted})


def per_purchase(ranked: list[int], product_id: int, cutoffs: list[int]) -> dict[str, float]:
    """Each metric at each cut-off of one ranked list with one relevant product."""
    return {f"{name}@{k}": metric([ranked], [{product_id}], k) for k in cutoffs for name, metric in METRICS.items()}


def shop_config(protocol: RerankProtocol) -> TrainingConfig:
    """The shop's training settings (event weights, recency, threads) for one seeded candidate."""
    from storefront.training.job import training_config

    return dataclasses.replace(training_config(), seed=protocol.seed, search=False,
                               candidates=(protocol.model,), incumbent=None)


def evaluate_rerank(protocol: RerankProtocol, events: pd.DataFrame | None = None,
                    config: TrainingConfig | None = None) -> RerankResult:
    """Run the protocol (module doc) on ``events`` (default: the shop's training events) against
    the current search index. Reads only; nothing is published or written."""
    if protocol.model not in CANDIDATES:
        raise ValueError(f"unknown model {protocol.model!r} (known: {', '.join(CANDIDATES)})")
    if events is None:
        from storefront.training.data import load_events_frame

        events = load_events_frame()
    if events.empty:
        raise NotEnoughPurchases("the shop has no events: seed it or import some first")
    events = prepare_events(events)
    train, test, split_at = split_purchases(events, protocol.test_fraction)
    version = fit_heldout(train, config or shop_config(protocol), protocol.model)
    known = set(train[USER_COL])

    product_ids = [int(item) for item in test[ITEM_COL]]
    categories = dict(db.session.execute(
        select(Product.id, Category.name).join(Category, Product.category_id == Category.id)
        .where(Product.id.in_(set(product_ids)))).all())
    results: dict[str, list[int]] = {}
    affinities: dict[str, dict[int, float]] = {}
    rows = {order: [] for order in ORDERS}
    rest, no_history, no_scores, out_of_reach = [], 0, 0, 0
    for user, product_id in zip(test[USER_COL], product_ids):
        query = categories.get(product_id) or ""
        if query not in results:
            results[query] = find(query, limit=FIND_LIMIT).product_ids if query else []
        ranked = results[query]
        if user not in known:
            no_history += 1
            rest.append(per_purchase(ranked, product_id, protocol.cutoffs))
            continue
        if user not in affinities:
            affinities[user] = affinity_for(version, user, ())  # all their history is in the trained row
        if not affinities[user]:
            no_scores += 1
            rest.append(per_purchase(ranked, product_id, protocol.cutoffs))
            continue
        out_of_reach += product_id not in ranked[:RERANK_TOP]
        rows["engine"].append(per_purchase(ranked, product_id, protocol.cutoffs))
        rows["reranked"].append(per_purchase(blend(ranked, affinities[user], RERANK_TOP), product_id, protocol.cutoffs))

    names = list(per_purchase([], 0, protocol.cutoffs))
    values = {order: {name: np.array([row[name] for row in rows[order]]) for name in names} for order in ORDERS}
    return RerankResult(
        protocol=protocol, split_at=split_at, train_events=len(train), test_purchases=len(test),
        no_history=no_history, no_scores=no_scores, out_of_reach=out_of_reach,
        metrics={order: {name: float(v.mean()) if v.size else 0.0 for name, v in values[order].items()}
                 for order in ORDERS},
        differences={name: paired_bootstrap(values["reranked"][name], values["engine"][name], seed=protocol.seed)
                     for name in names},
        unchanged={name: float(np.mean([row[name] for row in rest])) if rest else 0.0 for name in names},
    )

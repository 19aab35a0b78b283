"""Offline evaluation of the item-to-item rows against held-out baskets (``flask ml evaluate-baskets``).

The question a "frequently bought together" row answers is "what else goes in this basket?".
So, on a **time split**: the models are fitted on the events before a cut-off (the time that
leaves ``test_fraction`` of the events after it), and every basket that *started* after it (its
visit's first cart event; a basket that straddles the cut-off is in neither part, so none of a
test basket's carts is learnt from) is a test basket. Each item of a test basket with at least
two items seen in training is an **anchor**; its relevant items are the basket's other items.
Per anchor, the model's row of ``k`` items (never the anchor) scores

- ``hit_rate@k``: 1 when the row holds one of them at least;
- ``recall@k``: the share of them it holds.

Both are averaged over anchors; their 95% intervals are percentiles of a bootstrap over the test
baskets (anchors of one basket are not independent, so baskets are resampled), and the same
resamples give paired intervals on the differences between complements and each other row.

The rows compared are what a version publishes: ``complements`` ("frequently bought together"),
``similar`` (item-kNN), ``also_bought`` (lift) and ``popularity`` (trending), fitted by
:func:`ml.training.pipeline.fit_helper_models`. Over the whole catalogue, the models fitted on
*all* events also give the mean **overlap** of each item's top ``row_size`` complements with
its top ``row_size`` similar items (shared items / the shorter row, over items with both rows)
and, where the catalogue has planted complement pairs (the demo shop), the share of anchors
whose planted complement is in their top ``planted_k`` (raw, and as served: items the shop
hides, e.g. sold out, left out of the row first, anchors with a hidden complement left out).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.artifacts import ALSO_BOUGHT, COMPLEMENTS, POPULAR, SIMILAR
from ml.constants import EVENT_COL, ITEM_COL, SEED, TIME_COL
from ml.data.idmap import IdMap
from ml.models.base import Recommender
from ml.training.baskets import BASKET_EVENTS, basket_keys, basket_matrix, visit_keys
from ml.training.candidates import InteractionCache
from ml.training.config import TrainingConfig
from ml.training.pipeline import fit_helper_models, prepare_events

#: The rows compared, by the name reported, and the role each is published under.
ROWS = {"complements": COMPLEMENTS, "similar": SIMILAR, "also_bought": ALSO_BOUGHT, "popularity": POPULAR}
PLANTED_COLUMNS = ("item_id", "complement_id")


@dataclass(frozen=True)
class BasketProtocol:
    test_fraction: float = 0.2
    k: int = 10
    seed: int = SEED
    resamples: int = 1000
    row_size: int = 8
    planted_k: int = 5

    def __post_init__(self) -> None:
        if not 0 < self.test_fraction < 1:
            raise ValueError("test_fraction must be strictly between 0 and 1")
        if min(self.k, self.resamples, self.row_size, self.planted_k) < 1:
            raise ValueError("k, resamples, row_size and planted_k must be >= 1")

    def describe(self) -> str:
        return (f"time split (baskets started after the cut-off that leaves {self.test_fraction:g} of the events "
                f"after it), anchors = items of test baskets with >= 2 items seen in training, relevant = the "
                f"basket's other items, k={self.k}, 95% percentile intervals over {self.resamples} bootstrap "
                f"resamples of the test baskets (seed {self.seed})")


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci95_low": self.low, "ci95_high": self.high}


@dataclass
class BasketEvaluation:
    protocol: BasketProtocol
    metrics: dict[str, dict[str, Estimate]]  # row -> metric -> estimate
    versus: dict[str, Estimate]  # "complements - similar" -> difference of hit_rate@k
    overlap: dict[str, float]  # "complements/similar" -> mean overlap over the catalogue
    planted: dict[str, dict[str, float]] | None  # row -> share of anchors (raw, served), counts
    data: dict[str, int] = field(default_factory=dict)

    def records(self) -> list[dict]:
        """Flat records (JSON/CSV): one per (row, metric), then the differences, overlaps, planted."""
        base = dataclasses.asdict(self.protocol)
        out = [{"kind": "holdout", "row": row, "metric": metric, **value.as_dict(), **base}
               for row, metrics in self.metrics.items() for metric, value in metrics.items()]
        out += [{"kind": "difference", "row": pair, "metric": f"hit_rate@{self.protocol.k}", **value.as_dict(),
                 **base} for pair, value in self.versus.items()]
        out += [{"kind": "overlap", "row": pair, "metric": f"overlap@{self.protocol.row_size}", "mean": value,
                 **base} for pair, value in self.overlap.items()]
        for row, found in (self.planted or {}).items():
            out += [{"kind": "planted", "row": row, "metric": name, "mean": value, **base}
                    for name, value in found.items()]
        # NaN (e.g. no item with both rows) is not JSON: it becomes null
        return [{key: None if isinstance(v, float) and v != v else v for key, v in r.items()} for r in out]


def split_baskets(events: pd.DataFrame, test_fraction: float) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """(the events before the cut-off, each test basket's item ids), see the module doc."""
    if TIME_COL not in events.columns:
        raise ValueError("the basket evaluation needs event times (a time split)")
    times = events[TIME_COL]
    cutoff = times.sort_values(kind="stable").iloc[min(int(len(times) * (1 - test_fraction)), len(times) - 1)]
    keys = basket_keys(events)
    carts = keys.notna().to_numpy()
    visits = visit_keys(events)
    # a basket starts with the first cart event of its visits (an order's carts precede its purchase)
    in_cart = events[EVENT_COL].astype(str).isin(BASKET_EVENTS).to_numpy() if EVENT_COL in events.columns else carts
    first_cart = times[in_cart].groupby(visits[in_cart].to_numpy()).min()
    basket_visit = pd.DataFrame({"basket": keys[carts].to_numpy(), "visit": visits[carts].to_numpy()})
    starts = basket_visit.assign(start=basket_visit["visit"].map(first_cart)).groupby("basket")["start"].min()
    test_keys = set(starts.index[starts >= cutoff])
    chosen = carts & keys.isin(test_keys).to_numpy()
    grouped = events.loc[chosen, ITEM_COL].astype(str).groupby(keys[chosen].to_numpy())
    baskets = [np.unique(items.to_numpy()) for _, items in grouped]
    return events[(times < cutoff).to_numpy()], baskets


def _row(models: dict[str, Recommender], row: str, index: int, n: int, popular: np.ndarray) -> np.ndarray:
    if row == "popularity":
        return popular[popular != index][:n]
    model = models.get(ROWS[row])
    return model.similar_items(index, N=n)[0] if model is not None else np.empty(0, np.int64)


def _popular_order(models: dict[str, Recommender], n_items: int) -> np.ndarray:
    return models[POPULAR].recommend(0, sp.csr_matrix((1, n_items)), N=n_items, filter_already_liked_items=False)[0]


def _per_basket(models: dict[str, Recommender], id_map: IdMap, baskets: list[np.ndarray], k: int
                ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(anchors per basket, hits per basket per row, recall sums per basket per row)."""
    popular = _popular_order(models, id_map.n_items)[: k + 1]
    cache: dict[tuple[str, int], set[int]] = {}
    anchors, hits, recall = [], {r: [] for r in ROWS}, {r: [] for r in ROWS}
    for basket in baskets:
        known = id_map.item_indices(list(basket))
        known = known[known >= 0]
        if len(known) < 2:
            continue
        anchors.append(len(known))
        for row in ROWS:
            h = r = 0.0
            for anchor in known.tolist():
                if (row, anchor) not in cache:
                    cache[row, anchor] = set(_row(models, row, anchor, k, popular).tolist())
                found = len(cache[row, anchor] & set(known.tolist()))
                h += found > 0
                r += found / (len(known) - 1)
            hits[row].append(h)
            recall[row].append(r)
    as_arrays = {r: np.asarray(v, dtype=np.float64) for r, v in hits.items()}
    return np.asarray(anchors, dtype=np.float64), as_arrays, {r: np.asarray(v, np.float64) for r, v in recall.items()}


def _bootstrap(anchors: np.ndarray, sums: dict[str, np.ndarray], resamples: int, seed: int) -> dict[str, np.ndarray]:
    """Each entry's ratio sum / anchors over ``resamples`` resamples of the baskets (chunked)."""
    rng = np.random.default_rng(seed)
    n = len(anchors)
    out: dict[str, list[np.ndarray]] = {name: [] for name in sums}
    for start in range(0, resamples, 100):
        take = rng.integers(0, n, size=(min(100, resamples - start), n))
        total = anchors[take].sum(axis=1)
        for name, values in sums.items():
            out[name].append(values[take].sum(axis=1) / total)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _interval(point: float, draws: np.ndarray) -> Estimate:
    low, high = np.percentile(draws, [2.5, 97.5]) if len(draws) else (np.nan, np.nan)
    return Estimate(float(point), float(low), float(high))


def catalogue_overlap(models: dict[str, Recommender], n_items: int, row_size: int, row: str = COMPLEMENTS,
                      against: str = SIMILAR) -> tuple[float, int]:
    """Mean of |top ``row_size`` of ``row`` and of ``against`` in common| / the shorter row's
    length, over the items with both rows non-empty; and how many items that is."""
    first, second = models.get(row), models.get(against)
    if first is None or second is None:
        return float("nan"), 0
    shares = []
    for index in range(n_items):
        a, b = first.similar_items(index, N=row_size)[0], second.similar_items(index, N=row_size)[0]
        if len(a) and len(b):
            shares.append(len(np.intersect1d(a, b)) / min(len(a), len(b)))
    return (float(np.mean(shares)) if shares else float("nan")), len(shares)


def planted_found(models: dict[str, Recommender], id_map: IdMap, planted: pd.DataFrame, n: int,
                  hidden: Collection[str] = (), supported: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Per row: the share of planted anchors (known to the models) whose complement is in the
    anchor's top ``n`` (``top``); the same with ``hidden`` items left out of the row first, over
    the anchors whose complement is not hidden itself (``served``: what a product page shows);
    and both over the anchors in at least one basket (``supported``)."""
    anchors = id_map.item_indices(planted[PLANTED_COLUMNS[0]].astype(str).tolist())
    targets = id_map.item_indices(planted[PLANTED_COLUMNS[1]].astype(str).tolist())
    ok = (anchors >= 0) & (targets >= 0)
    anchors, targets = anchors[ok], targets[ok]
    hide = id_map.item_indices(list(hidden))
    hide = hide[hide >= 0]
    evidence = supported[anchors] > 0 if supported is not None else np.ones(len(anchors), bool)
    showable = ~np.isin(targets, hide)  # a sold-out complement cannot be served: not counted there
    found: dict[str, dict[str, float]] = {}
    for row in ("complements", "also_bought", "similar"):
        model = models.get(ROWS[row])
        if model is None or not len(anchors):
            continue
        top, served = [], []
        for anchor, target in zip(anchors.tolist(), targets.tolist()):
            ids = model.similar_items(anchor, N=n + len(hide))[0]
            top.append(target in ids[:n])
            served.append(target in ids[~np.isin(ids, hide)][:n])
        top, served = np.asarray(top), np.asarray(served)
        found[row] = {f"top{n}": _share(top, np.ones(len(top), bool)), f"served_top{n}": _share(served, showable),
                      f"supported_top{n}": _share(top, evidence),
                      f"supported_served_top{n}": _share(served, evidence & showable),
                      "anchors": int(len(anchors)), "supported_anchors": int(evidence.sum()),
                      "showable_anchors": int(showable.sum())}
    return found


def _share(found: np.ndarray, among: np.ndarray) -> float:
    return float(found[among].mean()) if among.any() else float("nan")


def evaluate_baskets(events: pd.DataFrame, protocol: BasketProtocol = BasketProtocol(),
                     config: TrainingConfig | None = None, items: pd.DataFrame | None = None,
                     planted: pd.DataFrame | None = None, hidden: Collection[str] = ()) -> BasketEvaluation:
    """The module doc's evaluation. ``items`` is the optional items frame of training;
    ``planted`` has ``item_id`` and ``complement_id`` columns; ``hidden`` are item ids serving
    would not show (for the served planted share)."""
    config = config or TrainingConfig(search=False)
    events = prepare_events(events)
    train_events, baskets = split_baskets(events, protocol.test_fraction)
    if train_events.empty:
        raise ValueError("no events before the cut-off to fit on")
    train_cache = InteractionCache(train_events, half_life_days=config.recency_half_life_days)
    models, _ = fit_helper_models(train_events, train_cache, config, items)
    anchors, hits, recall = _per_basket(models, train_cache.id_map, baskets, protocol.k)
    if not len(anchors):
        raise ValueError("no test basket holds two items seen before the cut-off: nothing to evaluate")
    k = protocol.k
    sums = {**{f"{r}:hit": v for r, v in hits.items()}, **{f"{r}:recall": v for r, v in recall.items()}}
    draws = _bootstrap(anchors, sums, protocol.resamples, protocol.seed)
    total = anchors.sum()
    metrics = {row: {f"hit_rate@{k}": _interval(hits[row].sum() / total, draws[f"{row}:hit"]),
                     f"recall@{k}": _interval(recall[row].sum() / total, draws[f"{row}:recall"])} for row in ROWS}
    versus = {f"complements - {row}": _interval((hits["complements"].sum() - hits[row].sum()) / total,
                                                draws["complements:hit"] - draws[f"{row}:hit"])
              for row in ROWS if row != "complements"}
    full_cache = InteractionCache(events, half_life_days=config.recency_half_life_days)
    full_models, n_baskets = fit_helper_models(events, full_cache, config, items)
    n_items = full_cache.id_map.n_items
    overlap, n_both = catalogue_overlap(full_models, n_items, protocol.row_size)
    today, n_today = catalogue_overlap(full_models, n_items, protocol.row_size, row=ALSO_BOUGHT)
    found = None
    if planted is not None and len(planted):
        support = np.asarray(basket_matrix(events, full_cache.id_map).sum(axis=0)).ravel()
        found = planted_found(full_models, full_cache.id_map, planted, protocol.planted_k, hidden, support)
    data = {"events": len(events), "train_events": len(train_events), "test_baskets": len(anchors),
            "anchors": int(total), "items": n_items, "baskets_all_events": int(n_baskets),
            "overlap_items": n_both, "overlap_items_also_bought": n_today}
    return BasketEvaluation(protocol, metrics, versus, {"complements/similar": overlap, "also_bought/similar": today},
                            found, data)

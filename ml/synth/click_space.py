"""Arrays behind :mod:`ml.synth.clicks`: the shop's catalogue, shoppers and sessions as numpy
indices, and the candidate sampler that fills a widget's slots.

Everything is derived from the public :class:`ml.synth.shop.SyntheticShop` tables (the latent
simulation state is not exposed), so the click log can be simulated for any generated shop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.synth.shop import SyntheticShop

TASTE_ORDER_WEIGHT, POPULARITY_ORDER_WEIGHT = 1.5, 0.3  # the "retrieval" order of a widget
TASTE, CONTEXT, POPULAR, RANDOM = 0, 1, 2, 3  # candidate sources, SOURCE_MIX's column order


@dataclass
class ClickSpace:
    skus: np.ndarray             # item index -> SKU
    item_leaf: np.ndarray        # item -> category index
    item_dept: np.ndarray        # item -> department (category index)
    item_brand: np.ndarray       # item -> brand code
    item_log_ratio: np.ndarray   # log(price / the category's price level)
    popularity: np.ndarray       # sampling weight (0 for items a widget may not show)
    buyable_items: np.ndarray    # indices of active, in-stock items
    by_leaf: np.ndarray          # items sorted by category
    leaf_offsets: np.ndarray     # items of category c are by_leaf[offsets[c]:offsets[c + 1]]
    leaf_cum: np.ndarray         # cumulative popularity along by_leaf (leading 0)
    cat_index: dict[str, int]
    cat_dept: np.ndarray         # category index -> its department (itself for a department)
    brand_index: dict[str, int]
    shopper_keys: np.ndarray
    taste: np.ndarray            # (shoppers, 3) taste categories, -1 padded
    taste_dept: np.ndarray       # (shoppers, 3) their departments, -1 padded
    fav_brand: np.ndarray        # (shoppers, 2) favourite brand codes, -1 padded
    log_price_level: np.ndarray
    event_item: np.ndarray       # per event of shop.events
    event_shopper: np.ndarray
    event_time: np.ndarray       # datetime64[ns]
    event_device: np.ndarray
    event_session_key: np.ndarray
    hour: np.ndarray
    weekend: np.ndarray
    session_order: np.ndarray    # event indices grouped by session
    session_offsets: np.ndarray
    session_counts: np.ndarray


def _padded(lists: list[list[int]], width: int) -> np.ndarray:
    out = np.full((len(lists), width), -1, dtype=np.int64)
    for row, values in enumerate(lists):
        out[row, : min(len(values), width)] = values[:width]
    return out


def _split(column: pd.Series, index: dict[str, int]) -> list[list[int]]:
    return [[index[v] for v in str(text).split(",") if v in index] for text in column.fillna("")]


def build_space(shop: SyntheticShop) -> ClickSpace:
    cats = shop.categories.reset_index(drop=True)
    cat_index = {key: i for i, key in enumerate(cats["key"])}
    parent = cats["parent_key"].map(cat_index)
    cat_dept = np.where(parent.isna(), np.arange(len(cats)), parent.fillna(-1)).astype(np.int64)
    level = cats["price_level"].to_numpy(np.float64)
    products = shop.products.reset_index(drop=True)
    shoppers = shop.shoppers.reset_index(drop=True)
    fav_lists = [str(t).split(",") for t in shoppers["favorite_brands"].fillna("")]
    brands = sorted(set(products["brand"].astype(str)) | {b for names in fav_lists for b in names if b})
    brand_index = {name: i for i, name in enumerate(brands)}
    item_leaf = products["category_key"].map(cat_index).to_numpy(np.int64)
    buyable = products["active"].to_numpy(bool) & (products["stock"].to_numpy() > 0)
    views = products["sku"].map(shop.events["sku"].value_counts()).fillna(0).to_numpy(np.float64)
    popularity = (views + 1.0) ** 0.8 * buyable
    by_leaf = np.argsort(item_leaf, kind="stable")
    taste = _padded(_split(shoppers["taste_categories"], cat_index), 3)
    events = shop.events
    sku_index = {sku: i for i, sku in enumerate(products["sku"])}
    codes, _ = pd.factorize(events["session_key"])
    counts = np.bincount(codes)
    times = pd.DatetimeIndex(events["occurred_at"])
    return ClickSpace(
        skus=products["sku"].to_numpy(object), item_leaf=item_leaf, item_dept=cat_dept[item_leaf],
        item_brand=products["brand"].astype(str).map(brand_index).to_numpy(np.int64),
        item_log_ratio=np.log(products["price"].to_numpy(np.float64) / level[item_leaf]),
        popularity=popularity, buyable_items=np.flatnonzero(buyable), by_leaf=by_leaf,
        leaf_offsets=np.searchsorted(item_leaf[by_leaf], np.arange(len(cats) + 1)),
        leaf_cum=np.concatenate([[0.0], np.cumsum(popularity[by_leaf])]),
        cat_index=cat_index, cat_dept=cat_dept, brand_index=brand_index,
        shopper_keys=shoppers["shopper_key"].to_numpy(object), taste=taste,
        taste_dept=np.where(taste >= 0, cat_dept[np.maximum(taste, 0)], -1),
        fav_brand=_padded([[brand_index[b] for b in names if b] for names in fav_lists], 2),
        log_price_level=np.log(shoppers["price_level"].to_numpy(np.float64)),
        event_item=events["sku"].map(sku_index).to_numpy(np.int64),
        event_shopper=events["shopper_key"].map({k: i for i, k in enumerate(shoppers["shopper_key"])}).to_numpy(np.int64),
        event_time=times.to_numpy("datetime64[ns]"), event_device=events["device"].to_numpy(object),
        event_session_key=events["session_key"].to_numpy(object),
        hour=times.hour.to_numpy(), weekend=times.day_of_week.to_numpy() >= 5,
        session_order=np.argsort(codes, kind="stable"), session_counts=counts,
        session_offsets=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
    )


def _random_items(rng: np.random.Generator, sp: ClickSpace, shape) -> np.ndarray:
    return sp.buyable_items[rng.integers(0, len(sp.buyable_items), size=shape)]


def _in_category(rng: np.random.Generator, sp: ClickSpace, leaf: np.ndarray) -> np.ndarray:
    """A popularity draw within each row's category; -1 where the category has no shown item."""
    safe = np.maximum(leaf, 0)
    lo, hi = sp.leaf_cum[sp.leaf_offsets[safe]], sp.leaf_cum[sp.leaf_offsets[safe + 1]]
    spot = np.searchsorted(sp.leaf_cum, lo + rng.random(len(leaf)) * (hi - lo), side="right") - 1
    spot = np.clip(spot, sp.leaf_offsets[safe], np.maximum(sp.leaf_offsets[safe + 1] - 1, sp.leaf_offsets[safe]))
    return np.where((leaf >= 0) & (hi > lo), sp.by_leaf[np.minimum(spot, len(sp.by_leaf) - 1)], -1)


def _first_unique(candidates: np.ndarray, context: np.ndarray, slots: int) -> np.ndarray:
    """The first ``slots`` distinct valid items of each row in row order (-1 where too few):
    duplicates keep their first occurrence, the page's own product and -1 are skipped."""
    n, k = candidates.shape
    order = np.argsort(candidates, axis=1, kind="stable")
    ordered = np.take_along_axis(candidates, order, axis=1)
    repeated = np.zeros((n, k), dtype=bool)
    repeated[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    duplicate = np.empty_like(repeated)
    np.put_along_axis(duplicate, order, repeated, axis=1)
    valid = ~duplicate & (candidates >= 0) & (candidates != context[:, None])
    rank = np.cumsum(valid, axis=1)
    rows, cols = np.nonzero(valid & (rank <= slots))
    out = np.full((n, slots), -1, dtype=np.int64)
    out[rows, rank[rows, cols] - 1] = candidates[rows, cols]
    return out


def fill_slots(rng: np.random.Generator, sp: ClickSpace, shopper: np.ndarray, context: np.ndarray,
               mix: np.ndarray, slots: int, n_candidates: int) -> np.ndarray:
    """``slots`` distinct shown items per impression, best-first by a noisy relevance score.

    ``mix`` (impressions x 4) gives each row's shares of candidate sources (taste category,
    the page product's category, global popularity, uniform random).
    """
    n = len(shopper)
    if len(sp.buyable_items) < slots + 1:
        raise ValueError(f"need at least {slots + 1} active, in-stock products to fill {slots} slots")
    shape = (n, n_candidates)
    source = (rng.random(shape)[:, :, None] > np.cumsum(mix, axis=1)[:, None, :]).sum(axis=2)
    who = np.repeat(shopper, n_candidates)
    n_taste = np.maximum((sp.taste[who] >= 0).sum(axis=1), 1)
    taste_leaf = sp.taste[who, np.floor(rng.random(len(who)) * n_taste).astype(np.int64)]
    page = np.repeat(context, n_candidates)
    page_leaf = np.where(page >= 0, sp.item_leaf[np.maximum(page, 0)], taste_leaf)
    flat = source.ravel()
    leaf = np.where(flat == CONTEXT, page_leaf, taste_leaf)
    in_leaf = _in_category(rng, sp, leaf)
    cumulative = np.cumsum(sp.popularity)
    popular = np.searchsorted(cumulative, rng.random(len(who)) * cumulative[-1], side="right")
    popular = np.minimum(popular, len(sp.popularity) - 1)
    random = _random_items(rng, sp, len(who))
    chosen = np.where(flat == POPULAR, popular, np.where(flat == RANDOM, random, in_leaf))
    candidates = np.where(chosen >= 0, chosen, random).reshape(shape)
    taste_hit = (sp.item_leaf[candidates][:, :, None] == sp.taste[shopper][:, None, :]).any(axis=2)
    score = (TASTE_ORDER_WEIGHT * taste_hit + POPULARITY_ORDER_WEIGHT * np.log(sp.popularity[candidates] + 1e-9)
             + rng.gumbel(size=shape))
    candidates = np.take_along_axis(candidates, np.argsort(-score, axis=1, kind="stable"), axis=1)
    out = _first_unique(candidates, context, slots)
    for _ in range(100):  # top up the rare rows short of distinct items with random ones
        short = np.flatnonzero((out < 0).any(axis=1))
        if not len(short):
            break
        more = np.concatenate([out[short], _random_items(rng, sp, (len(short), slots))], axis=1)
        out[short] = _first_unique(more, context[short], slots)
    return out

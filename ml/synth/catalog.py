"""Catalogue half of the synthetic shop generator (see :mod:`ml.synth.shop`).

Turns the word lists of :mod:`ml.synth.vocabulary` into a category tree and a product table with per-category price levels, brand price
tiers, Zipf-like popularity and planted complement products. Everything is driven by the
``numpy.random.Generator`` passed in, so the result is a pure function of the seed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ml.synth.vocabulary import (
    Department,
    Leaf,
    DEPARTMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    COMPLEMENT_LEAVES,
    TIER_WORDS,
)


ZIPF_EXPONENT = 1.1          # popularity ~ 1 / rank**s within a category
PRICE_SIGMA = 0.35           # lognormal spread of prices around the category level
INACTIVE_SHARE, SOLD_OUT_SHARE, LOW_STOCK_SHARE = 0.02, 0.03, 0.04
P_SAME_BRAND_COMPLEMENT = 0.6  # accessories of a brand's products come from the same brand when it has any


@dataclass
class Catalog:
    """Category tree and products plus the latent arrays the shopper simulation needs.

    Arrays are indexed by internal product position; products are stored contiguously by
    leaf so that per-category sampling is a single ``searchsorted`` on cumulative weights.
    """

    categories: pd.DataFrame
    products: pd.DataFrame
    complements: pd.DataFrame
    leaf_keys: np.ndarray        # leaf index -> slug
    leaf_dept: np.ndarray        # leaf index -> department index
    leaf_level: np.ndarray       # leaf index -> price level
    leaf_popularity: np.ndarray  # leaf index -> share of traffic (sums to 1)
    leaf_offsets: np.ndarray     # products of leaf c are [offsets[c], offsets[c + 1])
    brand_names: np.ndarray      # global brand index -> name
    brand_dept: np.ndarray       # global brand index -> department index
    product_leaf: np.ndarray
    product_brand: np.ndarray
    log_price_ratio: np.ndarray  # log(price / leaf level): where the item sits in its category
    popularity: np.ndarray       # within-leaf Zipf weight (inactive items damped)
    buyable: np.ndarray          # active and in stock
    complement: np.ndarray       # complement product index or -1
    skus: np.ndarray             # object array of SKU strings


def article(word: str) -> str:
    """Return "a" or "an" for ``word`` so generated descriptions read naturally."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def soft_lower(words: str) -> str:
    """Lower-case words mid-sentence but keep acronyms and sizes (4K, LED, microSD, 128GB)."""
    return " ".join(w if re.search(r"[A-Z]{2}|\d", w) else w.lower() for w in words.split())


def select_leaves(n_departments: int, n_categories: int) -> list[tuple[int, Leaf]]:
    """Spread ``n_categories`` leaves round-robin over the first ``n_departments`` departments."""
    if not 1 <= n_departments <= len(DEPARTMENTS):
        raise ValueError(f"n_departments must be in [1, {len(DEPARTMENTS)}]")
    capacity = [len(DEPARTMENTS[d].leaves) for d in range(n_departments)]
    if not n_departments <= n_categories <= sum(capacity):
        raise ValueError(f"n_categories must be in [{n_departments}, {sum(capacity)}]")
    taken = [0] * n_departments
    d = 0
    for _ in range(n_categories):
        while taken[d] >= capacity[d]:
            d = (d + 1) % n_departments
        taken[d] += 1
        d = (d + 1) % n_departments
    return [(d, DEPARTMENTS[d].leaves[i]) for d in range(n_departments) for i in range(taken[d])]


def _split_counts(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Largest-remainder split of ``total`` items proportional to ``weights`` with a floor."""
    floor = min(minimum, total // len(weights))
    rest = total - floor * len(weights)
    raw = weights / weights.sum() * rest
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(-(raw - counts), kind="stable")[: rest - counts.sum()]] += 1
    return counts + floor


def _nice_prices(raw: np.ndarray) -> np.ndarray:
    """Round to shop-like prices: x.99 from 10 up, x.49/x.99 below, never below 0.99."""
    cheap = np.maximum(np.round(raw * 2) / 2 - 0.01, 0.99)
    return np.round(np.where(raw >= 10, np.round(raw) - 0.01, cheap), 2)


def _describe(rng: np.random.Generator, dept: Department, leaf: Leaf, brand: str, qual: str, noun: str) -> str:
    """One to three sentences: the item and its material, then optional features and use."""
    plural = noun.endswith("s") and not noun.endswith("ss")
    head = f"{soft_lower(qual)} {soft_lower(noun)}"
    head = head if plural else f"{article(qual)} {head}"
    text = f"{head[0].upper()}{head[1:]} from {brand}, made with {leaf.materials[rng.integers(len(leaf.materials))]}."
    if rng.random() < 0.8:
        f1, f2 = rng.choice(len(dept.features), size=2, replace=False)
        text += f" {'They feature' if plural else 'It features'} {dept.features[f1]} and {dept.features[f2]}."
    if rng.random() < 0.5:
        text += f" Ideal for {dept.uses[rng.integers(len(dept.uses))]}."
    return text


def _product_texts(rng: np.random.Generator, leaves: list[tuple[int, Leaf]], product_leaf: np.ndarray,
                   brand_names: np.ndarray, product_brand: np.ndarray) -> tuple[list[str], list[str]]:
    """Unique names ("Brand Tier Qualifier Noun Variant") and 1-3 sentence descriptions."""
    names: list[str] = []
    descriptions: list[str] = []
    seen: set[str] = set()
    for i, leaf_idx in enumerate(product_leaf.tolist()):
        dept_idx, leaf = leaves[leaf_idx]
        dept = DEPARTMENTS[dept_idx]
        brand = str(brand_names[product_brand[i]])
        noun, qual = leaf.nouns[rng.integers(len(leaf.nouns))], leaf.qualifiers[rng.integers(len(leaf.qualifiers))]
        tier = TIER_WORDS[rng.integers(len(TIER_WORDS))]
        lo, hi = dept.numbers
        for attempt in range(200):  # widen the number range when a block of draws keeps colliding
            number = int(rng.integers(lo, hi + 1)) + (hi + 1) * (attempt // 20)
            name = f"{brand} {tier} {qual} {noun} {dept.variants[rng.integers(len(dept.variants))]}{number}"
            if name not in seen:
                break
        else:
            name = f"{name}-{i}"
        seen.add(name)
        names.append(name)
        descriptions.append(_describe(rng, dept, leaf, brand, qual, noun))
    return names, descriptions


def _plant_complements(rng: np.random.Generator, leaf_keys: list[str], offsets: np.ndarray,
                       brand: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Give each product of a primary leaf one accessory in the partner leaf (same brand if possible)."""
    complement = np.full(len(brand), -1, dtype=np.int64)
    for primary, accessory in COMPLEMENT_LEAVES:
        if primary not in leaf_keys or accessory not in leaf_keys:
            continue
        a, b = leaf_keys.index(primary), leaf_keys.index(accessory)
        src, dst = np.arange(offsets[a], offsets[a + 1]), np.arange(offsets[b], offsets[b + 1])
        for brand_id in np.unique(brand[src]):
            items = src[brand[src] == brand_id]
            pool = dst[brand[dst] == brand_id] if rng.random() < P_SAME_BRAND_COMPLEMENT else dst
            pool = pool if len(pool) else dst
            p = weight[pool] / weight[pool].sum() if weight[pool].sum() > 0 else None
            complement[items] = rng.choice(pool, size=len(items), p=p)
    return complement


def build_catalog(rng: np.random.Generator, n_departments: int, n_categories: int, n_products: int,
                  end: datetime) -> Catalog:
    """Create departments, leaves, brands and products with prices, stock and popularity."""
    leaves = select_leaves(n_departments, n_categories)
    leaf_keys = [leaf.key for _, leaf in leaves]
    leaf_dept = np.array([d for d, _ in leaves], dtype=np.int64)
    leaf_level = np.round(np.array([leaf.price for _, leaf in leaves]) * np.exp(rng.normal(0, 0.1, len(leaves))), 2)
    leaf_popularity = rng.gamma(2.0, 1.0, len(leaves))
    leaf_popularity /= leaf_popularity.sum()
    cat_rows = []
    for d in range(n_departments):
        cat_rows.append((DEPARTMENTS[d].key, DEPARTMENTS[d].name, None, np.nan))
        cat_rows += [(lf.key, lf.name, DEPARTMENTS[d].key, float(leaf_level[i]))
                     for i, (dd, lf) in enumerate(leaves) if dd == d]
    categories = pd.DataFrame(cat_rows, columns=["key", "name", "parent_key", "price_level"])
    categories["parent_key"] = pd.Series([r[2] for r in cat_rows], dtype=object)

    brand_names = np.array([b for d in range(n_departments) for b in DEPARTMENTS[d].brands], dtype=object)
    brand_dept = np.array([d for d in range(n_departments) for _ in DEPARTMENTS[d].brands], dtype=np.int64)
    brand_pop, brand_tier = rng.gamma(1.5, 1.0, len(brand_names)), np.exp(rng.normal(0, 0.25, len(brand_names)))

    counts = _split_counts(n_products, rng.gamma(4.0, 1.0, len(leaves)), minimum=3)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    product_leaf = np.repeat(np.arange(len(leaves)), counts)
    product_brand = np.empty(n_products, dtype=np.int64)
    popularity = np.empty(n_products)
    for c in range(len(leaves)):
        brands = np.flatnonzero(brand_dept == leaf_dept[c])
        weights = brand_pop[brands] / brand_pop[brands].sum()
        product_brand[offsets[c]:offsets[c + 1]] = rng.choice(brands, size=counts[c], p=weights)
        popularity[offsets[c]:offsets[c + 1]] = 1.0 / (1.0 + rng.permutation(counts[c])) ** ZIPF_EXPONENT
    noise = np.exp(rng.normal(0, PRICE_SIGMA, n_products))
    price = _nice_prices(leaf_level[product_leaf] * brand_tier[product_brand] * noise)
    u = rng.random(n_products)
    stock = np.where(u < SOLD_OUT_SHARE, 0, np.where(u < SOLD_OUT_SHARE + LOW_STOCK_SHARE,
                                                     rng.integers(1, 5, n_products), rng.integers(5, 201, n_products)))
    active = rng.random(n_products) >= INACTIVE_SHARE
    popularity = np.where(active, popularity, 0.3 * popularity)
    buyable = active & (stock > 0)
    created = np.datetime64(end, "s") - rng.integers(1, 365 * 86400, n_products).astype("timedelta64[s]")
    skus = np.array([f"SKU-{n:06d}" for n in rng.permutation(n_products) + 1], dtype=object)
    names, descriptions = _product_texts(rng, leaves, product_leaf, brand_names, product_brand)
    complement = _plant_complements(rng, leaf_keys, offsets, product_brand, popularity * buyable)
    products = pd.DataFrame({
        "sku": skus, "name": names, "description": descriptions, "brand": brand_names[product_brand],
        "price": price, "stock": stock.astype(np.int64),
        "category_key": np.array(leaf_keys, dtype=object)[product_leaf],
        "created_at": created.astype("datetime64[ns]"), "active": active,
    })
    has = complement >= 0
    complements = pd.DataFrame({"sku": skus[has], "complement_sku": skus[complement[has]]})
    return Catalog(categories, products, complements, np.array(leaf_keys, dtype=object), leaf_dept, leaf_level,
                   leaf_popularity, offsets, brand_names, brand_dept, product_leaf, product_brand,
                   np.log(price / leaf_level[product_leaf]), popularity, buyable, complement, skus)


def people(rng: np.random.Generator, n: int, domain: str, prefix: str, seen: set[str]) -> tuple[list[str], list[str]]:
    """Names and unique "first.last123@domain" emails (retries on collision, widening the number)."""
    first = rng.integers(len(FIRST_NAMES), size=n)
    last = rng.integers(len(LAST_NAMES), size=n)
    names, emails = [], []
    for f, g in zip(first.tolist(), last.tolist()):
        attempt = 0
        while True:
            number = int(rng.integers(1, 1000 * (1 + attempt // 20)))
            email = f"{prefix}{FIRST_NAMES[f].lower()}.{LAST_NAMES[g].lower()}{number}@{domain}"
            attempt += 1
            if email not in seen:
                break
        seen.add(email)
        names.append(f"{FIRST_NAMES[f]} {LAST_NAMES[g]}")
        emails.append(email)
    return names, emails


def shift_created_at(products: pd.DataFrame, first_event: np.ndarray, rng: np.random.Generator) -> None:
    """Move ``created_at`` (in place) before a product's first event, so no item is seen before it exists.

    Products never seen keep their draw from the year before ``end``; seen ones move 1 h to
    30 days before their first event when their draw was later than that.
    """
    lead = rng.integers(3600, 30 * 86400, len(products)).astype("timedelta64[s]")
    bound = first_event - lead
    created = products["created_at"].to_numpy()
    moved = np.where(np.isnat(first_event), created, np.minimum(created, bound))
    products["created_at"] = moved.astype("datetime64[ns]")


__all__ = ["Catalog", "build_catalog", "people", "shift_created_at", "select_leaves", "DEPARTMENTS",
           "COMPLEMENT_LEAVES"]

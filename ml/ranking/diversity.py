"""Diversity re-ranking: maximal marginal relevance (MMR) over category and brand.

A model ranks items one at a time, so its top ten is often ten variations of one thing (ten
running shoes). MMR (Carbonell & Goldstein, 1998) builds the list greedily instead: at each step
it takes the candidate with the best

    (1 - lambda) * relevance - lambda * (max similarity to the items already picked)

so lambda 0 keeps the model's order and a larger lambda trades relevance for variety.

Choices, and why:

- **Similarity** is 1 for two items of the same category and ``BRAND_SIMILARITY`` (0.5) for two
  items of different categories but the same brand, else 0. Category is what shoppers read as
  "the same thing"; a brand spans categories (a department's brand sells boots and jackets), so
  a shelf of one brand is less repetitive than a shelf of one category, but still narrower than
  it looks. Half-way says exactly that, and keeps one number to explain. An unknown category or
  brand (code -1) is never similar to anything: missing data must not make items look alike.
- **Relevance** is min-max scaled to [0, 1] over the candidates, so lambda means the same
  trade-off whatever the scale of the scores (EASE's, a cosine, a click probability). The
  shop's widgets pass *rank* relevance (``rank_relevance``): evenly spaced by position, so a
  level behaves the same for every model and for the click model's re-ranked order, whose
  scores the filler never sees. The offline report measures the same definition.
- **Ties** go to the earlier candidate (``np.argmax`` takes the first maximum), so the result is
  deterministic and, with lambda 0, exactly the input order.
- **Levels** map to lambdas in ``LEVELS``; the offline report (README, "Diversity") shows what
  each costs in NDCG@10 and buys in intra-list diversity on the demo shop.

The greedy loop runs ``k`` times (the picks), each step a few vectorised operations over the
candidates, so a pool of 30 costs microseconds; no candidates x candidates matrix is built.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

#: Similarity of two items of different categories but the same brand (same category: 1).
BRAND_SIMILARITY = 0.5
NONE, LOW, MEDIUM, HIGH = "none", "low", "medium", "high"
#: Diversity level -> MMR lambda (the weight of novelty against relevance); see the module doc.
LEVELS: Mapping[str, float] = {NONE: 0.0, LOW: 0.15, MEDIUM: 0.3, HIGH: 0.5}
UNKNOWN = -1


def codes(labels: Iterable[object]) -> np.ndarray:
    """Integer codes (int64) for any labels (category ids, brand names); None, NaN and "" are
    ``UNKNOWN`` (-1), which is never similar to anything."""
    values = pd.Series(list(labels), dtype=object)
    values = values.where(values.map(lambda v: not (isinstance(v, str) and not v.strip())), None)
    found, _ = pd.factorize(values, use_na_sentinel=True)
    return found.astype(np.int64)


def min_max(scores: np.ndarray) -> np.ndarray:
    """``scores`` scaled to [0, 1]; all zeros when they are all equal (nothing to prefer)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    low, high = float(scores.min()), float(scores.max())
    if high - low <= 0.0 or not np.isfinite(high - low):
        return np.zeros_like(scores)
    return (scores - low) / (high - low)


def rank_relevance(n: int) -> np.ndarray:
    """Relevance from position alone: 1 for the first of ``n`` candidates down to 0 for the last."""
    if n <= 1:
        return np.ones(max(n, 0))
    return 1.0 - np.arange(n, dtype=np.float64) / (n - 1)


def similarity_to(index: int, categories: np.ndarray, brands: np.ndarray,
                  brand_similarity: float = BRAND_SIMILARITY) -> np.ndarray:
    """Similarity of every candidate to candidate ``index`` (see the module doc)."""
    category, brand = categories[index], brands[index]
    same_category = (categories == category) & (category != UNKNOWN)
    same_brand = (brands == brand) & (brand != UNKNOWN)
    return np.where(same_category, 1.0, np.where(same_brand, brand_similarity, 0.0))


def mmr(relevance: np.ndarray, categories: np.ndarray, brands: np.ndarray, lam: float,
        k: int | None = None, brand_similarity: float = BRAND_SIMILARITY) -> np.ndarray:
    """Positions of the first ``k`` picks (default: all candidates) of the MMR order.

    ``relevance``: one score per candidate, higher is better (min-max scaled here);
    ``categories``, ``brands``: integer codes per candidate (``codes``; -1 unknown);
    ``lam``: in [0, 1], 0 keeps the relevance order (stable for equal scores).
    """
    relevance = min_max(relevance)
    categories = np.asarray(categories, dtype=np.int64)
    brands = np.asarray(brands, dtype=np.int64)
    n = relevance.size
    if categories.shape != (n,) or brands.shape != (n,):
        raise ValueError(f"{n} scores but {categories.shape} categories and {brands.shape} brands")
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lambda must be in [0, 1], not {lam}")
    k = n if k is None else max(0, min(k, n))
    if lam == 0.0:  # the relevance order; a stable sort keeps equal scores in input order
        return np.argsort(-relevance, kind="stable")[:k]
    gain = (1.0 - lam) * relevance
    closest = np.zeros(n)  # each candidate's max similarity to the picks so far
    available = np.ones(n, dtype=bool)
    picks = np.empty(k, dtype=np.int64)
    for step in range(k):
        value = np.where(available, gain - lam * closest, -np.inf)
        pick = int(np.argmax(value))  # the first maximum: ties go to the earlier candidate
        picks[step] = pick
        available[pick] = False
        np.maximum(closest, similarity_to(pick, categories, brands, brand_similarity), out=closest)
    return picks


def rerank_order(n: int, categories: np.ndarray, brands: np.ndarray, lam: float, k: int,
                 brand_similarity: float = BRAND_SIMILARITY) -> np.ndarray:
    """The serving order of ``n`` ranked candidates: the MMR picks of the first ``k`` slots by
    rank relevance, then the others in their original order (a later rule or step may still
    need them)."""
    if lam == 0.0 or n <= 1:
        return np.arange(n)
    picks = mmr(rank_relevance(n), categories, brands, lam, k, brand_similarity)
    rest = np.setdiff1d(np.arange(n), picks, assume_unique=True)  # sorted: original order
    return np.concatenate([picks, rest])


def pairwise_similarity(categories: np.ndarray, brands: np.ndarray,
                        brand_similarity: float = BRAND_SIMILARITY) -> np.ndarray:
    """lists x k x k similarities of each list's items (``categories``/``brands``: lists x k)."""
    categories = np.atleast_2d(np.asarray(categories, dtype=np.int64))
    brands = np.atleast_2d(np.asarray(brands, dtype=np.int64))
    same_category = (categories[:, :, None] == categories[:, None, :]) & (categories[:, :, None] != UNKNOWN)
    same_brand = (brands[:, :, None] == brands[:, None, :]) & (brands[:, :, None] != UNKNOWN)
    return np.where(same_category, 1.0, np.where(same_brand, brand_similarity, 0.0))


def intra_list_diversity(categories: np.ndarray, brands: np.ndarray, valid: np.ndarray | None = None,
                         brand_similarity: float = BRAND_SIMILARITY) -> np.ndarray:
    """Intra-list diversity of each list: the mean dissimilarity (1 - similarity) over its pairs
    of items. ``categories``/``brands``: lists x k codes; ``valid``: lists x k, False for the
    padding of a short list (left out of the pairs). Range [0, 1]: 0 when every item is of one
    category, 1 when no two share a category or a brand. A list of fewer than two items has no
    pairs: NaN (callers leave it out of means)."""
    categories = np.atleast_2d(np.asarray(categories, dtype=np.int64))
    valid = np.ones(categories.shape, dtype=bool) if valid is None else np.atleast_2d(np.asarray(valid, dtype=bool))
    k = categories.shape[1]
    pairs = np.triu(np.ones((k, k), dtype=bool), 1)[None, :, :] & valid[:, :, None] & valid[:, None, :]
    dissimilar = 1.0 - pairwise_similarity(categories, brands, brand_similarity)
    count = pairs.sum(axis=(1, 2))
    total = np.where(pairs, dissimilar, 0.0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

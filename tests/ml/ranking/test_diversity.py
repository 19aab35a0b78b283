"""MMR re-ranking and intra-list diversity on inputs small enough to check by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ml.ranking.diversity import (
    BRAND_SIMILARITY,
    LEVELS,
    codes,
    intra_list_diversity,
    min_max,
    mmr,
    rank_relevance,
    rerank_order,
)


def test_lambda_zero_is_the_relevance_order():
    scores = np.array([0.2, 0.9, 0.5, 0.9, 0.1])
    order = mmr(scores, np.zeros(5, dtype=int), np.zeros(5, dtype=int), 0.0)
    assert order.tolist() == [1, 3, 2, 0, 4]  # equal scores keep their input order


def test_high_lambda_spreads_categories():
    # three of category 0 at the top, then category 1, then category 2
    scores = np.array([1.0, 0.95, 0.9, 0.85, 0.8])
    categories = np.array([0, 0, 0, 1, 2])
    brands = np.array([10, 11, 12, 13, 14])
    assert mmr(scores, categories, brands, 0.0, 3).tolist() == [0, 1, 2]
    assert mmr(scores, categories, brands, LEVELS["high"], 3).tolist() == [0, 3, 4]


def test_the_step_by_step_values():
    # relevance after scaling: 1, 0.5, 0; lambda 0.5
    scores = np.array([3.0, 2.0, 1.0])
    categories, brands = np.array([0, 0, 1]), np.array([5, 6, 7])
    # step 1: 0 (best relevance); step 2: item 1 = 0.5*0.5 - 0.5*1 = -0.25, item 2 = 0 - 0 = 0
    assert mmr(scores, categories, brands, 0.5).tolist() == [0, 2, 1]
    # lambda 0.2: item 1 = 0.8*0.5 - 0.2 = 0.2 > item 2 = 0: relevance still wins
    assert mmr(scores, categories, brands, 0.2).tolist() == [0, 1, 2]


def test_same_brand_counts_half_a_category():
    # after item 0 (category 0, brand 7): item 1 shares its brand only, item 2 shares nothing
    scores = np.array([1.0, 0.9, 0.8, 0.0])
    categories, brands = np.array([0, 1, 2, 3]), np.array([7, 7, 8, 9])
    # relevance 1, 0.9, 0.8, 0; lambda 0.3: item 1 = 0.7*0.9 - 0.3*0.5 = 0.48, item 2 = 0.56
    assert mmr(scores, categories, brands, 0.3, 2).tolist() == [0, 2]
    # without the brand's partial similarity, relevance decides
    assert mmr(scores, categories, brands, 0.3, 2, brand_similarity=0.0).tolist() == [0, 1]
    # a same-category item is penalised more than a same-brand one
    same_category = mmr(np.array([1.0, 0.9, 0.8, 0.0]), np.array([0, 0, 1, 2]), np.array([7, 8, 7, 9]), 0.3, 2)
    assert same_category.tolist() == [0, 2]


def test_ties_are_deterministic_and_go_to_the_earlier_candidate():
    scores = np.ones(6)
    categories = np.array([0, 0, 1, 1, 2, 2])
    brands = np.arange(6)
    first = mmr(scores, categories, brands, 0.5)
    assert first.tolist() == [0, 2, 4, 1, 3, 5]
    assert mmr(scores, categories, brands, 0.5).tolist() == first.tolist()


def test_unknown_labels_are_never_similar():
    scores = np.array([1.0, 0.9, 0.8])
    unknown = np.full(3, -1)
    assert mmr(scores, unknown, unknown, 0.9).tolist() == [0, 1, 2]


def test_k_bounds_and_bad_input():
    scores = np.array([1.0, 0.5])
    assert mmr(scores, np.array([0, 1]), np.array([0, 1]), 0.3, 5).tolist() == [0, 1]
    assert mmr(np.array([]), np.array([], dtype=int), np.array([], dtype=int), 0.3).tolist() == []
    with pytest.raises(ValueError):
        mmr(scores, np.array([0]), np.array([0, 1]), 0.3)
    with pytest.raises(ValueError):
        mmr(scores, np.array([0, 1]), np.array([0, 1]), 1.5)


def test_rerank_order_keeps_the_rest_in_model_order():
    categories = np.array([0, 0, 0, 1, 2, 0])
    order = rerank_order(6, categories, np.arange(6), LEVELS["high"], 3)
    assert order.tolist()[:3] == [0, 3, 4]
    assert order.tolist()[3:] == [1, 2, 5]
    assert rerank_order(6, categories, np.arange(6), 0.0, 3).tolist() == list(range(6))


def test_helpers():
    assert min_max(np.array([2.0, 4.0, 3.0])).tolist() == [0.0, 1.0, 0.5]
    assert min_max(np.array([3.0, 3.0])).tolist() == [0.0, 0.0]
    assert rank_relevance(3).tolist() == [1.0, 0.5, 0.0]
    assert rank_relevance(1).tolist() == [1.0]
    assert codes(["a", None, "b", "a", "", float("nan")]).tolist() == [0, -1, 1, 0, -1, -1]
    assert list(LEVELS) == ["none", "low", "medium", "high"]
    assert [LEVELS[name] for name in LEVELS] == sorted(LEVELS.values())


def test_intra_list_diversity_by_hand():
    # categories a a b, brands x y x: pairs (0,1) same category: 0; (0,2) brand only: 1 - 0.5;
    # (1,2) nothing shared: 1. Mean (0 + 0.5 + 1) / 3 = 0.5
    assert intra_list_diversity(np.array([[0, 0, 1]]), np.array([[5, 6, 5]])).tolist() == [0.5]
    # one category: 0; all different: 1
    assert intra_list_diversity(np.array([[3, 3, 3]]), np.array([[1, 2, 3]])).tolist() == [0.0]
    assert intra_list_diversity(np.array([[1, 2, 3]]), np.array([[1, 2, 3]])).tolist() == [1.0]
    assert BRAND_SIMILARITY == 0.5


def test_intra_list_diversity_leaves_out_padding_and_short_lists():
    categories = np.array([[0, 1, 0, 0], [4, 0, 0, 0]])
    brands = np.array([[0, 1, 0, 0], [4, 0, 0, 0]])
    valid = np.array([[True, True, False, False], [True, False, False, False]])
    ild = intra_list_diversity(categories, brands, valid)
    assert ild[0] == 1.0  # only the pair (0, 1) counts
    assert math.isnan(ild[1])  # one item: no pair

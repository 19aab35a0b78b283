"""Ranking metrics on hand-computed examples (the arithmetic is in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from ml.evaluation import (
    catalog_coverage,
    evaluate_model,
    evaluation_users,
    hit_rate_at_k,
    item_probabilities,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)
from ml.models import PopularityRecommender

# user A: hits at ranks 2 and 4 of 4, with 3 relevant items
# user B: hit at rank 1, with 1 relevant item
# user C: no relevant items -> skipped by every metric
RECOMMENDED = [[1, 2, 3, 4], [5, 6, 7, 8], [1, 2, 3, 4]]
RELEVANT = [{2, 4, 9}, {5}, set()]
L2, L3, L5 = 1.0, math.log2(3), math.log2(5)


def test_precision_divides_hits_by_k():
    # A: 2/4 = 0.5; B: 1/4 = 0.25 -> mean 0.375
    assert precision_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(0.375)


def test_recall_divides_hits_by_number_relevant():
    # A: 2/3; B: 1/1 -> mean 5/6
    assert recall_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(5 / 6)


def test_hit_rate_and_mrr():
    # both users have a hit -> 1.0; MRR: A first hit at 2 -> 1/2, B at 1 -> 1 -> mean 0.75
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(1.0)
    assert mrr_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx(0.75)


def test_ndcg_uses_binary_gains_and_ideal_over_min_k_relevant():
    # A: DCG = 1/log2(3) + 1/log2(5); IDCG over min(4, 3) = 3 slots = 1 + 1/log2(3) + 1/log2(4)
    ndcg_a = (1 / L3 + 1 / L5) / (1 + 1 / L3 + 0.5)  # = 1.06161 / 2.13093 = 0.49819
    # B: DCG = 1/log2(2) = 1 = IDCG -> 1
    assert ndcg_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((ndcg_a + 1.0) / 2)
    assert ndcg_a == pytest.approx(0.49819, abs=1e-5)


def test_map_sums_precision_at_hits_over_min_k_relevant():
    # A: precision@2 = 1/2, precision@4 = 2/4 -> (0.5 + 0.5) / min(4, 3) = 1/3; B: 1/1 = 1
    assert map_at_k(RECOMMENDED, RELEVANT, 4) == pytest.approx((1 / 3 + 1) / 2)


def test_cutoff_k_ignores_later_positions():
    # k = 2 for A alone: only the hit at rank 2 counts
    rec, rel = [[1, 2, 3, 4]], [{2, 4, 9}]
    assert precision_at_k(rec, rel, 2) == pytest.approx(1 / 2)
    assert recall_at_k(rec, rel, 2) == pytest.approx(1 / 3)
    # DCG = 1/log2(3); IDCG over min(2, 3) = 2 slots = 1 + 1/log2(3)
    assert ndcg_at_k(rec, rel, 2) == pytest.approx((1 / L3) / (1 + 1 / L3))
    # precision@2 = 1/2, divided by min(2, 3) = 2
    assert map_at_k(rec, rel, 2) == pytest.approx(0.25)
    assert mrr_at_k(rec, rel, 2) == pytest.approx(0.5)


def test_short_lists_and_duplicates():
    # a list shorter than k still divides precision by k: 1 hit / 5
    assert precision_at_k([[3]], [{3}], 5) == pytest.approx(0.2)
    # a repeated item counts once: [2, 2, 3] has one hit, at rank 1 -> precision 1/3, AP 1/1
    assert precision_at_k([[2, 2, 3]], [{2}], 3) == pytest.approx(1 / 3)
    assert map_at_k([[2, 2, 3]], [{2}], 3) == pytest.approx(1.0)


def test_no_hits_and_no_evaluable_users_give_zero():
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, mrr_at_k):
        assert metric([[1, 2]], [{3}], 2) == 0.0
        assert metric([[1, 2]], [set()], 2) == 0.0  # every user skipped
        assert metric([], [], 2) == 0.0


def test_perfect_ranking_scores_one():
    rec, rel = [[4, 7, 1]], [{1, 4, 7}]
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, hit_rate_at_k, mrr_at_k):
        assert metric(rec, rel, 3) == pytest.approx(1.0)


def test_metrics_reject_bad_arguments():
    with pytest.raises(ValueError, match="users"):
        precision_at_k([[1]], [{1}, {2}], 1)
    with pytest.raises(ValueError, match="k must"):
        ndcg_at_k([[1]], [{1}], 0)


def test_catalog_coverage():
    # top-2 lists surface items {0, 1, 2} out of 10 -> 0.3; top-1 surface {0, 1} -> 0.2
    assert catalog_coverage([[0, 1], [1, 2]], 10, 2) == pytest.approx(0.3)
    assert catalog_coverage([[0, 1], [1, 2]], 10, 1) == pytest.approx(0.2)


def test_novelty_is_mean_self_information():
    # p = 1/2, 1/4, 1/8 -> -log2 p = 1, 2, 3 -> mean 2
    p = np.array([0.5, 0.25, 0.125])
    assert novelty([[0, 1], [2]], p, 2) == pytest.approx(2.0)
    assert novelty([[0, 1], [2]], p, 1) == pytest.approx(2.0)  # items 0 and 2: (1 + 3) / 2
    assert novelty([], p, 2) == 0.0
    with pytest.raises(ValueError, match="probability"):
        novelty([[0]], np.array([0.0]), 1)


def test_item_probabilities_count_users_and_smooth_unseen_items():
    train = sp.csr_matrix(np.array([[1, 1, 0, 0], [3, 0, 0, 0], [0, 2, 1, 0]], dtype=np.float32))
    # users per item: 2, 2, 1, 0 (-> counted as 1) out of 3 users
    assert item_probabilities(train) == pytest.approx([2 / 3, 2 / 3, 1 / 3, 1 / 3])


def test_evaluate_model_with_popularity_by_hand():
    train = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=np.float32))
    model = PopularityRecommender().fit(train)  # users per item: 2, 2, 1, 0
    result = evaluate_model(model, train, test, k=2)
    # user 0: items 0, 1 filtered; item 3 has no popularity -> recs [2]; relevant {2}: hit @1
    # user 1: item 0 filtered -> recs [1, 2]; relevant {1, 3}: hit @1; user 2 has no test items
    assert result["n_users"] == 2
    assert result["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert result["recall@2"] == pytest.approx((1 / 1 + 1 / 2) / 2)
    # user 0: 1 / IDCG(1 slot) = 1; user 1: 1 / (1 + 1/log2(3))
    assert result["ndcg@2"] == pytest.approx((1 + 1 / (1 + 1 / L3)) / 2)
    assert result["map@2"] == pytest.approx((1 + 0.5) / 2)
    assert result["hit_rate@2"] == result["mrr@2"] == pytest.approx(1.0)
    assert result["coverage@2"] == pytest.approx(2 / 4)  # items {1, 2}
    # recommended items 2, 1, 2 with p = 1/3, 2/3, 1/3
    expected = (2 * -math.log2(1 / 3) - math.log2(2 / 3)) / 3
    assert result["novelty@2"] == pytest.approx(expected)


def test_evaluate_model_does_not_count_training_items_as_relevant():
    train = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32))
    model = PopularityRecommender().fit(train)
    # user 0's only test item is also a training item -> no relevant item -> skipped
    assert evaluate_model(model, train, test, k=2)["n_users"] == 1


def test_evaluation_users_samples_large_holdouts_reproducibly():
    rng = np.random.default_rng(0)
    test = sp.random(5000, 50, density=0.02, format="csr", random_state=rng)
    with_items = np.flatnonzero(test.getnnz(axis=1) > 0)
    assert np.array_equal(evaluation_users(test, None, 1), with_items)
    assert np.array_equal(evaluation_users(test, len(with_items), 1), with_items)  # no more than asked: all
    sample = evaluation_users(test, 300, seed=7)
    assert len(sample) == 300 and len(set(sample.tolist())) == 300
    assert set(sample.tolist()) <= set(with_items.tolist()) and np.all(np.diff(sample) > 0)
    assert np.array_equal(sample, evaluation_users(test, 300, seed=7))  # the same users for every candidate
    assert not np.array_equal(sample, evaluation_users(test, 300, seed=8))
    # A uniform sample: users from the whole range, not the first 300
    assert sample.max() > with_items[len(with_items) // 2]


def test_evaluate_model_on_a_sample_scores_only_those_users():
    train = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0]], dtype=np.float32))
    test = sp.csr_matrix(np.array([[0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]], dtype=np.float32))
    model = PopularityRecommender().fit(train)
    only_user_1 = evaluate_model(model, train, test, k=2, users=[1])
    assert only_user_1["n_users"] == 1
    assert only_user_1["recall@2"] == pytest.approx(1 / 2)  # recs [1, 2], relevant {1, 3}

"""What each model computes, checked against hand arithmetic or the reference library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml.data import IdMap
from ml.models import (
    ALSRecommender,
    AlsoBoughtRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
)
from ml.models.base import cosine_neighbours, top_n

DAY = 86_400


def csr(rows: list[list[float]]) -> sp.csr_matrix:
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


def test_top_n_breaks_ties_by_item_index_and_skips_excluded():
    scores = np.array([1.0, 3.0, 3.0, -np.inf, 2.0, 3.0])
    ids, values = top_n(scores, 4)
    assert ids.tolist() == [1, 2, 5, 4] and values.tolist() == [3, 3, 3, 2]
    assert top_n(np.full(3, -np.inf), 2)[0].size == 0


def test_cosine_neighbours_rank_by_angle_never_the_item_itself():
    vectors = np.array([[1, 0], [2, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    ids, scores = cosine_neighbours(vectors, 0, 10)
    # same direction, 45 degrees, then the orthogonal and the zero row tied at 0 (by index)
    assert ids.tolist() == [1, 3, 2, 4]
    np.testing.assert_allclose(scores, [1.0, 0.5**0.5, 0.0, 0.0], atol=1e-6)
    assert cosine_neighbours(vectors, 3, 2)[0].tolist() == [0, 1]
    assert cosine_neighbours(vectors, 4, 2)[1].tolist() == [0.0, 0.0]  # a zero row: no signal
    assert cosine_neighbours(vectors, 0, 0)[0].size == 0


def test_factor_models_answer_similar_items_with_cosine_neighbours(small_matrix):
    model = ALSRecommender(factors=4, iterations=3, random_state=0, num_threads=1)
    model.fit(small_matrix)
    for item in range(model.n_items):
        ids, scores = model.similar_items(item, N=3)
        expected = cosine_neighbours(model.item_factors, item, 3)
        assert ids.tolist() == expected[0].tolist() and scores.tolist() == expected[1].tolist()


def test_popularity_counts_users_or_weight():
    matrix = csr([[5, 1, 0], [1, 0, 0], [0, 1, 0]])
    # distinct users per item: 2, 2, 0 -> ties broken by index; item 2 has no evidence
    ids, scores = PopularityRecommender().fit(matrix).recommend(0, csr([[0, 0, 0]]), N=3)
    assert ids.tolist() == [0, 1] and scores.tolist() == [2, 2]
    ids, scores = PopularityRecommender(count="weight").fit(matrix).recommend(0, csr([[0, 0, 0]]))
    assert ids.tolist() == [0, 1] and scores.tolist() == [6, 2]


def test_recent_popularity_fit_events_decays_old_events():
    events = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3", "u1"],
            "item_id": ["old", "old", "old", "new"],
            "event": ["view"] * 4,
            "timestamp": [0, 0, 0, 4 * DAY],
        }
    )
    id_map = IdMap.from_frame(events)  # items sorted: new = 0, old = 1
    model = RecentPopularityRecommender(half_life_days=1.0).fit_events(events, id_map)
    # "new" is 0 days old: 1.0; three "old" views are 4 half-lives old: 3 x 1/16 = 0.1875
    np.testing.assert_allclose(model.item_scores, [1.0, 0.1875])
    plain = PopularityRecommender().fit(sp.csr_matrix(np.array([[1, 1], [0, 1], [0, 1]])))
    assert plain.recommend(0, csr([[0, 0]]))[0].tolist() == [1, 0]  # without decay: "old" wins


def test_recent_popularity_caps_each_users_weight_on_an_item():
    """One user adding an item to the cart 50 times weighs no more than the cap (one purchase)."""
    heavy = pd.DataFrame({"user_id": ["bot"] * 50, "item_id": ["pushed"] * 50, "event": ["addtocart"] * 50,
                          "timestamp": [0] * 50})
    people = pd.DataFrame({"user_id": ["u1", "u2", "u3"], "item_id": ["liked"] * 3, "event": ["transaction"] * 3,
                           "timestamp": [0] * 3})
    events = pd.concat([heavy, people], ignore_index=True)
    id_map = IdMap.from_frame(events)  # items sorted: liked = 0, pushed = 1
    weights = {"view": 1.0, "addtocart": 4.0, "transaction": 10.0}
    uncapped = RecentPopularityRecommender(half_life_days=7.0).fit_events(events, id_map, weights)
    capped = RecentPopularityRecommender(half_life_days=7.0, user_cap=10.0).fit_events(events, id_map, weights)
    assert uncapped.item_scores[1] > uncapped.item_scores[0]  # the bot wins without the cap
    np.testing.assert_allclose(capped.item_scores, [30.0, 10.0])
    with pytest.raises(ValueError, match="user_cap"):
        RecentPopularityRecommender(user_cap=0)


@pytest.mark.filterwarnings("ignore:Method expects CSR input")  # implicit's own COO hand-off
def test_item_knn_matches_implicit_without_self_similarity(small_matrix):
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    for reference_cls, similarity in ((CosineRecommender, "cosine"), (BM25Recommender, "bm25")):
        reference = reference_cls(K=11, num_threads=1)
        reference.fit(small_matrix, show_progress=False)
        expected = sp.csr_matrix(reference.similarity)
        expected.setdiag(0)
        expected.eliminate_zeros()
        model = ItemKNNRecommender(similarity, K=10, num_threads=1).fit(small_matrix)
        assert abs(model.similarity - expected).max() < 1e-5
        assert model.similarity.diagonal().sum() == 0


def test_als_fold_in_equals_implicits_recalculate_user(small_matrix):
    from implicit.cpu.als import AlternatingLeastSquares

    params = dict(factors=8, regularization=0.1, alpha=5.0, iterations=5, num_threads=1)
    model = ALSRecommender(**params).fit(small_matrix)
    reference = AlternatingLeastSquares(**params, random_state=model.params["random_state"])
    reference.fit(small_matrix, show_progress=False)
    np.testing.assert_allclose(model.user_factors, reference.user_factors)
    for user in (0, 7, 30):
        expected = reference.recalculate_user(user, small_matrix[user])
        np.testing.assert_allclose(model.fold_in(small_matrix[user]), expected, atol=1e-4)
    # an empty history gives a zero vector and therefore no recommendation at all
    empty = sp.csr_matrix((1, small_matrix.shape[1]), dtype=np.float32)
    assert model.recommend(10_000, empty)[0].size == 0


def test_the_low_rank_fold_in_solves_the_same_system_as_the_direct_one():
    """The web request's fold-in (Woodbury, a few items) against the k x k solve, for one to
    k / 4 items, confidences of exactly 1 (no extra weight) included."""
    from ml.models.factorization import fold_in_user, fold_in_user_low_rank

    rng = np.random.default_rng(3)
    factors = rng.normal(scale=0.3, size=(400, 32)).astype(np.float32)
    wide = factors.astype(np.float64)
    gram, regularization = wide.T @ wide, 0.05
    inverse = np.linalg.inv(gram + regularization * np.eye(32))
    for r in (1, 2, 3, 8):
        items = rng.choice(400, r, replace=False)
        confidences = np.concatenate([[1.0], rng.uniform(1.0, 40.0, r - 1)])
        direct = fold_in_user(factors, gram, items, confidences, regularization)
        np.testing.assert_allclose(fold_in_user_low_rank(factors, inverse, items, confidences), direct,
                                   rtol=1e-7, atol=1e-9)


def test_als_fold_in_of_a_new_visitor_with_a_few_views_equals_implicits(small_matrix):
    from implicit.cpu.als import AlternatingLeastSquares

    params = dict(factors=16, regularization=0.1, alpha=5.0, iterations=5, num_threads=1)
    model = ALSRecommender(**params).fit(small_matrix)
    reference = AlternatingLeastSquares(**params, random_state=model.params["random_state"])
    reference.fit(small_matrix, show_progress=False)
    row = sp.csr_matrix((np.array([1.0, 4.0, 1.0], dtype=np.float32), ([0, 0, 0], [2, 5, 9])),
                        shape=(1, small_matrix.shape[1]))
    expected = reference.recalculate_user(0, row)
    np.testing.assert_allclose(model.fold_in(row), expected, atol=1e-4)


def test_bpr_keeps_implicits_bias_column(small_matrix):
    model = BPRRecommender(factors=8, iterations=10, num_threads=1).fit(small_matrix)
    assert model.user_factors.shape[1] == model.item_factors.shape[1] == 9
    np.testing.assert_array_equal(model.user_factors[:, -1], 1.0)
    folded = model.fold_in(small_matrix[0])
    assert folded.shape == (9,) and folded[-1] == 1.0
    np.testing.assert_array_equal(model.fold_in(small_matrix[0]), folded)  # deterministic


def test_bpr_fold_in_reaches_the_optimum_of_the_one_user_objective(small_matrix):
    from ml.models.bpr import bpr_fold_in

    model = BPRRecommender(factors=4, iterations=10, num_threads=1).fit(small_matrix)
    liked, reg = small_matrix[0].indices, 0.05
    user = bpr_fold_in(model.item_factors, liked, reg)
    others = np.setdiff1d(np.arange(small_matrix.shape[1]), liked)
    v, b = model.item_factors[:, :-1].astype(np.float64), model.item_factors[:, -1]

    def objective(u: np.ndarray) -> float:
        x = (v[liked] @ u + b[liked])[:, None] - (v[others] @ u + b[others])[None, :]
        return float(np.mean(-np.logaddexp(0.0, -x)) - reg / 2 * u @ u)

    best = objective(user[:-1])
    rng = np.random.default_rng(0)
    for _ in range(20):  # any nearby point is worse: it is the maximum
        assert objective(user[:-1] + rng.normal(scale=0.05, size=4)) < best


def test_ease_closed_form_on_a_tiny_matrix():
    x = csr([[1, 1, 0], [0, 1, 1], [1, 1, 1], [1, 0, 0]])
    model = EASERecommender(regularization=2.0).fit(x)
    p = np.linalg.inv(x.T.toarray() @ x.toarray() + 2.0 * np.eye(3))
    expected = np.eye(3) - p / np.diag(p)  # B = I - P diag(1/diag(P))
    np.testing.assert_allclose(model.weights, expected, atol=1e-6)
    np.testing.assert_array_equal(np.diag(model.weights), 0.0)
    # scores are x_u B; user 3 only has item 0
    ids, scores = model.recommend(3, x[3], N=2)
    np.testing.assert_allclose(scores, np.sort(expected[0, 1:])[::-1], rtol=1e-5)


def test_ease_refuses_catalogues_over_budget():
    with pytest.raises(ValueError, match="max_items=5"):
        EASERecommender(max_items=5).fit(sp.csr_matrix((3, 6), dtype=np.float32))


def test_also_bought_lift_by_hand():
    # baskets: {0,1}, {0,1}, {0,2}, {1,2}, {3}; support 3, 3, 2, 1 out of n = 5 baskets
    baskets = csr([[1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]])
    model = AlsoBoughtRecommender(min_support=2).fit(baskets)
    # co(0,1) = 2 -> lift = 2 x 5 / (3 x 3) = 10/9; co(0,2) = co(1,2) = 1 < min_support
    ids, scores = model.similar_items(0)
    assert ids.tolist() == [1] and scores[0] == pytest.approx(10 / 9)
    assert model.similar_items(2)[0].size == 0 and model.similar_items(3)[0].size == 0
    loose = AlsoBoughtRecommender(min_support=1, min_lift=0.5).fit(baskets)
    # lift(0,2) = lift(1,2) = 1 x 5 / (3 x 2) = 5/6
    ids, scores = loose.similar_items(0)
    assert ids.tolist() == [1, 2] and scores == pytest.approx([10 / 9, 5 / 6])
    # a user with items 0 and 1: item 2 gets lift(0,2) + lift(1,2) = 5/3
    ids, scores = loose.recommend(0, csr([[1, 1, 0, 0]]))
    assert ids.tolist() == [2] and scores[0] == pytest.approx(5 / 3)


def test_also_bought_keeps_the_best_neighbours_only():
    # item 0 bought with items 1, 2, 3 in 3, 2 and 2 baskets out of 7; one filler basket
    rows = [[1, 1, 0, 0]] * 3 + [[1, 0, 1, 0]] * 2 + [[1, 0, 0, 1]] * 2 + [[0, 0, 0, 0]]
    model = AlsoBoughtRecommender(min_support=1, min_lift=0.0, max_neighbours=1).fit(csr(rows))
    # lifts from item 0: 3x8/(7x3) = 1.14, 2x8/(7x2) = 1.14, same -> tie goes to item 1
    assert model.similar_items(0)[0].tolist() == [1]
    assert model.lift.getnnz(axis=1).max() == 1


def test_bpr_max_updates_caps_the_iterations(small_matrix):
    # One iteration samples one pair per interaction: a budget of 3 x nnz updates is 3 iterations.
    nnz = sp.csr_matrix(small_matrix).nnz
    budgeted = BPRRecommender(factors=4, iterations=50, max_updates=3 * nnz + 1, num_threads=1).fit(small_matrix)
    three = BPRRecommender(factors=4, iterations=3, num_threads=1).fit(small_matrix)
    fifty = BPRRecommender(factors=4, iterations=50, num_threads=1).fit(small_matrix)
    assert np.array_equal(budgeted.item_factors, three.item_factors)
    assert not np.array_equal(budgeted.item_factors, fifty.item_factors)
    assert BPRRecommender(factors=4, iterations=50, max_updates=1, num_threads=1).fit(small_matrix).n_items > 0

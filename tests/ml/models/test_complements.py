""""Frequently bought together": complements first, substitutes pushed down, a prior for items
never bought, the cart's combined row, and a pickle-free round trip."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.models import ComplementsRecommender, load_model

# items: 0, 1, 2 phones (0 and 1 brand A, 2 brand B), 3 and 4 cases (A, B), 5 a cable (brand B),
# 6 a phone of brand A that nobody bought yet, 7 a book (bought alone: phones are not in every basket)
CATEGORY = ["phones", "phones", "phones", "cases", "cases", "cables", "phones", "books"]
BRAND = ["A", "A", "B", "A", "B", "B", "A", "C"]
PRICE = [500.0, 520.0, 480.0, 20.0, 22.0, 9.0, 510.0, 15.0]


def baskets(rows: list[list[int]], n_items: int = 8) -> sp.csr_matrix:
    r = [i for i, row in enumerate(rows) for _ in row]
    c = [item for row in rows for item in row]
    return sp.csr_matrix((np.ones(len(c)), (r, c)), shape=(len(rows), n_items))


# phone 0 goes with case 3; phone 2 with case 4 and the cable; 0 and 1 are compared and, now
# and then, both carted (substitutes); singles give every item a popularity
BASKETS = baskets([[0, 3]] * 6 + [[2, 4]] * 5 + [[2, 5]] * 3 + [[1, 3]] * 3 + [[0, 1]] * 4
                  + [[0]] * 2 + [[1]] * 2 + [[2]] * 2 + [[3]] + [[4]] + [[5]] + [[7]] * 20)


def fitted(**kwargs) -> ComplementsRecommender:
    return ComplementsRecommender(**kwargs).fit(BASKETS, category=CATEGORY, brand=BRAND, price=PRICE)


def row(model: ComplementsRecommender, item: int, n: int = 5) -> list[int]:
    return model.similar_items(item, n)[0].tolist()


def test_complements_come_before_substitutes_bought_together():
    model = fitted()
    assert row(model, 0)[0] == 3  # the case, although the other phone shares more baskets
    assert row(model, 0).index(3) < row(model, 0).index(1)
    plain = fitted(substitute_penalty=0.0)  # without the demotion the substitute competes
    assert plain.scores[0, 1] > model.scores[0, 1] > 0


def test_scores_are_the_added_value_over_popularity():
    model = ComplementsRecommender(alpha=0.0).fit(BASKETS)  # no prior, no categories: plain P(j|i) - P(j)
    n = BASKETS.shape[0]
    together, with_0 = 6, 6 + 4 + 2  # baskets holding 0 and 3; baskets holding 0
    expected = together / with_0 - (6 + 3 + 1) / n
    assert model.scores[0, 3] == pytest.approx(expected, rel=1e-5)
    assert model.scores[0, 2] == 0  # never together: nothing to add


def test_an_item_never_bought_borrows_its_category_and_brand():
    model = fitted()
    assert model.n_items == 8
    cold = row(model, 6)
    assert cold and cold[0] == 3  # a brand-A phone: the brand-A case first
    assert not {0, 1, 2} & set(cold)  # never another phone from the prior
    assert model.complement_categories("phones")[0] == "cases"
    assert "books" not in model.complement_categories("phones", 5)
    assert model.complement_categories("unknown") == [] and model.category_of(6) == "phones"


def test_without_categories_view_similarity_pushes_substitutes_down():
    similarity = sp.csr_matrix(([0.9, 0.9], ([0, 1], [1, 0])), shape=(8, 8))
    plain = ComplementsRecommender().fit(BASKETS)
    demoted = ComplementsRecommender().fit(BASKETS, similarity=similarity)
    assert demoted.scores[0, 1] < plain.scores[0, 1]
    assert demoted.scores[0, 3] == pytest.approx(plain.scores[0, 3])
    assert demoted.complement_categories("phones") == [] and demoted.category_of(0) is None


def test_views_in_a_basket_visit_count_at_their_weight():
    # the cable looked at in every visit that carted phone 0, never carted with it
    holds_0 = np.flatnonzero(BASKETS[:, 0].toarray().ravel())
    viewed = sp.csr_matrix((np.ones(len(holds_0)), (holds_0, np.full(len(holds_0), 5))), shape=BASKETS.shape)
    without = fitted()
    with_views = ComplementsRecommender(view_weight=0.5).fit(BASKETS, viewed=viewed, category=CATEGORY,
                                                             brand=BRAND, price=PRICE)
    assert with_views.scores[0, 5] > without.scores[0, 5]
    assert ComplementsRecommender(view_weight=0.0).fit(BASKETS, viewed=viewed).scores.nnz == \
        ComplementsRecommender().fit(BASKETS).scores.nnz


def test_the_cart_row_combines_every_line_and_skips_the_cart():
    model = fitted()
    ids, scores = model.basket_complements([0, 2], N=5)
    assert not {0, 2} & set(ids.tolist())
    assert {3, 4} <= set(ids.tolist()) and np.all(np.diff(scores) <= 0)
    assert 4 not in model.basket_complements([0, 2], N=5, filter_items=[4])[0].tolist()
    assert len(model.basket_complements([], N=5)[0]) == 0
    assert len(model.basket_complements([99], N=5)[0]) == 0  # unknown indices are ignored


def _basket_by_scipy(model, itemids, N, filter_items=None):
    """The cart row as first written, with scipy's matrix operations: the reference."""
    from ml.models.base import top_n

    ids = np.unique(np.asarray(itemids, dtype=np.int64))
    rows = model.scores[ids]
    best = np.asarray(rows.max(axis=1).todense()).ravel()
    scaled = sp.diags(np.where(best > 0, 1.0 / np.where(best > 0, best, 1.0), 0.0)) @ rows
    total = np.asarray(scaled.sum(axis=0)).ravel()
    scores = np.where(np.diff(sp.csc_matrix(scaled).indptr) > 0, total, -np.inf)
    scores[ids] = -np.inf
    if filter_items is not None:
        scores[np.asarray(filter_items, dtype=np.int64)] = -np.inf
    return top_n(scores, N)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_cart_row_equals_the_matrix_formulation(seed):
    rng = np.random.default_rng(seed)
    scores = sp.random(300, 300, density=0.05, random_state=seed, dtype=np.float32, format="csr")
    scores.data = rng.integers(1, 4, size=scores.nnz).astype(np.float32)  # ties on purpose
    model = ComplementsRecommender()
    model._set_state(scores, np.full(300, -1), np.array([], dtype="<U1"), sp.csr_matrix((0, 0)))
    for _ in range(20):
        basket = rng.choice(300, size=int(rng.integers(1, 6)), replace=False)
        banned = rng.choice(300, size=5, replace=False)
        got = model.basket_complements(basket, N=300, filter_items=banned)
        want = _basket_by_scipy(model, basket, 300, banned)
        # the same items with the same scores; ties (equal up to float32 rounding: 1/3 + 2/3 vs 1) by id
        assert ranked(got) == ranked(want)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-6)


def ranked(found) -> list[tuple[float, int]]:
    ids, scores = found
    return sorted(zip((-np.round(scores.astype(np.float64), 5)).tolist(), ids.tolist()))


def test_save_and_load_round_trip(tmp_path):
    model = fitted()
    path = tmp_path / "complements.npz"
    model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded, ComplementsRecommender)
    assert (loaded.scores != model.scores).nnz == 0
    assert loaded.complement_categories("phones") == model.complement_categories("phones")
    assert loaded.category_of(3) == "cases"
    with np.load(path, allow_pickle=False) as arrays:
        assert all(arrays[key].dtype != object for key in arrays.files)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        ComplementsRecommender(substitute_penalty=2.0)
    with pytest.raises(ValueError):
        ComplementsRecommender().fit(BASKETS, category=["phones"])
    with pytest.raises(ValueError):
        ComplementsRecommender().fit(BASKETS, price=[1.0, 2.0])
    empty = ComplementsRecommender().fit(sp.csr_matrix((0, 3)))
    assert empty.n_items == 3 and len(empty.similar_items(0, 5)[0]) == 0


def test_a_shop_without_orders_fits_with_categories_and_has_no_complements():
    """Views only (no basket holds two items): the category table is empty, not an error (scipy
    answers a fancy index of two empty arrays with a sparse matrix; that once failed the run)."""
    model = ComplementsRecommender().fit(sp.csr_matrix((0, len(CATEGORY))), category=CATEGORY, brand=BRAND, price=PRICE)
    assert model.n_items == len(CATEGORY) and len(model.similar_items(0, 5)[0]) == 0
    assert model.complement_categories("phones") == []

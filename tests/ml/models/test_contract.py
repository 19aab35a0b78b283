"""The contract every recommender honours (implicit's shared test mixin, as a parametrized
fixture): shapes and order, filtering, similar items, pickle-free save/load round trips."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import scipy.sparse as sp

from ml.data import IdMap
from ml.models import (
    MODEL_CLASSES,
    ALSRecommender,
    AlsoBoughtRecommender,
    BPRRecommender,
    ComplementsRecommender,
    EASERecommender,
    ItemKNNRecommender,
    LightGCNRecommender,
    NeuMFRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
    Recommender,
    TorchBPRRecommender,
    load_model,
)

FACTORIES: dict[str, Callable[[], Recommender]] = {
    "popularity": lambda: PopularityRecommender(),
    "recent_popularity": lambda: RecentPopularityRecommender(half_life_days=3.0),
    "item_knn_cosine": lambda: ItemKNNRecommender("cosine", K=10, num_threads=1),
    "item_knn_bm25": lambda: ItemKNNRecommender("bm25", K=10, num_threads=1),
    "als": lambda: ALSRecommender(factors=8, iterations=5, num_threads=1),
    "bpr": lambda: BPRRecommender(factors=8, iterations=20, num_threads=1),
    "ease": lambda: EASERecommender(regularization=10.0),
    "also_bought": lambda: AlsoBoughtRecommender(min_support=1),
    "complements": lambda: ComplementsRecommender(alpha=1.0),
    "bpr_mf": lambda: TorchBPRRecommender(factors=8, epochs=5, num_threads=1),
    "neumf": lambda: NeuMFRecommender(
        gmf_factors=8, mlp_factors=8, mlp_layers=(8,), epochs=5, num_threads=1
    ),
    "lightgcn": lambda: LightGCNRecommender(factors=8, epochs=5, num_threads=1),
}
#: Models that score every item for every user, so they always fill N slots.
DENSE = {"popularity", "recent_popularity", "als", "bpr", "ease", "bpr_mf", "neumf", "lightgcn"}
N = 5


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def fitted(request, small_matrix) -> tuple[str, Recommender]:
    return request.param, FACTORIES[request.param]().fit(small_matrix)


def test_every_model_class_is_covered():
    covered = {type(factory()) for factory in FACTORIES.values()}
    assert covered == set(MODEL_CLASSES.values())


def test_fit_returns_self_and_sets_the_catalogue(small_matrix):
    for factory in FACTORIES.values():
        model = factory()
        assert model.fit(small_matrix) is model
        assert model.n_items == small_matrix.shape[1]


def test_recommend_shapes_and_order(fitted, small_matrix):
    key, model = fitted
    for user in range(small_matrix.shape[0]):
        ids, scores = model.recommend(user, small_matrix[user], N=N)
        assert ids.dtype.kind == "i" and scores.dtype.kind == "f"
        assert len(ids) == len(scores) <= N
        if key in DENSE:
            assert len(ids) == N
        assert np.all(np.diff(scores) <= 0)
        assert len(set(ids.tolist())) == len(ids)
        assert np.all((ids >= 0) & (ids < small_matrix.shape[1]))


def test_already_liked_items_are_filtered(fitted, small_matrix):
    key, model = fitted
    n_items = small_matrix.shape[1]
    for user in range(small_matrix.shape[0]):
        liked = set(small_matrix[user].indices.tolist())
        ids, _ = model.recommend(user, small_matrix[user], N=N)
        assert not liked & set(ids.tolist())
        if key in DENSE:  # without the filter, a full ranking includes the liked items
            everything, _ = model.recommend(
                user, small_matrix[user], N=n_items, filter_already_liked_items=False
            )
            assert liked <= set(everything.tolist())


def test_filter_items_are_never_returned(fitted, small_matrix):
    _, model = fitted
    first, _ = model.recommend(0, small_matrix[0], N=N)
    banned = first[:2].tolist() + [999]  # an index outside the catalogue is ignored
    ids, _ = model.recommend(0, small_matrix[0], N=N, filter_items=banned)
    assert not set(banned) & set(ids.tolist())


def test_recommend_batch_matches_recommend(fitted, small_matrix):
    _, model = fitted
    users = np.arange(small_matrix.shape[0])
    ids, scores = model.recommend_batch(users, small_matrix[users], N=N)
    assert ids.shape == scores.shape == (len(users), N)
    for user in users:
        one_ids, one_scores = model.recommend(user, small_matrix[user], N=N)
        np.testing.assert_array_equal(ids[user, : len(one_ids)], one_ids)
        np.testing.assert_allclose(scores[user, : len(one_ids)], one_scores, rtol=1e-5)
        assert np.all(ids[user, len(one_ids) :] == -1)


def test_recalculate_user_and_unseen_users(fitted, small_matrix):
    _, model = fitted
    row = small_matrix[3]
    ids, _ = model.recommend(3, row, N=N, recalculate_user=True)
    new_ids, _ = model.recommend(small_matrix.shape[0] + 10, row, N=N)
    np.testing.assert_array_equal(ids, new_ids)
    assert not set(row.indices.tolist()) & set(ids.tolist())


def test_similar_items_exclude_the_item_itself(fitted, small_matrix):
    _, model = fitted
    for item in range(small_matrix.shape[1]):
        ids, scores = model.similar_items(item, N=N)
        assert item not in ids.tolist()
        assert len(ids) == len(scores) <= N and np.all(np.diff(scores) <= 0)
    with pytest.raises(IndexError):
        model.similar_items(small_matrix.shape[1])


def test_save_load_round_trip_without_pickle(fitted, small_matrix, tmp_path):
    key, model = fitted
    path = tmp_path / f"{key}.model"  # saved to exactly this name, no ".npz" appended
    id_map = IdMap(
        [str(u) for u in range(small_matrix.shape[0])],
        [str(i) for i in range(small_matrix.shape[1])],
    )
    model.save(path, extra_arrays=id_map.to_arrays())
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
        assert IdMap.from_arrays(data).n_items == small_matrix.shape[1]
    loaded = type(model).load(path)
    assert type(loaded) is type(model) and loaded.params == model.params
    assert type(load_model(path)) is type(model)
    users = np.arange(small_matrix.shape[0])
    before = model.recommend_batch(users, small_matrix)
    for a, b in zip(before, loaded.recommend_batch(users, small_matrix)):
        np.testing.assert_array_equal(a, b)
    for item in range(small_matrix.shape[1]):
        for a, b in zip(model.similar_items(item, N=N), loaded.similar_items(item, N=N)):
            np.testing.assert_array_equal(a, b)
    new_user = small_matrix.shape[0] + 1
    before = model.recommend(new_user, small_matrix[2])
    for a, b in zip(before, loaded.recommend(new_user, small_matrix[2])):
        np.testing.assert_array_equal(a, b)


def test_loading_as_the_wrong_class_fails(fitted, tmp_path):
    key, model = fitted
    path = tmp_path / "model.npz"
    model.save(path)
    other = EASERecommender if not isinstance(model, EASERecommender) else PopularityRecommender
    with pytest.raises(ValueError, match="holds a"):
        other.load(path)


def test_unfitted_models_and_bad_rows_are_refused(small_matrix):
    for factory in FACTORIES.values():
        with pytest.raises(RuntimeError, match="not fitted"):
            factory().recommend(0, small_matrix[0])
    model = PopularityRecommender().fit(small_matrix)
    with pytest.raises(ValueError, match="shape"):
        model.recommend(0, small_matrix[:2])
    with pytest.raises(ValueError, match="sparse"):
        model.recommend(0, small_matrix[0].toarray())


def test_saved_models_score_without_implicit_and_ml_stays_out_of_the_web_app(
    small_matrix, tmp_path
):
    """Serving loads with numpy/scipy only; and ``ml`` never pulls in Flask/SQLAlchemy."""
    for key, factory in FACTORIES.items():
        factory().fit(small_matrix).save(tmp_path / f"{key}.npz")
    sp.save_npz(tmp_path / "rows.npz", small_matrix)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["implicit"] = None  # any import of implicit now fails
        sys.modules["torch"] = None  # nor of torch: serving is numpy only
        import glob, scipy.sparse as sp
        import ml.data, ml.evaluation, ml.models
        rows = sp.load_npz({str(tmp_path / "rows.npz")!r}).tocsr()
        for path in sorted(glob.glob({str(tmp_path / "*.npz")!r})):
            if path.endswith("rows.npz"):
                continue
            model = ml.models.load_model(path)
            ids, _ = model.recommend(0, rows[0], N=3, recalculate_user=True)
            model.similar_items(0, N=3)
        leaked = [m for m in ("flask", "sqlalchemy", "storefront") if m in sys.modules]
        assert not leaked, leaked
        print("ok")
        """
    )
    repo = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_loading_a_file_that_is_not_a_model_fails_clearly(tmp_path):
    path = tmp_path / "ids.npz"
    np.savez(path, **IdMap(["u"], ["i"]).to_arrays())
    with pytest.raises(ValueError, match="not a saved ml model"):
        load_model(path)


def test_the_array_path_recommends_what_the_sparse_path_does(fitted, small_matrix):
    """``recommend_arrays`` (serving's hot path: no sparse matrix) answers exactly as
    ``recommend`` for a trained user, a folded-in one and an unknown one with a fresh row."""
    name, model = fitted
    rng = np.random.default_rng(7)
    for userid in (0, 3, small_matrix.shape[0] + 5):
        row = small_matrix[min(userid, small_matrix.shape[0] - 1)].copy()
        extra = rng.choice(model.n_items, 3, replace=False)
        row = sp.csr_matrix(row + sp.csr_matrix((np.full(3, 2.0), (np.zeros(3, int), extra)), shape=row.shape))
        row.sort_indices()
        banned = np.array([extra[0], model.n_items + 4])
        for recalculate in (False, True):
            for seen in (True, False):
                expected = model.recommend(userid, row, N=N, filter_already_liked_items=seen,
                                           filter_items=banned, recalculate_user=recalculate)
                got = model.recommend_arrays(userid, row.indices.astype(np.int64), row.data, N=N,
                                             filter_already_liked_items=seen, filter_items=banned,
                                             recalculate_user=recalculate)
                assert got[0].tolist() == expected[0].tolist(), (name, userid, recalculate, seen)
                np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)

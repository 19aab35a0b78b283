"""The torch models (BPR-MF, NeuMF, LightGCN): reproducible, early-stopped, time-boxed, better
than popularity on planted structure, and served with numpy alone.

The interface contract (shapes, order, seen and ``filter_items`` filtering, ``similar_items``,
pickle-free save/load round trips) is checked for them by ``test_model_contract.py``, where
they are part of the shared parametrization. Everything here uses tiny data and few epochs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy.optimize import check_grad

from ml.evaluation import evaluate_model
from ml.models import (
    LightGCNRecommender,
    NeuMFRecommender,
    PopularityRecommender,
    Recommender,
    TorchBPRRecommender,
    load_model,
)
from ml.models.base import cosine_neighbours
from ml.models.deep_settings import TrainSettings
from ml.models.neumf_numpy import NeuMFWeights
from ml.models.torch_common import (
    PairSampler,
    RankingValidation,
    carve_validation,
    positives,
    resolve_threads,
)
from ml.models.torch_modules import NeuMFModule, normal
from ml.training import CANDIDATES, TrainingConfig, train
from ml.registry import ModelRegistry
from ml.training.candidates import DEEP_CANDIDATES
from tests.ml.support import run_in_fresh_interpreter

K = 10
DEEP = {
    "bpr_mf": lambda **kw: TorchBPRRecommender(factors=16, num_threads=1, **kw),
    "neumf": lambda **kw: NeuMFRecommender(
        gmf_factors=16, mlp_factors=8, mlp_layers=(8,), num_threads=1, **kw
    ),
    "lightgcn": lambda **kw: LightGCNRecommender(factors=16, num_threads=1, **kw),
}
deep = pytest.mark.parametrize("key", sorted(DEEP))


@pytest.fixture(scope="module")
def planted_models(planted) -> dict[str, Recommender]:
    return {key: factory().fit(planted.train) for key, factory in DEEP.items()}


def _weights(model: Recommender) -> dict[str, np.ndarray]:
    return {k: v for k, v in model._get_arrays().items() if k != "training_report"}


@deep
def test_two_fits_with_a_seed_are_identical(key, small_matrix):
    first = DEEP[key](epochs=4, random_state=3).fit(small_matrix)
    second = DEEP[key](epochs=4, random_state=3).fit(small_matrix)
    other = DEEP[key](epochs=4, random_state=4).fit(small_matrix)
    a, b, c = _weights(first), _weights(second), _weights(other)
    assert all(np.array_equal(a[name], b[name]) for name in a)
    assert not all(np.array_equal(a[name], c[name]) for name in a)


def _validation_ndcg(model: Recommender, matrix: sp.csr_matrix) -> float:
    """The fit's validation NDCG recomputed from the exported numpy model: the same seed
    gives the same validation split (the first draws of the fit's generator)."""
    settings = TrainSettings.from_params(model.params)
    rng = np.random.default_rng(settings.random_state)
    fit, valid = carve_validation(positives(matrix), settings.validation_fraction, rng)
    validation = RankingValidation(fit, valid, settings, rng)

    def score(users: torch.Tensor) -> torch.Tensor:
        rows = matrix[users.numpy()]
        return torch.from_numpy(model._score_batch(users.numpy(), rows, False))

    return validation.ndcg(score)


@deep
def test_early_stopping_restores_the_best_epoch(key, planted):
    # a high learning rate without regularisation overfits the tiny data within a few epochs
    model = DEEP[key](learning_rate=0.05, regularization=0.0, patience=3, epochs=200)
    report = model.fit(planted.train).training_report
    assert report.stopped_by == "patience"
    assert report.best_epoch == report.epochs_run - 3
    history = report.validation_ndcg
    assert len(history) == report.epochs_run and max(history) > history[-1]
    assert report.best_validation_ndcg == pytest.approx(max(history), abs=1e-6)
    assert _validation_ndcg(model, planted.train) == pytest.approx(max(history), abs=1e-6)


@deep
def test_a_tiny_time_budget_stops_early_and_leaves_a_usable_model(key, planted):
    model = DEEP[key](time_budget_seconds=0.0, epochs=500)
    model.fit(planted.train)
    report = model.training_report
    assert report.stopped_by == "time_budget" and report.epochs_run == 1
    assert report.seconds < 5.0
    ids, scores = model.recommend(0, planted.train[0], N=K)
    assert len(ids) == K and np.all(np.isfinite(scores))


@deep
def test_each_beats_popularity_on_planted_structure(key, planted, planted_models):
    popularity = PopularityRecommender().fit(planted.train)
    bar = evaluate_model(popularity, planted.train, planted.test, k=K)[f"ndcg@{K}"]
    ndcg = evaluate_model(planted_models[key], planted.train, planted.test, k=K)[f"ndcg@{K}"]
    # observed with these seeds: popularity 0.093, bpr_mf 0.25, neumf 0.26, lightgcn 0.28
    assert ndcg > 2 * bar and ndcg - bar > 0.1, (ndcg, bar)


@deep
def test_fold_in_places_a_new_user_in_their_group(key, planted, planted_models):
    model = planted_models[key]
    shares = []
    for group in range(4):
        block = np.flatnonzero(planted.item_group == group)
        row = sp.csr_matrix(
            (np.ones(4, np.float32), (np.zeros(4, int), block[[0, 5, 10, 15]])),
            shape=(1, planted.matrix.shape[1]),
        )
        ids, _ = model.recommend(planted.matrix.shape[0] + group, row, N=K)
        shares.append(np.isin(ids, block).mean())
    assert min(shares) >= 0.6 and np.mean(shares) >= 0.8, shares  # chance level: 0.25


@deep
def test_similar_items_are_cosine_neighbours_of_the_item_vectors(key, planted_models):
    model = planted_models[key]
    vectors = model.weights.item_vectors() if key == "neumf" else model.item_factors
    for item in (0, 7):
        ids, scores = model.similar_items(item, N=5)
        expected = cosine_neighbours(vectors, item, 5)
        assert ids.tolist() == expected[0].tolist() and scores.tolist() == expected[1].tolist()


def test_neumf_numpy_forward_matches_torch_and_its_fold_in_gradient_is_exact():
    rng = np.random.default_rng(0)
    n_users, n_items, gmf, mlp = 5, 7, 4, 3
    layers = [(normal(rng, (6, 2 * mlp), 0.5), normal(rng, (6,), 0.5)),
              (normal(rng, (2, 6), 0.5), normal(rng, (2,), 0.5))]
    predict = (normal(rng, (gmf + 2,), 0.5), normal(rng, (1,), 0.5))
    embeddings = [normal(rng, shape, 0.5) for shape in
                  ((n_users, gmf), (n_items, gmf), (n_users, mlp), (n_items, mlp))]
    module = NeuMFModule(*embeddings, layers, predict)
    users = torch.arange(n_users)
    with torch.no_grad():
        expected = module.score_users(users).numpy()
        pairs, _, _ = module.pair_scores(users, torch.full((n_users,), 2), users)
    np.testing.assert_allclose(pairs.numpy(), expected[:, 2], rtol=1e-5, atol=1e-6)
    arrays = dict(zip(("gmf_users", "gmf_items", "mlp_users", "mlp_items"), embeddings))
    for k, (weight, bias) in enumerate(layers):
        arrays[f"mlp_weight_{k}"], arrays[f"mlp_bias_{k}"] = weight, bias
    arrays.update(predict_weight=predict[0], predict_bias=predict[1],
                  user_trained=np.ones(n_users, bool))
    weights = NeuMFWeights(arrays)
    scored = weights.score(weights.gmf_users, weights.mlp_users)
    np.testing.assert_allclose(scored, expected, rtol=1e-5, atol=1e-6)
    # the fold-in gradient (a hand-written backward pass) matches finite differences
    liked, others = np.array([1, 4]), np.array([0, 2, 3, 5, 6])
    x = np.random.default_rng(1).normal(size=gmf + mlp)
    error = check_grad(lambda v: weights.fold_in_loss(v, liked, others, 0.1)[0],
                       lambda v: weights.fold_in_loss(v, liked, others, 0.1)[1], x)
    assert error < 1e-5, error


def test_validation_split_and_negative_sampling(small_matrix):
    matrix = positives(small_matrix)
    fit, valid = carve_validation(matrix, 0.25, np.random.default_rng(1))
    assert fit.nnz + valid.nnz == matrix.nnz and fit.multiply(valid).nnz == 0
    counts = np.diff(matrix.indptr)
    assert np.all(np.diff(fit.indptr)[counts >= 1] >= 1)  # every user keeps an item to fit
    assert np.all(np.diff(valid.indptr)[counts >= 2] >= 1)
    sampler = PairSampler(fit, np.random.default_rng(2))
    batches = list(sampler.batches(64))
    users = np.concatenate([b[0] for b in batches])
    negatives = np.concatenate([b[2] for b in batches])
    assert len(users) == fit.nnz  # one pass over the pairs per epoch
    dense = fit.toarray()
    assert dense[users, np.concatenate([b[1] for b in batches])].all()
    assert not dense[users, negatives].any()  # no sampled negative is one of the user's items


def test_training_settings_are_validated_and_threads_resolved(monkeypatch):
    with pytest.raises(TypeError, match="unknown training parameter"):
        TorchBPRRecommender(learnig_rate=0.1)
    with pytest.raises(ValueError, match="validation_fraction"):
        LightGCNRecommender(validation_fraction=1.0)
    model = NeuMFRecommender(time_budget_seconds=3)
    assert model.params["time_budget_seconds"] == 3.0
    assert NeuMFRecommender(**model.params).params == model.params
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads(0) == 3 and resolve_threads(2) == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert resolve_threads(0) == 1


def test_fit_restores_the_process_torch_settings(small_matrix):
    threads = torch.get_num_threads()
    state = torch.random.get_rng_state()
    TorchBPRRecommender(factors=4, epochs=1, num_threads=1).fit(small_matrix)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.random.get_rng_state(), state)


def test_saved_deep_models_are_served_without_torch(planted, planted_models, tmp_path):
    """Loading and scoring (trained users, fold-in, similar items) never imports torch."""
    for key, model in planted_models.items():
        model.save(tmp_path / f"{key}.npz")
        expected = model.recommend(3, planted.train[3], N=K, recalculate_user=True)[0]
        np.save(tmp_path / f"{key}-expected.npy", expected)
    sp.save_npz(tmp_path / "rows.npz", planted.train)
    run_in_fresh_interpreter(
        f"""
        import sys
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np, scipy.sparse as sp
        from ml.models import load_model
        rows = sp.load_npz({str(tmp_path / "rows.npz")!r}).tocsr()
        for key in ("bpr_mf", "neumf", "lightgcn"):
            model = load_model({str(tmp_path)!r} + f"/{{key}}.npz")
            assert model.name == key and model.training_report.epochs_run > 0
            ids, _ = model.recommend(0, rows[0], N=5)
            assert len(ids) == 5
            folded, _ = model.recommend(3, rows[3], N={K}, recalculate_user=True)
            expected = np.load({str(tmp_path)!r} + f"/{{key}}-expected.npy")
            assert np.array_equal(folded, expected), key
            assert len(model.similar_items(0, N=3)[0]) == 3
        loaded = [name for name, module in sys.modules.items()
                  if module is not None and name.split(".")[0] == "torch"]
        assert not loaded, loaded
        print("ok")
        """
    )


def test_loaded_models_keep_the_training_report(planted_models, tmp_path):
    model = planted_models["lightgcn"]
    model.save(tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.training_report == model.training_report


def _events(matrix: sp.csr_matrix) -> pd.DataFrame:
    coo = matrix.tocoo()
    seconds = np.random.default_rng(0).uniform(0, 30 * 86_400, coo.nnz)
    return pd.DataFrame({
        "user_id": [f"u{r}" for r in coo.row], "item_id": [f"i{c}" for c in coo.col],
        "event": "view",
        "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, "s"),
    })


def test_deep_candidates_get_the_budget_and_are_never_searched():
    config = TrainingConfig(torch_time_budget_seconds=7.0, num_threads=1)
    assert set(DEEP_CANDIDATES) <= set(config.candidate_names)
    for name in DEEP_CANDIDATES:
        spec = CANDIDATES[name]
        assert spec.deep and not spec.search_space
        params = spec.resolved_params(config)
        assert params["time_budget_seconds"] == 7.0 and params["num_threads"] == 1
        assert spec.model(**params).params["time_budget_seconds"] == 7.0
    with pytest.raises(ValueError, match="torch_time_budget_seconds"):
        TrainingConfig(torch_time_budget_seconds=-1.0)


def test_deep_candidates_train_in_the_pipeline_or_are_skipped_with_a_reason(small_matrix):
    events = _events(small_matrix)
    names = ("popularity", "bpr_mf", "lightgcn")
    common = dict(candidates=names, search_budget_seconds=2.0, num_threads=1,
                  torch_time_budget_seconds=2.0)
    ran = train(events, TrainingConfig(**common)).candidates
    assert all(ran[n].status == "ok" and ran[n].search_trials == 0 for n in ("bpr_mf", "lightgcn"))
    assert ran["bpr_mf"].fit_seconds < 2.0 + 5.0  # the budget, plus one batch and validation
    off = train(events, TrainingConfig(**common, deep_models=False)).candidates
    assert off["bpr_mf"].status == "skipped" and "deep_models" in off["bpr_mf"].error
    big = train(events, TrainingConfig(**common, deep_max_cells=100)).candidates
    assert big["lightgcn"].status == "skipped" and "deep_max_cells" in big["lightgcn"].error


def test_a_deep_champion_is_published_and_served_without_torch(planted, tmp_path):
    config = TrainingConfig(candidates=("popularity", "lightgcn"), search=False, num_threads=1)
    result = train(_events(planted.matrix), config)
    assert result.champion == "lightgcn"
    ModelRegistry(tmp_path).publish(result)
    run_in_fresh_interpreter(
        f"""
        import sys
        sys.modules["torch"] = None
        from ml.serving import ModelHolder
        loaded = ModelHolder({str(tmp_path)!r}).get()
        assert loaded.models["recommender"].name == "lightgcn"
        assert len(loaded.recommend_for_user("u1", [], 5)) == 5
        assert len(loaded.recommend_for_user(None, [("i1", "view"), ("i2", "view")], 5)) == 5
        print("ok")
        """
    )

"""GRU4Rec: reproducible, time-boxed, pickle-free, served by numpy exactly as torch computes it,
and able to learn a planted sequence. Tiny models and data: each test takes a second or two."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ml.sessions import SessionData, load_session_model
from ml.sessions.gru4rec import GRU4Rec, GRU4RecWeights
from ml.sessions.gru4rec_training import (
    AdagradM,
    GRU4RecModule,
    batch_loss,
    initial_arrays,
)
from tests.ml.support import run_in_fresh_interpreter

N_CHAINS, N_NOISE = 20, 40


def chain_sessions(n_sessions: int = 1200, seed: int = 0) -> SessionData:
    """Chain ``k`` is items ``3k -> 3k+1 -> 3k+2``; each session is 0-2 random noise items and
    then one whole chain. Every chain is equally popular, so only the order tells what is next."""
    rng = np.random.default_rng(seed)
    n_items = 3 * N_CHAINS + N_NOISE
    sessions = []
    for _ in range(n_sessions):
        k = int(rng.integers(N_CHAINS))
        noise = rng.integers(3 * N_CHAINS, n_items, int(rng.integers(0, 3)))
        sessions.append(np.r_[noise, [3 * k, 3 * k + 1, 3 * k + 2]])
    lengths = np.array([len(s) for s in sessions])
    items = np.concatenate(sessions).astype(np.int32)
    return SessionData(np.array([f"s{i:04d}" for i in range(n_sessions)]),
                       np.r_[0, np.cumsum(lengths)].astype(np.int64), items,
                       np.arange(len(items), dtype=np.float64),
                       np.array([f"i{i}" for i in range(n_items)]))


def small(**kw) -> GRU4Rec:
    params = dict(layers=[16], n_sample=8, batch_size=16, epochs=2, num_threads=1)
    return GRU4Rec(**{**params, **kw})


@pytest.fixture(scope="module")
def data() -> SessionData:
    return chain_sessions()


@pytest.fixture(scope="module")
def trained(data) -> GRU4Rec:
    return small(layers=[32], epochs=5, random_state=1).fit(data)


SESSIONS = ([5], [0, 1], [7, 7, 7], [3, 60, 3, 4, 99, 61, 3], [42, 0, 42])


def test_two_fits_with_a_seed_are_identical(data):
    threads, state = torch.get_num_threads(), torch.random.get_rng_state()
    kw = dict(loss="bpr-max", dropout_hidden=0.2, embedding=6, dropout_embed=0.1)
    first, second = (small(random_state=3, epochs=1, **kw).fit(data) for _ in range(2))
    other = small(random_state=4, epochs=1, **kw).fit(data)
    a, b, c = (m.weights.arrays() for m in (first, second, other))
    assert all(np.array_equal(a[key], b[key]) for key in a)
    assert not all(np.array_equal(a[key], c[key]) for key in a)
    for session in SESSIONS:
        assert np.array_equal(first.score(session), second.score(session))
    # the fit put the process's torch settings back
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_tiny_time_budget_stops_early_and_leaves_a_usable_model(data):
    model = small(time_budget_seconds=0.0, epochs=500).fit(data)
    report = model.training_report
    assert report.stopped_by == "time_budget" and report.epochs_run == 1
    assert report.events_trained == 16  # one session-parallel batch
    assert report.best_validation_mrr is not None and report.seconds < 5.0
    ids, scores = model.recommend([0, 1], N=10)
    assert len(ids) == 10 and np.all(np.isfinite(scores))


def test_every_event_is_trained_once_per_epoch_and_validation_is_held_out(data):
    model = small(epochs=2, patience=5, validation_fraction=0.1).fit(data)
    report = model.training_report
    assert report.stopped_by == "max_epochs" and report.validation_sessions == 120
    # steps per epoch: each session's events but its first, less the 120 held-out last items
    pairs = data.n_events - data.n_sessions - report.validation_sessions
    assert report.events_trained == 2 * pairs
    assert len(report.validation_mrr) == 2
    assert report.best_validation_mrr == max(report.validation_mrr)
    unvalidated = small(epochs=2, validation_fraction=0.0).fit(data).training_report
    assert unvalidated.best_epoch == 2 and unvalidated.validation_mrr == []
    assert unvalidated.events_trained == 2 * (data.n_events - data.n_sessions)


def test_save_and_load_without_pickle(trained, tmp_path):
    path = tmp_path / "gru4rec.npz"
    trained.save(path)
    with np.load(path, allow_pickle=False) as stored:
        assert "w_out" in stored.files and "input_table" in stored.files
    for loaded in (GRU4Rec.load(path), load_session_model(path)):
        assert isinstance(loaded, GRU4Rec) and loaded.params == trained.params
        assert loaded.training_report == trained.training_report
        for session in SESSIONS:
            assert np.array_equal(loaded.score(session), trained.score(session))
    assert GRU4Rec(**trained.params).params == trained.params


@pytest.mark.parametrize("embedding", [0, 5])
def test_numpy_serving_equals_the_torch_forward(embedding):
    rng = np.random.default_rng(7)
    n_items, layers = 100, [8, 8]
    arrays = initial_arrays(rng, n_items, layers, embedding)
    for key in arrays:  # larger than the initial ranges, biases non-zero: the gates saturate
        arrays[key] = (rng.standard_normal(arrays[key].shape) * 0.7).astype(np.float32)
    weights = GRU4RecWeights(arrays)
    module = GRU4RecModule(arrays).eval()
    sessions = [np.asarray(s) for s in SESSIONS]
    expected = module.score_sessions(sessions).numpy()
    # torch's own nn.GRU with the same weights (one-hot input is the input table's row)
    gru = torch.nn.GRU(embedding or n_items, layers[0], num_layers=2, batch_first=True)
    with torch.no_grad():
        for k in range(2):
            w_ih = arrays[f"w_ih_{k}"] if f"w_ih_{k}" in arrays else arrays["input_table"].T
            for name, value in (("weight_ih", w_ih), ("weight_hh", arrays[f"w_hh_{k}"]),
                                ("bias_ih", arrays[f"b_ih_{k}"]), ("bias_hh", arrays[f"b_hh_{k}"])):
                getattr(gru, f"{name}_l{k}").copy_(torch.from_numpy(np.array(value)))
    for row, session in enumerate(sessions):
        numpy_scores = weights.scores(weights.hidden_states(session)[-1])
        np.testing.assert_allclose(numpy_scores, expected[row], rtol=0, atol=1e-5)
        table = np.eye(n_items, dtype=np.float32) if not embedding else arrays["embedding"]
        with torch.no_grad():
            out, _ = gru(torch.from_numpy(table[session])[None])
            reference = out[0, -1] @ torch.from_numpy(arrays["w_out"]).T \
                + torch.from_numpy(arrays["b_out"])
        np.testing.assert_allclose(numpy_scores, reference.numpy(), rtol=0, atol=1e-5)


def test_recommend_and_filters(trained):
    ids, scores = trained.recommend([0, 1], N=5)
    assert len(ids) == 5 and np.all(np.diff(scores) <= 0)
    assert np.array_equal(ids, np.argsort(-trained.score([0, 1]), kind="stable")[:5])
    filtered, _ = trained.recommend([0, 1], N=5, filter_items=[ids[0], 10_000],
                                    filter_session_items=True)
    assert ids[0] not in filtered and 0 not in filtered and 1 not in filtered
    assert len(filtered) == 5
    assert len(trained.recommend([], N=5)[0]) == 0  # no evidence: the fallback chain answers
    assert np.all(trained.score([]) == -np.inf)
    with pytest.raises(IndexError):
        trained.recommend([trained.n_items])
    with pytest.raises(RuntimeError):
        GRU4Rec().recommend([0])


def test_it_learns_a_planted_sequence(trained):
    hits = []
    for k in range(N_CHAINS):
        hits.append(3 * k + 1 in trained.recommend([3 * k], N=3)[0])
        hits.append(3 * k + 2 in trained.recommend([70, 3 * k, 3 * k + 1], N=3)[0])
        hits.append(3 * k + 2 in trained.recommend([3 * k + 1], N=3)[0])
    chance = 3 / trained.n_items
    assert np.mean(hits) >= 0.9 and np.mean(hits) > 10 * chance, np.mean(hits)
    assert trained.training_report.best_validation_mrr > 0.9


def test_bpr_max_learns_too(data):
    model = small(loss="bpr-max", layers=[32], epochs=5, random_state=2).fit(data)
    hits = [3 * k + 1 in model.recommend([3 * k], N=3)[0] for k in range(N_CHAINS)]
    assert np.mean(hits) >= 0.8, np.mean(hits)


def test_losses_match_their_formulas():
    logits = torch.tensor([[2.0, 0.5, -1.0, 0.3], [0.1, 1.5, 0.7, 0.2], [0.4, 0.9, 3.0, 1.0]])
    columns = torch.tensor([4, 6, 4, 9])  # rows 0 and 2 share target item 4
    ce = float(batch_loss(logits, columns, "cross-entropy", 0.0))
    rows = [(0, [1, 3]), (1, [0, 2, 3]), (2, [1, 3])]  # the row's own item is no negative
    expected = np.mean([-(logits[i, i] - torch.logsumexp(logits[i, [i] + neg], 0)).item()
                        for i, neg in rows])
    assert ce == pytest.approx(expected, rel=1e-6)
    bpreg = 0.5
    bpr = float(batch_loss(logits, columns, "bpr-max", bpreg))
    parts = []
    for i, neg in rows:
        r = logits[i, neg].numpy().astype(np.float64)
        s = np.exp(r - r.max()) / np.exp(r - r.max()).sum()
        ranking = (s / (1 + np.exp(-(float(logits[i, i]) - r)))).sum()
        parts.append(-np.log(ranking) + bpreg * (s * r**2).sum())
    assert bpr == pytest.approx(np.mean(parts), rel=1e-6)


def test_sparse_adagrad_updates_only_the_batch_rows_as_dense_adagrad_would():
    start = torch.arange(12.0).reshape(6, 2)
    sparse_table = torch.nn.Embedding.from_pretrained(start.clone(), freeze=False, sparse=True)
    dense_table = torch.nn.Parameter(start.clone())
    sparse_opt = AdagradM(sparse_table.parameters(), lr=0.1)
    dense_opt = AdagradM([dense_table], lr=0.1)
    for rows in ([1, 3, 3], [3, 4]):
        index = torch.tensor(rows)
        for loss in ((sparse_table(index) ** 2).sum(), (dense_table[index] ** 2).sum()):
            loss.backward()
        sparse_opt.step(), dense_opt.step()
        sparse_opt.zero_grad(), dense_opt.zero_grad()
    assert torch.allclose(sparse_table.weight, dense_table, atol=1e-6)
    assert torch.equal(sparse_table.weight[[0, 2, 5]], start[[0, 2, 5]])


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="loss"):
        GRU4Rec(loss="top1")
    with pytest.raises(ValueError, match="dropout_hidden"):
        GRU4Rec(dropout_hidden=1.0)
    with pytest.raises(TypeError):
        GRU4Rec(hidden=100)
    assert GRU4Rec(layers=64).params["layers"] == [64]


def test_scoring_a_saved_model_never_imports_torch(trained, tmp_path):
    trained.save(tmp_path / "m.npz")
    np.save(tmp_path / "expected.npy", trained.score([3, 4]))
    run_in_fresh_interpreter(
        f"""
        import sys
        import ml.sessions.gru4rec
        assert "torch" not in sys.modules
        sys.modules["torch"] = None  # any import of torch now fails
        import numpy as np
        from ml.sessions import load_session_model
        model = load_session_model({str(tmp_path / "m.npz")!r})
        assert np.array_equal(model.score([3, 4]), np.load({str(tmp_path / "expected.npy")!r}))
        print("ok")
        """
    )

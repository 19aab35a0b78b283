"""The contract every session model honours, like tests/ml/models/test_contract.py for the user
models: every registered class is covered; scores over the whole vocabulary; best first; filters;
two fits with one seed agree; a pickle-free file that ``load_session_model`` turns back into the
same scores in a process that never imports torch."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Callable

import numpy as np
import pandas as pd
import pytest

from ml.sessions import SessionData, SessionRecommender, load_session_model
from ml.sessions.baselines import FoldInSessionAdapter, LastItemKNN, SessionPopularity
from ml.sessions.gru4rec import GRU4Rec
from ml.sessions.knn import STAN, VSKNN, SessionKNN

FACTORIES: dict[str, Callable[[], SessionRecommender]] = {
    "session_popularity": SessionPopularity,
    "last_item_knn": LastItemKNN,
    "champion_fold_in": lambda: FoldInSessionAdapter("als", {"factors": 8, "iterations": 5, "num_threads": 1}),
    "sknn": lambda: SessionKNN(k=20, sample_size=200),
    "vsknn": lambda: VSKNN(k=20, sample_size=200),
    "stan": lambda: STAN(k=20, sample_size=200),
    "gru4rec": lambda: GRU4Rec(layers=(16,), n_sample=16, batch_size=8, epochs=2, num_threads=1,
                               time_budget_seconds=20.0),
}
N = 5


@pytest.fixture(scope="module")
def sessions() -> SessionData:
    rng = np.random.default_rng(3)
    rows = []
    for s in range(160):
        start = int(rng.integers(0, 24))
        for p in range(int(rng.integers(2, 6))):  # walks along 30 items, a step or two at a time
            rows.append((f"s{s}", f"item-{(start + 2 * p) % 30}", 1_700_000_000 + 3_600 * s + 60 * p))
    return SessionData.from_frame(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def fitted(request, sessions) -> tuple[str, SessionRecommender]:
    return request.param, FACTORIES[request.param]().fit(sessions)


def test_every_session_model_class_is_covered():
    import ml.sessions  # noqa: F401  (registers every class)

    assert set(SessionRecommender._registry) == set(FACTORIES)


def test_scores_cover_the_vocabulary_and_recommendations_come_best_first(fitted, sessions):
    name, model = fitted
    visit = sessions.session(0)
    scores = model.score(visit)
    assert scores.shape == (sessions.n_items,) and scores.dtype == np.float64
    ids, values = model.recommend(visit, N=N)
    assert 0 < len(ids) <= N and len(set(ids.tolist())) == len(ids)
    assert np.all(np.diff(values) <= 0)
    np.testing.assert_allclose(values, scores[ids].astype(np.float32), rtol=1e-6)
    assert model.item_ids[ids].dtype.kind == "U"  # external ids come back as text


def test_filters_are_honoured(fitted, sessions):
    _, model = fitted
    visit = sessions.session(1)
    banned = model.recommend(visit, N=3)[0]
    ids, _ = model.recommend(visit, N=N, filter_items=banned, filter_session_items=True)
    assert not set(ids.tolist()) & set(banned.tolist()) and not set(ids.tolist()) & set(visit.tolist())
    with pytest.raises(IndexError):
        model.recommend([sessions.n_items], N=N)


def test_two_fits_with_the_same_seed_agree(fitted, sessions):
    name, model = fitted
    again = FACTORIES[name]().fit(sessions)
    for s in range(5):
        np.testing.assert_array_equal(again.score(sessions.session(s)), model.score(sessions.session(s)))


def test_saved_files_load_without_pickle_or_torch(fitted, sessions, tmp_path):
    name, model = fitted
    path = tmp_path / f"{name}.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as saved:
        assert all(saved[key].dtype != object for key in saved.files)
    loaded = load_session_model(path)
    assert type(loaded) is type(model) and loaded.params == model.params
    for s in range(5):
        np.testing.assert_allclose(loaded.score(sessions.session(s)), model.score(sessions.session(s)), rtol=1e-12)
    visit = ",".join(str(i) for i in sessions.session(2))
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any import of torch fails
        from ml.sessions import load_session_model
        model = load_session_model({str(path)!r})
        print(model.recommend([{visit}], N=3)[0].tolist())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=".")
    assert out.stdout.strip() == str(model.recommend(sessions.session(2), N=3)[0].tolist())

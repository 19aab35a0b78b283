"""The session baselines: popularity, last-item kNN (hand-computed cosine) and the champion with
fold-in, and their pickle-free save/load."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.models import ALSRecommender, ItemKNNRecommender
from ml.sessions.base import SessionRecommender
from ml.sessions.baselines import FoldInSessionAdapter, LastItemKNN, SessionPopularity
from ml.sessions.data import SessionData


def _data(sessions: list[list[str]]) -> SessionData:
    rows = [(f"s{s}", item, float(10 * s + p)) for s, items in enumerate(sessions) for p, item in enumerate(items)]
    return SessionData.from_frame(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))


TOY = _data([["a", "b"], ["a", "b", "c"], ["b", "c"], ["d", "b"]])  # items a b c d = 0 1 2 3


def _round_trip(model: SessionRecommender, tmp_path) -> SessionRecommender:
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as saved:
        assert all(saved[key].dtype != object for key in saved.files)
    return SessionRecommender.load(path)


def test_popularity_is_the_same_list_for_every_session(tmp_path):
    model = SessionPopularity().fit(TOY)
    np.testing.assert_array_equal(model.score(np.array([0])), [2, 4, 2, 1])
    np.testing.assert_array_equal(model.score(np.array([], np.int64)), model.score(np.array([3, 2])))
    assert list(model.recommend([0], N=2)[0]) == [1, 0]  # b, then a before c (tie: smaller index)
    np.testing.assert_array_equal(_round_trip(model, tmp_path).score(np.array([1])), model.score(np.array([1])))


def test_last_item_knn_is_the_cosine_to_the_last_item_only(tmp_path):
    model = LastItemKNN().fit(TOY)
    # sessions holding a: 2, b: 4, c: 2, d: 1; together a-b 2, b-c 2, a-c 1, b-d 1
    scores = model.score(np.array([2, 0]))  # ... c, then a: only a counts
    assert scores[1] == pytest.approx(2 / math.sqrt(2 * 4))
    assert scores[2] == pytest.approx(1 / math.sqrt(2 * 2))
    assert scores[0] == -np.inf and scores[3] == -np.inf  # itself; never together
    np.testing.assert_array_equal(model.score(np.array([3, 0])), scores)  # earlier items do not matter
    assert np.all(model.score(np.array([], np.int64)) == -np.inf)
    loaded = _round_trip(model, tmp_path)
    assert isinstance(loaded, LastItemKNN)
    np.testing.assert_allclose(loaded.score(np.array([1])), model.score(np.array([1])))
    top1 = LastItemKNN(neighbours=1).fit(TOY).score(np.array([1]))  # b's most similar only
    assert np.isfinite(top1).sum() == 1


@pytest.mark.parametrize("name, cls, params", [
    ("als", ALSRecommender, {"factors": 4, "iterations": 5}),
    ("item_knn", ItemKNNRecommender, {}),
])
def test_champion_fold_in_scores_a_session_as_a_folded_in_user(tmp_path, name, cls, params):
    sessions = [["a", "b", "c"], ["a", "b"], ["c", "d"], ["d", "e"], ["a", "c"], ["b", "e"]] * 3
    data = _data(sessions)
    adapter = FoldInSessionAdapter(model=name, model_params=params).fit(data)
    inner = adapter.inner
    assert isinstance(inner, cls)
    session = np.array([0, 1, 0])
    row = data.session_item_matrix()[:1] * 0
    row[0, [0, 1]] = 1
    ids, scores = inner.recommend(-1, row, N=data.n_items, filter_already_liked_items=False, recalculate_user=True)
    expected = np.full(data.n_items, -np.inf)
    expected[ids] = scores
    got = adapter.score(session)
    np.testing.assert_allclose(got[np.isfinite(expected)], expected[np.isfinite(expected)], rtol=1e-5)
    assert np.all(adapter.score(np.array([], np.int64)) == -np.inf)
    loaded = _round_trip(adapter, tmp_path)
    np.testing.assert_allclose(loaded.score(session), got, rtol=1e-6)
    if name == "als":
        assert loaded.inner.user_factors.shape[0] == 0  # training sessions are not kept


def test_champion_fold_in_refuses_an_unknown_model():
    with pytest.raises(ValueError, match="unknown shop model 'nope'"):
        FoldInSessionAdapter(model="nope").fit(TOY)

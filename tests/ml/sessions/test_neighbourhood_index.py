"""The session index the neighbourhood models share (``ml.sessions.neighbourhood``): sessions
ordered by end time, last positions, the most recent top k, the candidates' distinct sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.sessions.data import SessionData
from ml.sessions.neighbourhood import SessionIndex, distinct_of_sorted_runs, last_positions, top_k_recent


def test_index_orders_sessions_by_end_time_and_keeps_last_positions():
    frame = pd.DataFrame({"session_id": ["late", "late", "late", "early", "early"],
                          "item_id": ["A", "B", "A", "C", "A"],
                          "timestamp": [500.0, 501.0, 502.0, 10.0, 11.0]})
    index = SessionIndex.build(SessionData.from_frame(frame))
    assert index.n_sessions == 2
    np.testing.assert_array_equal(index.end_times, [11.0, 502.0])  # "early" is session 0
    rows = index.sessions
    assert rows[0].toarray().tolist() == [[2, 0, 1]]  # early: C at 1, A at 2
    assert rows[1].toarray().tolist() == [[3, 2, 0]]  # late: A last at 3, B at 2
    np.testing.assert_array_equal(index.items[0].indices, [0, 1])  # item A: oldest first
    np.testing.assert_array_equal(index.session_lengths, [2, 2])
    again = SessionIndex.from_arrays(index.to_arrays())
    assert (again.items != index.items).nnz == 0 and (again.sessions != index.sessions).nnz == 0


def test_last_positions_and_top_k_recent():
    items, positions = last_positions(np.array([4, 2, 4, 7]))
    assert items.tolist() == [2, 4, 7] and positions.tolist() == [2, 3, 4]
    similarity = np.array([0.5, 0.9, 0.5, 0.0, 0.5, 0.2])
    assert sorted(top_k_recent(similarity, 2).tolist()) == [1, 4]  # tie: the most recent 0.5
    assert sorted(top_k_recent(similarity, 10).tolist()) == [0, 1, 2, 4, 5]  # 0 is no neighbour


@pytest.mark.parametrize("runs", [
    [[0, 3, 9], [1, 3, 4, 9, 12], [9]],  # shared sessions across runs
    [[5, 6, 7]],  # one run, all distinct
    [[2, 2], [], [1]],  # a repeated value, an empty run
    [],  # no query items at all
])
def test_distinct_of_sorted_runs_equals_numpy_unique(runs):
    values = np.concatenate([np.asarray(run, dtype=np.int32) for run in runs]) if runs \
        else np.empty(0, np.int32)
    distinct, inverse = distinct_of_sorted_runs(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.tolist()
    assert distinct.dtype == values.dtype and inverse.dtype == np.int64


def test_distinct_of_sorted_runs_on_random_runs():
    rng = np.random.default_rng(7)
    values = np.concatenate([np.sort(rng.choice(5000, size=n, replace=False)) for n in (900, 40, 2500, 1)])
    distinct, inverse = distinct_of_sorted_runs(values)
    expected, expected_inverse = np.unique(values, return_inverse=True)
    assert np.array_equal(distinct, expected) and np.array_equal(inverse, expected_inverse)
    assert np.array_equal(distinct[inverse], values)

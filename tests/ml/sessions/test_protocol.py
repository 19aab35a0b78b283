"""The session-rec protocol: preprocessing, the time split on session starts, unseen items, the
next-item ranks, hand-computed HR/MRR, sliding windows, bootstrap intervals, sampling, failures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.sessions.baselines import SessionPopularity
from ml.sessions.data import SessionData
from ml.sessions.protocol import SessionProtocol, evaluate_sessions, next_item_ranks, rank_metrics
from ml.sessions.split import preprocess, sample_sessions, time_split

DAY = 86_400.0


def _data(sessions: list[tuple[float, list[str]]]) -> SessionData:
    """Sessions as (start day, items); clicks a minute apart."""
    rows = [(f"s{s:03d}", item, day * DAY + 60 * p) for s, (day, items) in enumerate(sessions)
            for p, item in enumerate(items)]
    return SessionData.from_frame(pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"]))


def _items(data: SessionData) -> list[list[str]]:
    return [[str(data.item_ids[i]) for i in data.session(s)] for s in range(data.n_sessions)]


def test_preprocess_drops_short_sessions_then_rare_items_then_short_sessions():
    data = _data([(0, ["a", "b"]), (0, ["a", "b"]), (0, ["a", "c"]), (0, ["a"]), (0, ["b", "d", "c"]),
                  (0, ["c", "b"])])
    # a: 3 events in sessions >= 2 (the single "a" goes first), b: 4, c: 3, d: 1
    out = preprocess(data, min_item_support=3)
    assert _items(out) == [["a", "b"], ["a", "b"], ["a", "c"], ["b", "c"], ["c", "b"]]
    assert list(out.item_ids) == ["a", "b", "c"]
    strict = preprocess(data, min_item_support=4)  # only b survives: sessions of one b are dropped
    assert _items(strict) == [] and strict.n_items == 0


def test_time_split_on_session_starts_and_unseen_items_removed():
    data = _data([(0, ["a", "b"]), (1, ["b", "c"]), (8.9, ["a", "c"]),  # train (start before day 9)
                  (9.2, ["a", "x", "b"]),  # test: x unseen in training is removed -> a, b
                  (9.5, ["x", "c"]),  # test: only c left -> dropped
                  (9.9, ["c", "a", "c"])])
    split = time_split(data, test_days=1.0)
    assert _items(split.train) == [["a", "b"], ["b", "c"], ["a", "c"]]
    assert list(split.train.item_ids) == ["a", "b", "c"]
    assert _items(split.test) == [["a", "b"], ["c", "a", "c"]]
    assert list(split.test.item_ids) == ["a", "b", "c"] and split.test_sessions_before_filter == 3
    assert split.test_to == pytest.approx(9.9 * DAY + 120) and split.test_from == pytest.approx(8.9 * DAY + 120)
    back = time_split(data, test_days=1.0, window=1)  # the day before: starts in [7.9 d, 8.9 d) + 120 s
    assert _items(back.test) == [["a", "c"]] and _items(back.train) == [["a", "b"], ["b", "c"]]
    with pytest.raises(ValueError, match="no session started before"):
        time_split(data, test_days=30)


def test_ranks_follow_top_n_order_and_unscored_targets_miss():
    class Fixed(SessionPopularity):
        name = ""  # not registered

        def score(self, session_items):
            return np.array([3.0, 5.0, 3.0, -np.inf])

    model = Fixed().fit(_data([(0, ["a", "b", "c", "d"])]))
    test = _data([(0, ["b", "a", "c", "d", "b"])])
    ranks, owners = next_item_ranks(model, test)
    # targets a (3.0: after b, first of the tie), c (3.0, after a), d (-inf), b (5.0)
    np.testing.assert_array_equal(ranks, [2, 3, np.inf, 1])
    np.testing.assert_array_equal(owners, [0, 0, 0, 0])
    metrics = rank_metrics(ranks, [1, 2])
    np.testing.assert_allclose(metrics["hr@2"], [1, 0, 0, 1])
    np.testing.assert_allclose(metrics["mrr@2"], [0.5, 0, 0, 1])
    np.testing.assert_allclose(metrics["mrr@1"], [0, 0, 0, 1])


def test_new_items_only_skips_revisits_and_never_predicts_the_prefix():
    class Fixed(SessionPopularity):
        name = ""

        def score(self, session_items):
            return np.array([3.0, 5.0, 3.0, 4.0])  # a, b, c, d

    model = Fixed().fit(_data([(0, ["a", "b", "c", "d"])]))
    test = _data([(0, ["b", "a", "c", "b", "d"])])
    # every position: a (after b, d: 3), c (after b, d, a: 4), b (1), d (after b: 2)
    np.testing.assert_array_equal(next_item_ranks(model, test)[0], [3, 4, 1, 2])
    # new items only: a (b is the prefix's: after d only, 2), c (a and b held: after d only, 2),
    # the revisit of b skipped, d (b, a, c held: 1)
    np.testing.assert_array_equal(next_item_ranks(model, test, new_items_only=True)[0], [2, 2, 1])
    assert "next new item" in SessionProtocol(new_items_only=True).describe()


def _toy_split_data() -> SessionData:
    train = [(0, ["x", "y"]), (1, ["x", "y"]), (2, ["x", "z"])]  # popularity x 3, y 2, z 1
    test = [(9.5, ["z", "x", "y"]), (9.6, ["w", "x"]), (9.7, ["y", "y", "z"])]
    return _data(train + test)


def test_hand_computed_hr_and_mrr_of_popularity_on_a_toy_split():
    protocol = SessionProtocol(test_days=1, cutoffs=(1, 2), min_item_support=1, resamples=200)
    result = evaluate_sessions(_toy_split_data(), protocol, models=["session_popularity"])
    # predictions: [z]->x rank 1, [z,x]->y rank 2, [y]->y rank 2, [y,y]->z rank 3;
    # the session w,x loses w (unseen) and is then too short
    window = result.windows[0]
    assert window["test_sessions"] == 2 and window["predictions"] == 4 and window["train_sessions"] == 3
    summary = result.summary["session_popularity"]
    assert summary["hr@1"].mean == pytest.approx(1 / 4)
    assert summary["mrr@1"].mean == pytest.approx(1 / 4)
    assert summary["hr@2"].mean == pytest.approx(3 / 4)
    assert summary["mrr@2"].mean == pytest.approx((1 + 0.5 + 0.5) / 4)
    assert summary["predictions"].mean == 4
    low, high = summary["mrr@2"].low, summary["mrr@2"].high  # bootstrap over the 2 test sessions
    assert low <= summary["mrr@2"].mean <= high and summary["mrr@2"].n == 2
    assert protocol.main_metric == "mrr@2" and "bootstrap" in protocol.describe()


def _many_days() -> SessionData:
    rng = np.random.default_rng(0)
    sessions = []
    for day in np.sort(rng.random(300) * 10):
        start = rng.integers(0, 8)
        sessions.append((float(day), [f"i{start + j}" for j in range(3)]))
    return _data(sessions)


def test_sliding_windows_give_t_intervals_and_the_baseline_comparison():
    protocol = SessionProtocol(test_days=2, repeats=3, min_item_support=1)
    result = evaluate_sessions(_many_days(), protocol, models=["session_popularity", "last_item_knn"])
    assert [w["window"] for w in result.windows] == [0, 1, 2]
    ends = [w["test_to"] for w in result.windows]
    assert ends[0] - ends[1] == pytest.approx(2 * DAY) and ends[1] - ends[2] == pytest.approx(2 * DAY)
    assert result.windows[0]["train_sessions"] > result.windows[2]["train_sessions"]
    value = result.summary["last_item_knn"]["mrr@20"]
    assert value.n == 3 and value.low <= value.mean <= value.high
    assert value.mean == pytest.approx(np.mean([run["last_item_knn"]["mrr@20"] for run in result.runs]))
    assert set(result.versus) == {"session_popularity"}
    records = result.records()
    assert {r["model"] for r in records} == {"session_popularity", "last_item_knn"}


def test_test_sessions_are_sampled_with_the_seed():
    data = _many_days()
    split = time_split(data, 3)
    one, two = sample_sessions(split.test, 10, 7), sample_sessions(split.test, 10, 7)
    assert one.n_sessions == 10 and list(one.session_ids) == list(two.session_ids)
    assert sample_sessions(split.test, None, 7).n_sessions == split.test.n_sessions
    result = evaluate_sessions(data, SessionProtocol(test_days=3, max_test_sessions=10, min_item_support=1),
                               models=["session_popularity"])
    assert result.windows[0]["test_sessions"] == 10


def test_a_failing_model_is_reported_and_the_others_run():
    result = evaluate_sessions(_many_days(), SessionProtocol(test_days=2, min_item_support=1),
                               models=["session_popularity", "champion_fold_in"],
                               params={"champion_fold_in": {"model": "nope"}})
    assert "unknown shop model" in result.failures["champion_fold_in"]
    assert set(result.summary) == {"session_popularity"}
    with pytest.raises(ValueError, match="unknown session model"):
        evaluate_sessions(_many_days(), SessionProtocol(), models=["nope"])

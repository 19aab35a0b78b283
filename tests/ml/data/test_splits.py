"""Invariants of the train/test splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data import leave_one_out, random_split, time_split


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    """300 events from 30 users over 40 items, with repeats and distinct times."""
    rng = np.random.default_rng(3)
    n = 300
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in rng.integers(0, 30, n)],
            "item_id": [f"i{i}" for i in rng.integers(0, 40, n)],
            "event": rng.choice(["view", "addtocart"], n),
            "timestamp": 1_700_000_000 + rng.permutation(n) * 60,
        }
    )


def pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["user_id"], frame["item_id"]))


def test_time_split_puts_the_future_in_test(events):
    train, test = time_split(events, test_fraction=0.2)
    assert train["timestamp"].max() < test["timestamp"].min()
    assert set(test["user_id"]) <= set(train["user_id"])
    assert set(test["item_id"]) <= set(train["item_id"])
    assert len(train) == 240  # the earliest 80% of 300
    assert 0 < len(test) <= 60


def test_time_split_with_explicit_cutoff(events):
    cutoff = 1_700_000_000 + 100 * 60
    train, test = time_split(events, cutoff=cutoff)
    assert len(train) == 100 and (train["timestamp"] < cutoff).all()
    assert (test["timestamp"] >= cutoff).all()
    iso = pd.Timestamp(cutoff, unit="s", tz="UTC").isoformat()
    assert len(time_split(events, cutoff=iso)[0]) == 100


def test_time_split_needs_timestamps_and_a_valid_fraction(events):
    with pytest.raises(ValueError, match="timestamp"):
        time_split(events.drop(columns="timestamp"))
    with pytest.raises(ValueError, match="test_fraction"):
        time_split(events, test_fraction=1.0)


def test_random_split_is_per_user_stratified(events):
    train, test = random_split(events, test_fraction=0.25, seed=1)
    assert len(train) + len(test) == len(events)
    assert not pairs(train) & pairs(test)  # a (user, item) pair is never split
    distinct = events.drop_duplicates(["user_id", "item_id"]).groupby("user_id").size()
    train_users, test_users = set(train["user_id"]), set(test["user_id"])
    for user, n_items in distinct.items():
        if n_items >= 2:
            assert user in train_users and user in test_users
        else:
            assert user not in test_users
    held_out = len(pairs(test)) / len(pairs(events))
    assert 0.15 < held_out < 0.35


def test_random_split_is_deterministic_and_order_independent(events):
    first = random_split(events, seed=5)[1]
    shuffled = events.sample(frac=1.0, random_state=0)
    assert pairs(random_split(shuffled, seed=5)[1]) == pairs(first)
    assert pairs(random_split(events, seed=6)[1]) != pairs(first)


def test_leave_one_out_hides_each_users_latest_item(events):
    train, test = leave_one_out(events)
    distinct = events.drop_duplicates(["user_id", "item_id"]).groupby("user_id").size()
    eligible = set(distinct[distinct >= 2].index)
    hidden = test.drop_duplicates(["user_id", "item_id"])
    assert set(hidden["user_id"]) == eligible and hidden["user_id"].is_unique
    latest = events.sort_values("timestamp").groupby("user_id").tail(1)
    expected = {(u, i) for u, i in zip(latest["user_id"], latest["item_id"]) if u in eligible}
    assert pairs(test) == expected
    assert not pairs(train) & pairs(test)
    assert len(train) + len(test) == len(events)


def test_leave_one_out_without_timestamps_is_seeded(events):
    untimed = events.drop(columns="timestamp")
    first = pairs(leave_one_out(untimed, seed=1)[1])
    assert first == pairs(leave_one_out(untimed, seed=1)[1])
    assert len({u for u, _ in first}) == len(first)

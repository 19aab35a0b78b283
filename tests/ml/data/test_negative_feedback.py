"""Negative feedback: ``cancel`` and ``return`` events subtract from a (user, item) pair's summed
strength, clipped at 0, in training's matrices and in serving's folded-in rows alike."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.constants import DEFAULT_EVENT_WEIGHTS
from ml.data import IdMap, build_interactions
from ml.models import ALSRecommender, ItemKNNRecommender, PopularityRecommender
from ml.serving import LoadedVersion
from ml.training import TrainingConfig, train

# view 1, addtocart 4, transaction 10, cancel -10, return -15: the arithmetic below reads easily
WEIGHTS = {**DEFAULT_EVENT_WEIGHTS, "cancel": -10.0, "return": -15.0}


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event"])


def cell(matrix, id_map: IdMap, user: str, item: str) -> float:
    return float(matrix[id_map.user_index(user), id_map.item_index(item)])


def test_a_cancel_takes_back_the_purchase_and_leaves_the_browsing():
    events = frame([
        ("u", "a", "view"), ("u", "a", "addtocart"), ("u", "a", "transaction"), ("u", "a", "cancel"),
        ("u", "b", "transaction"), ("u", "b", "cancel"),
        ("u", "c", "transaction"),
    ])
    matrix, id_map = build_interactions(events, WEIGHTS)
    assert cell(matrix, id_map, "u", "a") == 5.0  # 1 + 4 + 10 - 10: the interest before buying
    assert cell(matrix, id_map, "u", "b") == 0.0 and matrix.nnz == 2  # no stored entry at all
    assert cell(matrix, id_map, "u", "c") == 10.0


def test_a_return_takes_back_the_purchase_and_what_led_to_it_and_never_goes_below_zero():
    events = frame([
        ("u", "a", "view"), ("u", "a", "addtocart"), ("u", "a", "transaction"), ("u", "a", "return"),
        ("u", "b", "transaction"), ("u", "b", "return"),  # 10 - 15: clipped, not -5
        ("u", "c", "view"),
    ])
    matrix, id_map = build_interactions(events, WEIGHTS)
    assert matrix.nnz == 1 and cell(matrix, id_map, "u", "c") == 1.0
    assert (matrix.data > 0).all()
    assert id_map.has_item("b")  # the item keeps its column (other shoppers may still like it)


def test_a_product_cancelled_by_everyone_who_bought_it_loses_its_weight_in_the_matrix():
    rows = []
    for user in range(6):
        rows += [(f"u{user}", "loved", "transaction"), (f"u{user}", "other", "view")]
    for user in range(4):
        rows += [(f"u{user}", "hated", "transaction"), (f"u{user}", "hated", "cancel")]
    matrix, id_map = build_interactions(frame(rows), WEIGHTS)
    column = matrix[:, id_map.item_index("hated")]
    assert column.nnz == 0 and column.sum() == 0.0
    assert matrix[:, id_map.item_index("loved")].sum() == 60.0
    without, _ = build_interactions(frame(rows), {**WEIGHTS, "cancel": 0.0})  # 0 switches it off
    assert without[:, id_map.item_index("hated")].sum() == 40.0


def test_time_decay_and_float_noise_do_not_leave_a_cancelled_out_pair_a_tiny_positive():
    day = pd.Timedelta(days=1)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    events = pd.DataFrame({
        "user_id": ["u"] * 5,
        "item_id": ["a", "a", "b", "b", "old"],
        "event": ["transaction", "cancel", "x", "y", "view"],
        "timestamp": [start, start + day, start, start, start - 400 * day],
    })
    # the cancel is newer than the purchase: with decay it weighs more, so the pair goes below 0
    weights = {**WEIGHTS, "x": 0.1 + 0.2, "y": -0.3}  # 0.30000000000000004 - 0.3 = 5.6e-17
    matrix, id_map = build_interactions(events, weights, time_decay_half_life_days=7.0)
    assert cell(matrix, id_map, "u", "a") == 0.0
    assert cell(matrix, id_map, "u", "b") == 0.0
    assert 0 < cell(matrix, id_map, "u", "old") < 1e-15  # only positives: decayed, never clipped


def test_the_default_weights_take_back_a_purchase_whatever_purchase_weight_the_search_picks():
    from ml.training.candidates import CANDIDATES

    tried = [value for spec in CANDIDATES.values() for value in spec.search_space.get("weight.transaction", ())]
    events = frame([("u", "a", "view"), ("u", "a", "addtocart"), ("u", "a", "transaction"), ("u", "a", "cancel"),
                    ("u", "b", "transaction"), ("u", "b", "return"), ("u", "c", "transaction")])
    for purchase in [DEFAULT_EVENT_WEIGHTS["transaction"], *tried]:
        matrix, id_map = build_interactions(events, {**DEFAULT_EVENT_WEIGHTS, "transaction": purchase})
        assert cell(matrix, id_map, "u", "a") <= 1 + 4, purchase  # at most the browsing, never the purchase
        assert cell(matrix, id_map, "u", "b") == 0.0 and cell(matrix, id_map, "u", "c") == purchase, purchase


def test_negative_weights_are_accepted_by_the_config_and_serving_but_not_non_numbers():
    assert TrainingConfig(event_weights=WEIGHTS).event_weights["return"] == -15.0
    with pytest.raises(ValueError, match="finite"):
        TrainingConfig(event_weights={**WEIGHTS, "cancel": math.inf})
    id_map = IdMap(["u"], ["a", "b"])
    rows = build_interactions(frame([("u", "a", "view"), ("u", "b", "view")]), WEIGHTS, id_map=id_map)[0]
    model = PopularityRecommender().fit(rows)
    LoadedVersion("v", {"event_weights": WEIGHTS}, id_map, rows, {"recommender": model})._check("v")
    broken = LoadedVersion("v", {"event_weights": {**WEIGHTS, "cancel": math.nan}}, id_map, rows,
                           {"recommender": model})
    with pytest.raises(Exception, match="invalid event weights"):
        broken._check("v")


def test_serving_folds_negative_feedback_in_as_training_builds_rows():
    """A known user's row (a: 5, b: 10) with recent events: a return of ``b`` removes it, a
    cancel of a new purchase of ``c`` leaves nothing of ``c``; the totals equal what training's
    matrix would hold for the same events."""
    history = frame([("u", "a", "view"), ("u", "a", "addtocart"), ("u", "b", "transaction"),
                     ("w", "a", "view"), ("w", "c", "view"), ("w", "b", "view")])
    rows, id_map = build_interactions(history, WEIGHTS)
    model = ItemKNNRecommender("cosine", K=10, num_threads=1).fit(rows)
    version = LoadedVersion("v", {"event_weights": WEIGHTS}, id_map, rows, {"recommender": model})
    version._check("v")
    recent = [("b", "return"), ("c", "transaction"), ("c", "cancel"), ("a", "view")]
    index, columns, values, fresh = version.visitor_arrays("u", recent)
    assert fresh and index == id_map.user_index("u")
    assert dict(zip(id_map.item_ids[columns], values.tolist())) == {"a": 6.0}
    everything = pd.concat([history, frame([("u", item, kind) for item, kind in recent])])
    expected, _ = build_interactions(everything, WEIGHTS, id_map=id_map)
    assert cell(expected, id_map, "u", "a") == 6.0 and expected[id_map.user_index("u")].nnz == 1
    # a visitor whose only recent purchase was returned has nothing to be scored from
    assert version.recommend_for_user(None, [("b", "transaction"), ("b", "return")], 3) == []
    als = ALSRecommender(factors=2, iterations=2, num_threads=1).fit(rows)
    folded = LoadedVersion("v", {"event_weights": WEIGHTS}, id_map, rows, {"recommender": als})
    assert isinstance(folded.recommend_for_user("u", [("a", "return"), ("b", "return")], 3), list)


def test_training_publishes_rows_without_the_cancelled_purchases():
    rng = np.random.default_rng(3)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for user in range(60):
        for item in rng.choice(20, size=6, replace=False):
            at = start + pd.Timedelta(hours=int(rng.integers(0, 24 * 30)))
            rows.append((f"u{user}", f"i{item}", "view", at))
            if item % 3 == 0:
                rows.append((f"u{user}", f"i{item}", "transaction", at + pd.Timedelta(minutes=5)))
        rows.append((f"u{user}", "dud", "transaction", start + pd.Timedelta(days=int(user % 28))))
        rows.append((f"u{user}", "dud", "cancel", start + pd.Timedelta(days=int(user % 28), hours=2)))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "timestamp"])
    result = train(events, TrainingConfig(candidates=("popularity", "item_knn_cosine"), search=False,
                                          num_threads=1, deep_models=False))
    dud = result.id_map.item_index("dud")
    assert result.user_items[:, dud].nnz == 0  # bought by all 60, cancelled by all 60
    assert result.models["popular"].item_scores[dud] == 0.0  # trending forgets it too
    assert result.models["popular"].item_scores.max() > 0

"""Id maps, interaction weighting, time decay and confidence scaling on tiny frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml.constants import DEFAULT_EVENT_WEIGHTS
from ml.data import IdMap, build_interactions, confidence

DAY = 86_400


def frame(rows: list[tuple], columns=("user_id", "item_id", "event")) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


# -- IdMap ----------------------------------------------------------------------------------


def test_idmap_sorts_ids_and_maps_both_ways():
    events = frame([("u2", "b", "view"), ("u1", "a", "view"), ("u2", "a", "view")])
    id_map = IdMap.from_frame(events)
    assert list(id_map.user_ids) == ["u1", "u2"] and list(id_map.item_ids) == ["a", "b"]
    assert id_map.user_index("u2") == 1 and id_map.item_index("b") == 1
    assert list(id_map.item_indices(["b", "zz", "a"])) == [1, -1, 0]
    assert id_map.has_user("u1") and not id_map.has_item("zz")
    with pytest.raises(KeyError):
        id_map.user_index("nobody")


def test_idmap_keeps_long_numeric_ids_as_strings():
    cookie = "20239734541707312813871963623233721188"  # 38 digits: does not fit in int64
    id_map = IdMap([cookie], ["7"])
    assert id_map.user_ids[0] == cookie and id_map.user_index(cookie) == 0
    assert IdMap.from_frame(pd.DataFrame({"user_id": [12], "item_id": [3]})).user_ids[0] == "12"


def test_idmap_extend_appends_without_moving_existing_indices():
    id_map = IdMap(["a", "b"], ["x"])
    bigger = id_map.extend(user_ids=["c", "a", "c"], item_ids=["y"])
    assert list(bigger.user_ids) == ["a", "b", "c"] and list(bigger.item_ids) == ["x", "y"]
    assert bigger.user_index("b") == id_map.user_index("b")


def test_idmap_round_trips_through_npz_without_pickle(tmp_path):
    id_map = IdMap(["ü1", "u2"], ["i1", "i2", "i3"])
    path = tmp_path / "map.npz"
    np.savez(path, **id_map.to_arrays())
    with np.load(path, allow_pickle=False) as data:
        loaded = IdMap.from_arrays(data)
        assert all(data[key].dtype.kind == "U" for key in data.files)
    assert loaded == id_map


def test_idmap_rejects_duplicates_and_missing_ids():
    with pytest.raises(ValueError, match="unique"):
        IdMap(["a", "a"], ["x"])
    with pytest.raises(ValueError, match="missing"):
        IdMap.from_frame(pd.DataFrame({"user_id": ["a", None], "item_id": ["x", "y"]}))


# -- build_interactions ---------------------------------------------------------------------


def test_event_type_weights_and_repeats_are_summed():
    events = frame(
        [
            ("u1", "a", "view"),
            ("u1", "a", "view"),
            ("u1", "a", "addtocart"),
            ("u1", "b", "transaction"),
            ("u2", "b", "removefromcart"),
        ]
    )
    matrix, id_map = build_interactions(events)
    assert isinstance(matrix, sp.csr_matrix) and matrix.dtype == np.float32
    # u1/a: 1 + 1 + 4 = 6; u1/b: 10; u2/b: removefromcart weighs 0 -> no stored entry
    np.testing.assert_allclose(matrix.toarray(), [[6, 10], [0, 0]])
    assert matrix.nnz == 2 and id_map.n_users == 2


def test_unknown_event_types_are_all_listed():
    events = frame([("u", "a", "view"), ("u", "a", "wishlist"), ("u", "b", "share")])
    with pytest.raises(ValueError, match="unknown event types: share, wishlist"):
        build_interactions(events)


def test_custom_weights_and_weight_column_multiply():
    events = pd.DataFrame(
        {"user_id": ["u", "u"], "item_id": ["a", "b"], "event": ["click", "buy"], "weight": [3, 2]}
    )
    matrix, _ = build_interactions(events, weights={"click": 0.5, "buy": 2.0})
    np.testing.assert_allclose(matrix.toarray(), [[1.5, 4.0]])  # 3 x 0.5, 2 x 2.0
    no_event = events.drop(columns="event")
    np.testing.assert_allclose(build_interactions(no_event)[0].toarray(), [[3.0, 2.0]])


def test_non_finite_type_weights_and_negative_weight_columns_are_rejected():
    # a negative type weight is negative feedback (tests/ml/data/test_negative_feedback.py)
    events = frame([("u", "a", "view")])
    with pytest.raises(ValueError, match="finite"):
        build_interactions(events, weights={"view": float("nan")})
    with pytest.raises(ValueError, match="weight"):
        build_interactions(events.assign(weight=[-2.0]))


def test_time_decay_halves_weight_every_half_life():
    events = pd.DataFrame(
        {
            "user_id": ["u", "u", "u"],
            "item_id": ["a", "b", "c"],
            "event": ["view", "view", "transaction"],
            "timestamp": [10 * DAY, 9 * DAY, 8 * DAY],  # Unix seconds
        }
    )
    matrix, _ = build_interactions(events, time_decay_half_life_days=1.0)
    # reference = latest event (day 10): ages 0, 1, 2 days -> 1, 0.5, 10 x 0.25
    np.testing.assert_allclose(matrix.toarray(), [[1.0, 0.5, 2.5]])
    as_iso = pd.to_datetime(events["timestamp"], unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    iso = events.assign(timestamp=as_iso)
    later, _ = build_interactions(iso, time_decay_half_life_days=2.0, reference_time=12 * DAY)
    # ages 2, 3, 4 days with half-life 2 -> 0.5, 2**-1.5, 10 x 0.25
    np.testing.assert_allclose(later.toarray(), [[0.5, 2**-1.5, 2.5]], rtol=1e-6)


def test_missing_id_columns_are_named():
    with pytest.raises(ValueError, match="item_id"):
        build_interactions(pd.DataFrame({"user_id": ["u"]}), id_map=IdMap(["u"], ["a"]))


def test_time_decay_needs_timestamps():
    with pytest.raises(ValueError, match="timestamp"):
        build_interactions(frame([("u", "a", "view")]), time_decay_half_life_days=3)


def test_given_id_map_is_reused_and_unknown_ids_dropped():
    id_map = IdMap(["u1", "u2"], ["a", "b", "c"])
    events = frame([("u2", "c", "view"), ("u3", "a", "view"), ("u1", "zz", "view")])
    matrix, same = build_interactions(events, id_map=id_map)
    assert same is id_map and matrix.shape == (2, 3)
    np.testing.assert_allclose(matrix.toarray(), [[0, 0, 0], [0, 0, 1]])


def test_default_weights_are_plain_json_serialisable_and_left_untouched():
    before = json.dumps(DEFAULT_EVENT_WEIGHTS, sort_keys=True)
    build_interactions(frame([("u", "a", "view")]), weights=DEFAULT_EVENT_WEIGHTS)
    assert json.dumps(DEFAULT_EVENT_WEIGHTS, sort_keys=True) == before


# -- confidence -----------------------------------------------------------------------------


def test_linear_confidence_transforms_only_stored_entries():
    matrix = sp.csr_matrix(np.array([[0, 2], [1, 0]], dtype=np.float32))
    # 1 + 40 r on the stored entries; zeros stay implicit
    np.testing.assert_allclose(confidence(matrix).toarray(), [[0, 81], [41, 0]])
    # baseline 0: implicit's own convention, alpha * r
    np.testing.assert_allclose(confidence(matrix, alpha=3, baseline=0).toarray(), [[0, 6], [3, 0]])
    assert confidence(matrix).nnz == 2


def test_log_confidence():
    matrix = sp.csr_matrix(np.array([[3.0, 0.0]], dtype=np.float32))
    # 1 + 2 * log(1 + 3 / 0.5) = 1 + 2 log 7
    result = confidence(matrix, scheme="log", alpha=2.0, eps=0.5)
    assert result[0, 0] == pytest.approx(1 + 2 * np.log(7), rel=1e-6)
    with pytest.raises(ValueError, match="scheme"):
        confidence(matrix, scheme="sqrt")  # type: ignore[arg-type]

"""FeatureEncoder, numeric bucketing and the click metrics (AUC, log loss, calibration)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.metrics import roc_auc_score

from ml.ctr.encoding import FeatureEncoder, bucketize, quantile_edges
from ml.ctr.metrics import auc, average_ranks, calibration, log_loss


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "color": ["red", "blue", "red", "green", "red", "blue"],
        "size": ["S", "M", "M", "L", None, "M"],
        "brand": [1, 2, 1, 3, 1, 2],  # numbers are categories too (compared as text)
    })


def test_fit_transform_gives_global_indices_with_unknown_slot_zero(frame):
    encoder = FeatureEncoder(["color", "size", "brand"]).fit(frame)
    # color: unknown + blue, green, red; size: unknown + L, M, S; brand: unknown + 1, 2, 3
    assert list(encoder.offsets) == [0, 4, 8, 12]
    assert encoder.n_features == 12 and encoder.fields == ("color", "size", "brand")
    x = encoder.transform(frame)
    assert x.dtype == np.int64 and x.shape == (6, 3)
    assert x[0].tolist() == [3, 4 + 3, 8 + 1]  # red, S, 1
    assert x[4].tolist() == [3, 4, 8 + 1]  # size None -> the size field's unknown slot
    new = pd.DataFrame({"color": ["purple", "blue"], "size": ["XL", np.nan], "brand": [9, "2"]})
    assert encoder.transform(new).tolist() == [[0, 4, 8], [1, 4, 10]]


def test_min_count_sends_rare_values_to_the_unknown_slot(frame):
    encoder = FeatureEncoder(["color", "size"], min_count=2).fit(frame)
    assert encoder.vocabulary("color") == ["blue", "red"]  # green seen once
    assert encoder.vocabulary("size") == ["M"]
    x = encoder.transform(frame)
    assert x[3].tolist() == [0, 3]  # green -> unknown color, L -> unknown size (offset 3)


def test_small_and_large_frames_and_mappings_encode_alike():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({
        "a": [f"a{v}" for v in rng.integers(0, 50, 5000)],
        "b": rng.integers(0, 30, 5000),  # an int column
        "c": pd.Series([f"c{v}" for v in rng.integers(0, 9, 5000)], dtype=object),
    })
    big.loc[::7, "a"] = None
    encoder = FeatureEncoder(["a", "b", "c"], min_count=120).fit(big.iloc[:4000])
    whole = encoder.transform(big)  # the vectorised path
    pieces = np.vstack([encoder.transform(big.iloc[k : k + 100]) for k in range(0, 5000, 100)])
    assert np.array_equal(whole, pieces)
    head = big.iloc[:50]
    as_mapping = {name: head[name].tolist() for name in ("c", "b", "a")}
    assert np.array_equal(encoder.transform(as_mapping), whole[:50])
    assert (whole[::7, 0] == 0).all()


def test_one_field_encodes_as_its_column_of_transform(frame):
    encoder = FeatureEncoder(["color", "size", "brand"]).fit(frame)
    new = {"color": ["purple", "blue", None], "size": ["XL", "M", None], "brand": [9, "2", 3]}
    whole = encoder.transform(new)
    for column, field in enumerate(encoder.fields):
        codes = encoder.field_codes(field, new[field])
        assert codes.dtype == np.int64 and codes.tolist() == whole[:, column].tolist()
    assert encoder.field_codes("brand", [3]).tolist() == [11]  # an int matches the text it was fitted as
    with pytest.raises(KeyError, match="weight"):
        encoder.field_codes("weight", ["1"])
    with pytest.raises(RuntimeError):
        FeatureEncoder(["color"]).field_codes("color", ["red"])


def test_round_trip_through_arrays_and_npz(frame, tmp_path):
    encoder = FeatureEncoder(["color", "size", "brand"], min_count=1).fit(frame)
    arrays = encoder.to_arrays()
    assert all(a.dtype != object for a in arrays.values())
    path = tmp_path / "encoder.npz"
    encoder.save(path)
    with np.load(path, allow_pickle=False) as data:
        loaded = FeatureEncoder.from_arrays({k: data[k] for k in data.files})
    assert loaded.fields == encoder.fields and loaded.n_features == encoder.n_features
    new = pd.DataFrame({"color": ["red", "nope"], "size": ["L", "M"], "brand": ["3", 1]})
    assert np.array_equal(loaded.transform(new), encoder.transform(new))
    assert np.array_equal(FeatureEncoder.load(path).transform(frame), encoder.transform(frame))


def test_transform_needs_a_fit_and_the_columns(frame):
    with pytest.raises(RuntimeError):
        FeatureEncoder(["color"]).transform(frame)
    with pytest.raises(KeyError, match="weight"):
        FeatureEncoder(["color", "weight"]).fit(frame)


def test_quantile_buckets():
    values = np.arange(100, dtype=float)
    edges = quantile_edges(values, 4)
    assert len(edges) == 3
    labels = bucketize(values, edges, prefix="price_")
    assert set(labels) == {"price_0", "price_1", "price_2", "price_3"}
    assert (pd.Series(labels).value_counts() == 25).all()
    assert bucketize([np.nan, -5, 1e9], edges, "p").tolist() == ["pmissing", "p0", "p3"]
    assert quantile_edges([1, 1, 1, 2], 10).tolist() == [2.0]  # repeated quantiles collapse


def test_auc_matches_sklearn_including_ties():
    rng = np.random.default_rng(3)
    for trial in range(5):
        y = rng.integers(0, 2, 500)
        p = rng.random(500) + 0.3 * y
        if trial % 2:
            p = np.round(p, 1)  # many ties
        assert auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert auc([0, 1], [0.5, 0.5]) == 0.5
    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_auc_refuses_a_single_class():
    with pytest.raises(ValueError, match="only one class"):
        auc([1, 1, 1], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="only 0 and 1"):
        auc([0, 2], [0.1, 0.2])


def test_log_loss_matches_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 1000)
    p = rng.uniform(0.01, 0.99, 1000)
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-9)
    assert np.isfinite(log_loss([1, 0], [0.0, 1.0]))  # clipped, not infinite


def test_calibration_bins_cover_every_row():
    rng = np.random.default_rng(5)
    p = rng.random(1003)
    y = (rng.random(1003) < p).astype(int)
    table = calibration(y, p, n_bins=10)
    assert len(table) == 10 and sum(row["count"] for row in table) == 1003
    assert all(row["count"] > 0 for row in table)
    predicted = [row["predicted"] for row in table]
    assert predicted == sorted(predicted)
    assert abs(table[-1]["observed"] - table[-1]["predicted"]) < 0.1  # calibrated by design
    assert sum(row["count"] for row in calibration(y[:3], p[:3], n_bins=10)) == 3

"""The whole segments job on a small synthetic shop: the comparison returns sane numbers, the
serving helpers follow their contract, a save/load round trip changes nothing, and a seed
makes the job reproducible."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from ml.artifacts import sha256_file
from ml.segments import (
    ALL_CUSTOMERS,
    SEGMENTS,
    SegmentsConfig,
    compare_neighbourhoods,
    frames_from_synth,
    load,
    save,
    train_segments,
)
from ml.segments.comparison import METHODS
from ml.segments.frames import prepare_lines, prepare_orders, prepare_products
from ml.synth.shop import SynthConfig, generate_shop

END = datetime(2026, 1, 1)
SHOP = SynthConfig(n_products=200, n_categories=10, n_customers=300, n_anonymous=50,
                   target_events=30000, days=90, end=END)


@pytest.fixture(scope="module")
def frames():
    return frames_from_synth(generate_shop(SHOP))


@pytest.fixture(scope="module")
def result(frames):
    return train_segments(*frames, reference_time=END)


def test_comparison_numbers_are_sane(result):
    report = result.comparison
    assert set(report["methods"]) == set(METHODS)
    assert report["n_test_customers"] > 0 and report["n_train_orders"] > report["n_test_orders"] > 0
    for metrics in report["methods"].values():
        hit, precision = metrics["hit_rate@10"], metrics["precision@10"]
        recall = metrics["recall@10"]
        assert 0.0 <= precision <= hit <= 1.0 and 0.0 <= recall <= hit
        assert precision * 10 >= hit - 1e-9  # a user with a hit has precision >= 1/10
    # Which method wins is not asserted here: with about a dozen test customers the ranking is
    # noise (the planted-group tests check the embeddings' quality; the report measures it).
    for space in ("features", "customer2vec"):
        sil = report["silhouette"][space]
        assert -1.0 <= sil["silhouette"] <= 1.0 and 2 <= sil["k"] <= 10
    json.dumps(report)  # a plain dict


def test_comparison_with_an_explicit_cutoff_and_too_little_data(frames):
    orders, lines, products = frames
    lines = prepare_lines(lines)
    orders, products = prepare_orders(orders, lines), prepare_products(products)
    cutoff = pd.Timestamp("2025-12-01", tz="UTC")
    report = compare_neighbourhoods(orders, lines, products, cutoff=cutoff, n_neighbours=10)
    assert report["cutoff"] == cutoff.isoformat() and "methods" in report
    too_late = pd.Timestamp("2027-01-01", tz="UTC")
    late = compare_neighbourhoods(orders, lines, products, cutoff=too_late)
    assert "skipped" in late


def test_result_describes_every_customer(result, frames):
    orders = frames[0]
    assert len(result.rfm) == orders["customer_id"].nunique()
    assert set(result.rfm["segment"]) <= set(SEGMENTS)
    assert len(result.feature_clusters.labels) == len(result.rfm)
    assert len(result.embedding_clusters.labels) == len(result.embeddings)
    assert result.projection.xy.shape == (len(result.embeddings), 2)
    assert result.purchases.shape == (len(result.rfm), len(result.item_ids))
    assert sum(result.summary()["rfm_segments"].values()) == len(result.rfm)


def test_serving_helpers(result, frames):
    customer = result.rfm.index[np.argmax(result.rfm["frequency"].to_numpy())]
    near = result.neighbours(customer, 5)
    assert len(near) == 5 and customer not in dict(near)
    recs = result.customers_like_you_also_bought(customer, 10)
    assert 0 < len(recs) <= 10
    scores = [s for _, s in recs]
    assert scores == sorted(scores, reverse=True) and min(scores) > 0
    row = result.rfm.index.get_loc(customer)
    own = set(result.item_ids[result.purchases[row].indices])
    assert own.isdisjoint(p for p, _ in recs)
    blocked = recs[0][0]
    assert blocked not in dict(result.customers_like_you_also_bought(customer, 10, [blocked]))
    with_own = result.customers_like_you_also_bought(customer, 200, exclude_own=False)
    assert own & {p for p, _ in with_own}
    assert result.customers_like_you_also_bought("nobody", 10) == []
    assert result.segment_of(customer) in SEGMENTS and result.segment_of("nobody") is None
    assert 0 <= result.cluster_of(customer) < result.feature_clusters.k
    assert result.cluster_of("nobody") is None
    everyone = result.segment_best_sellers(ALL_CUSTOMERS, 5)
    assert len(everyone) == 5 and result.segment_best_sellers(None, 5) == everyone
    assert result.segment_best_sellers("no such segment", 5) == everyone
    segment = result.segment_of(customer)
    assert 0 < len(result.segment_best_sellers(segment, 5)) <= 5


def test_save_load_round_trip(result, tmp_path):
    files = save(result, tmp_path)
    assert sorted(files) == sorted(p.name for p in tmp_path.iterdir())
    with np.load(tmp_path / "segments.npz", allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
    loaded = load(tmp_path)
    pd.testing.assert_frame_equal(loaded.rfm, result.rfm, check_dtype=False)
    np.testing.assert_array_equal(loaded.embeddings.vectors, result.embeddings.vectors)
    np.testing.assert_array_equal(loaded.feature_clusters.labels, result.feature_clusters.labels)
    np.testing.assert_array_equal(
        loaded.embedding_clusters.centroids, result.embedding_clusters.centroids
    )
    np.testing.assert_array_equal(loaded.projection.xy, result.projection.xy)
    assert (loaded.purchases != result.purchases).nnz == 0
    assert loaded.summary() == json.loads(json.dumps(result.summary()))
    for customer in result.rfm.index[:20]:
        assert loaded.customers_like_you_also_bought(customer, 10) == \
            result.customers_like_you_also_bought(customer, 10)
        assert loaded.segment_of(customer) == result.segment_of(customer)
    for segment in (*SEGMENTS, None):
        assert loaded.segment_best_sellers(segment, 10) == result.segment_best_sellers(segment, 10)
    # saving the loaded result again gives byte-identical files
    again = tmp_path / "again"
    again.mkdir()
    save(loaded, again)
    for name in files:
        assert sha256_file(again / name) == sha256_file(tmp_path / name)


def test_same_seed_same_result(frames, result):
    config = SegmentsConfig(compare=False)
    a = train_segments(*frames, reference_time=END, config=config)
    np.testing.assert_array_equal(a.embeddings.vectors, result.embeddings.vectors)
    np.testing.assert_array_equal(a.feature_clusters.labels, result.feature_clusters.labels)
    np.testing.assert_array_equal(a.projection.xy, result.projection.xy)
    assert a.comparison == {"skipped": "disabled by the config"}
    again = train_segments(*frames, reference_time=END)
    assert again.comparison == result.comparison


def test_reference_time_limits_the_orders(frames):
    early = pd.Timestamp("2025-11-15", tz="UTC")
    result = train_segments(*frames, reference_time=early, config=SegmentsConfig(compare=False))
    assert result.reference_time == early.isoformat()
    assert (result.rfm["recency_days"] >= 0).all()
    with pytest.raises(ValueError):
        train_segments(*frames, reference_time="2020-01-01T00:00:00Z")

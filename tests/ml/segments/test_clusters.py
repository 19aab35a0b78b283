"""k-means with silhouette selection finds the planted number of segments, and the baseline
features (spend shares + RFM, standardised per block) are built as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.segments.clusters import choose_k, kmeans_by_silhouette
from ml.segments.features import build_features, spend_shares, standardise_blocks
from ml.segments.frames import join_lines, prepare_lines, prepare_orders, prepare_products
from ml.segments.projection import project
from ml.segments.rfm import compute_rfm


def blobs(k: int, per: int = 40, dims: int = 6, spread: float = 0.3, seed: int = 0):
    """``k`` well separated Gaussian blobs (centres 6 apart on random axes)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dims))
    centres *= 6.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(k), per)
    return centres[labels] + rng.normal(scale=spread, size=(k * per, dims)), labels


@pytest.mark.parametrize("k", [3, 4, 6])
def test_planted_k_is_chosen(k):
    x, truth = blobs(k, seed=k)
    result = kmeans_by_silhouette(x, range(2, 11), seed=42)
    assert result.k == k
    assert set(result.silhouettes) == set(range(2, 11))
    assert result.silhouette == max(result.silhouettes.values()) > 0.7
    # every found cluster is exactly one planted blob
    assert pd.crosstab(result.labels, truth).gt(0).sum(axis=1).eq(1).all()
    assert result.centroids.shape == (k, x.shape[1])
    assert result.summary()["sizes"] == [40] * k


def test_seeded_and_repeatable():
    x, _ = blobs(4, spread=1.5, seed=9)
    a, b = kmeans_by_silhouette(x, seed=1), kmeans_by_silhouette(x, seed=1)
    assert a.k == b.k and a.silhouettes == b.silhouettes
    np.testing.assert_array_equal(a.labels, b.labels)


def test_degenerate_inputs_give_one_cluster():
    for x in (np.zeros((0, 3)), np.ones((1, 3)), np.ones((5, 3)), np.eye(2)):
        result = kmeans_by_silhouette(x)
        assert result.k == 1 and result.labels.tolist() == [0] * len(x)
    # three distinct rows: only k = 2 is possible
    assert kmeans_by_silhouette(np.array([[0.0], [0.1], [5.0]])).k == 2


def test_ties_choose_the_smaller_k():
    assert choose_k({2: 0.5, 3: 0.5, 4: 0.2}) == 2
    assert choose_k({2: 0.1, 5: 0.6}) == 5


def small_shop():
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_id": ["o1", "o2", "o3", "o4"],
            "created_at": pd.to_datetime(
                ["2026-01-01", "2026-01-10", "2026-01-05", "2026-01-07"], utc=True
            ),
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3", "o4"],
            "product_id": ["shoe", "bag", "bag", "pan", "free"],
            "quantity": [1, 2, 1, 1, 3],
            "unit_price": [60.0, 10.0, 20.0, 30.0, 0.0],
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["shoe", "bag", "pan", "free"],
            "category": ["shoes", "bags", "pans", "samples"],
            "department": ["fashion", "fashion", "home", None],
        }
    )
    return prepare_orders(orders, lines), prepare_lines(lines), prepare_products(products)


def test_spend_shares_by_category_and_department():
    orders, lines, products = small_shop()
    joined = join_lines(orders, lines)
    categories = spend_shares(joined, products, "category")
    # a spent 60 on shoes and 2 x 10 + 20 = 40 on bags; b only pans; c only free samples, so
    # c is described by quantity (all samples).
    assert categories.loc["a", "shoes"] == pytest.approx(0.6)
    assert categories.loc["a", "bags"] == pytest.approx(0.4)
    assert categories.loc["b", "pans"] == 1.0 and categories.loc["c", "samples"] == 1.0
    assert np.allclose(categories.sum(axis=1), 1.0)
    departments = spend_shares(joined, products, "department")
    # a missing department falls back to the category
    assert departments.loc["a", "fashion"] == 1.0 and departments.loc["c", "samples"] == 1.0


def test_feature_matrix_blocks_have_equal_weight():
    orders, lines, products = small_shop()
    joined = join_lines(orders, lines)
    rfm = compute_rfm(orders, "2026-01-11T00:00:00Z")
    features = build_features(joined, products, rfm)
    assert features.customer_ids.tolist() == ["a", "b", "c"]
    assert features.matrix.shape == (3, len(features.columns))
    prefixes = [c.split(":")[0] for c in features.columns]
    assert prefixes.count("rfm") == 3 and prefixes.count("category") == 4
    # every block carries total variance 1 (its columns are z-scored and scaled by 1/sqrt(width))
    for block in ("category", "department", "rfm"):
        cols = [i for i, p in enumerate(prefixes) if p == block]
        assert features.matrix[:, cols].var(axis=0).sum() == pytest.approx(1.0)
    assert standardise_blocks([np.ones((3, 2))]).tolist() == [[0.0, 0.0]] * 3


def test_projection_is_two_dimensional_and_deterministic():
    x, _ = blobs(3, per=20, seed=1)
    ids = np.array([f"c{i}" for i in range(len(x))])
    pca = project(ids, x)
    assert pca.method == "pca" and pca.xy.shape == (60, 2)
    np.testing.assert_array_equal(project(ids, x).xy, pca.xy)
    tsne = project(ids, x, method="tsne", seed=3)
    assert tsne.method == "tsne" and tsne.xy.shape == (60, 2)
    assert project(ids, x, method="tsne", tsne_max=10).method == "pca"
    assert project(ids[:1], x[:1]).xy.shape == (1, 2)

"""Frequently bought together on the synthetic shop's planted complements, the basket time split
(no test basket is learnt from), baskets with their visits' views, and the items frame."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from ml.data import IdMap
from ml.synth.planted import planted_complements
from ml.synth.shop import SynthConfig, generate_shop
from ml.training.basket_protocol import BasketProtocol, evaluate_baskets, split_baskets
from ml.training.baskets import basket_matrices
from ml.training.complements import align_items

CONFIG = SynthConfig(seed=7, n_products=400, n_categories=12, n_customers=600, n_anonymous=300,
                     target_events=60_000, days=90, end=datetime(2026, 1, 15))
K = 10


def shop_frames(config: SynthConfig):
    shop = generate_shop(config)
    events = shop.events.rename(columns={
        "shopper_key": "user_id", "sku": "item_id", "type": "event", "occurred_at": "timestamp",
        "order_key": "basket_id", "session_key": "session_id"})
    items = shop.products.rename(columns={"sku": "item_id", "category_key": "category"})
    planted = shop.complements.rename(columns={"sku": "item_id", "complement_sku": "complement_id"})
    hidden = shop.products.loc[~(shop.products["active"] & (shop.products["stock"] > 0)), "sku"].tolist()
    return events, items[["item_id", "category", "brand", "price"]], planted, hidden


@pytest.fixture(scope="module")
def evaluation():
    events, items, planted, hidden = shop_frames(CONFIG)
    return evaluate_baskets(events, BasketProtocol(k=K, resamples=200), items=items, planted=planted, hidden=hidden)


def test_complements_predict_the_next_baskets_better_than_similar_items_and_popularity(evaluation):
    hit = {row: m[f"hit_rate@{K}"].mean for row, m in evaluation.metrics.items()}
    assert hit["complements"] > hit["similar"] and hit["complements"] > hit["popularity"]
    assert hit["complements"] > hit["also_bought"]
    assert evaluation.versus["complements - popularity"].low > 0  # beyond the noise
    for metrics in evaluation.metrics.values():
        for value in metrics.values():
            assert 0 <= value.low <= value.mean <= value.high <= 1
    assert evaluation.data["anchors"] >= 2 * evaluation.data["test_baskets"] > 0


def test_planted_complements_are_found_and_the_rows_barely_overlap(evaluation):
    found = evaluation.planted["complements"]
    # as a product page shows the row (sold-out and inactive items left out), and over the anchors
    # the baskets know; the raw row over every anchor (a third never bought) comes close
    assert found["served_top5"] >= 0.8 and found["supported_top5"] >= 0.8 and found["top5"] >= 0.7
    assert found["anchors"] > found["supported_anchors"] > 0
    assert evaluation.planted["similar"]["top5"] < 0.3  # substitutes are not where accessories are
    assert evaluation.overlap["complements/similar"] <= 0.3
    assert evaluation.overlap["complements/similar"] < evaluation.overlap["also_bought/similar"]


def test_records_are_flat_and_name_their_protocol(evaluation):
    records = evaluation.records()
    assert {r["kind"] for r in records} == {"holdout", "difference", "overlap", "planted"}
    assert all(r["k"] == K and r["seed"] == evaluation.protocol.seed for r in records)
    assert "time split" in evaluation.protocol.describe()


def test_without_an_items_frame_the_pipeline_still_fits_complements():
    events, _, planted, _ = shop_frames(CONFIG)
    result = evaluate_baskets(events, BasketProtocol(k=K, resamples=50), planted=planted)
    hit = {row: m[f"hit_rate@{K}"].mean for row, m in result.metrics.items()}
    assert hit["complements"] > hit["popularity"]
    assert result.overlap["complements/similar"] <= 0.3  # view-similarity alone pushes substitutes down


def test_the_planted_pairs_of_a_demo_seed_are_those_it_generated():
    small = SynthConfig(seed=3, n_products=120, n_categories=8, n_customers=50, n_anonymous=20,
                        target_events=2_000, days=10, end=datetime(2026, 1, 15))
    pairs = planted_complements(small)
    expected = generate_shop(small).complements
    pd.testing.assert_frame_equal(pairs.reset_index(drop=True), expected.reset_index(drop=True))


def frame(rows):
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "timestamp", "basket_id", "session_id"])
    events["timestamp"] = pd.to_datetime(events["timestamp"], utc=True)
    return events


def test_a_basket_that_straddles_the_cut_off_is_neither_learnt_nor_tested():
    events = frame([
        ("u1", "a", "addtocart", "2026-01-01 10:00", None, "s1"),
        ("u1", "b", "addtocart", "2026-01-01 10:05", None, "s1"),
        ("u2", "a", "addtocart", "2026-01-02 10:00", None, "s2"),   # s2 starts before the cut-off...
        ("u2", "a", "transaction", "2026-01-05 10:00", "7", "s2"),  # ...and checks out after it
        ("u2", "c", "transaction", "2026-01-05 10:00", "7", "s2"),
        ("u3", "a", "view", "2026-01-04 09:00", None, "s3"),
        ("u3", "b", "addtocart", "2026-01-06 10:00", None, "s3"),
        ("u3", "c", "addtocart", "2026-01-06 10:01", None, "s3"),
    ])
    train, baskets = split_baskets(events, test_fraction=0.4)
    assert [sorted(b.tolist()) for b in baskets] == [["b", "c"]]
    assert train["timestamp"].max() < pd.Timestamp("2026-01-05 10:00", tz="UTC")
    with pytest.raises(ValueError):
        split_baskets(events.drop(columns="timestamp"), 0.2)


def test_baskets_carry_the_views_of_their_visit():
    events = frame([
        ("u1", "a", "view", "2026-01-01 10:00", None, "s1"),
        ("u1", "a", "addtocart", "2026-01-01 10:01", None, "s1"),
        ("u1", "b", "view", "2026-01-01 10:02", None, "s1"),
        ("u2", "c", "view", "2026-01-01 11:00", None, "s2"),   # a visit without a cart: no basket
        ("u3", "c", "transaction", "2026-01-02 10:00", "9", "s3"),
        ("u3", "b", "view", "2026-01-02 09:59", None, "s3"),
    ])
    id_map = IdMap.from_frame(events)
    baskets, viewed = basket_matrices(events, id_map, with_views=True)
    a, b, c = id_map.item_indices(["a", "b", "c"])
    assert baskets.shape[0] == 2 and viewed.shape == baskets.shape
    assert viewed[:, a].sum() == 0  # carted: in the basket, not in the views
    assert viewed[:, b].sum() == 2 and viewed[:, c].sum() == 0
    assert basket_matrices(events, id_map)[1] is None


def test_the_items_frame_is_aligned_to_the_id_map():
    id_map = IdMap(np.array(["u"]), np.array(["1", "2", "3"]))
    items = pd.DataFrame({"item_id": [3, 1, 1, 9], "category": ["x", "y", "z", None], "price": ["5", "bad", 1, 2]})
    attributes = align_items(items, id_map)
    assert attributes.category.tolist() == ["y", None, "x"]  # a duplicate keeps its first row
    assert np.isnan(attributes.price[0]) and np.isnan(attributes.price[1]) and attributes.price[2] == 5
    assert attributes.brand is None
    assert align_items(None, id_map).category is None
    with pytest.raises(ValueError):
        align_items(pd.DataFrame({"category": ["x"]}), id_map)

"""The click model's feature functions: the same text for the same facts, in training and serving."""
from datetime import datetime

import numpy as np

from storefront.ctr import features


def test_lifecycle_segments_recency_and_frequency_buckets():
    orders = [0, 1, 1, 3, 5, 2]
    days = [np.nan, 3.0, 100.0, 10.0, 1.0, 61.0]
    assert features.segment(orders, days).tolist() == [
        "prospect", "new buyer", "lapsed", "repeat", "loyal", "at risk"]
    assert features.recency(days).tolist() == ["never", "week", "older", "month", "week", "quarter"]
    assert features.frequency(orders).tolist() == ["0", "1", "1", "2-3", "4+", "2-3"]


def test_user_columns_read_hour_and_weekday_of_the_moment():
    moments = [np.datetime64(datetime(2026, 11, 22, 20, 15)), np.datetime64(datetime(2026, 11, 23, 0, 5))]
    columns = features.user_columns([0, 2], [np.nan, 12.5], ["mobile", None], moments, [7, None])
    rows = [{name: values[i] for name, values in columns.items()} for i in range(2)]
    assert rows[0] == {"segment": "prospect", "recency": "never", "frequency": "0", "device": "mobile",
                       "hour": "20", "weekday": "6", "top_category": "7"}  # a Sunday evening
    assert rows[1] == {"segment": "repeat", "recency": "month", "frequency": "2-3", "device": "desktop",
                       "hour": "0", "weekday": "0", "top_category": "none"}  # Monday just after midnight


def test_price_and_popularity_buckets_follow_the_fitted_quantiles():
    buckets = features.Buckets.fit(np.arange(1, 101, dtype=float), np.arange(100, dtype=float), n=4)
    columns = features.item_columns([3, 4.0], ["home", None], ["Acme", None], [1.0, 99.0], [0, None], buckets)
    assert columns["category"].tolist() == ["3", "4"]
    assert columns["price"].tolist() == ["p0", "p3"]
    assert columns["popularity"].tolist() == ["q0", "none"]
    assert columns["brand"].tolist() == ["Acme", "none"] and columns["offer"].tolist() == ["none", "none"]
    again = features.Buckets.from_arrays(buckets.to_arrays())
    assert np.array_equal(again.price, buckets.price) and np.array_equal(again.popularity, buckets.popularity)


def test_campaigns_have_any_for_an_untargeted_side_and_their_offer_kind():
    columns = features.campaign_columns([5, None], ["garden", None], [None, "Acme"], ["percent_off", "free_shipping"])
    assert columns["category"].tolist() == ["5", "any"]
    assert columns["department"].tolist() == ["garden", "any"]
    assert columns["brand"].tolist() == ["any", "Acme"]
    assert columns["price"].tolist() == ["campaign", "campaign"]
    assert columns["offer"].tolist() == ["percent_off", "free_shipping"]


def test_positions_and_retrieval_ranks_are_bucketed():
    assert features.position([0, 3, 9, 14]).tolist() == ["0", "3", "9", "9"]
    ranks = [1, 5, 6, 20, 21, 100, 101, np.nan]
    assert features.retrieval(ranks).tolist() == ["r0", "r0", "r1", "r1", "r2", "r3", "r4", "unscored"]


def test_one_shoppers_values_equal_the_columns_training_uses():
    """Serving computes one shopper's user-side values in plain Python (``user_values``); they
    must be what ``user_columns`` (the definition, used by training) gives for the same inputs,
    across every bucket edge and missing value."""
    moments = [datetime(2026, 12, 7, 0, 0, 0), datetime(2026, 12, 6, 23, 59, 59, 999999),
               datetime(2024, 2, 29, 13, 30, 5), datetime(1999, 12, 31, 7, 0, 0)]
    cases = [
        (orders, days, device, moment, top)
        for orders in (0, 1, 2, 3, 4, 17)
        for days in (None, -0.5, 0.0, 6.99, 7.0, 29.9, 30.0, 59.99, features.LAPSED_AFTER_DAYS,
                     features.LAPSED_AFTER_DAYS + 0.01, 89.9, 90.0, 400.0)
        for device, top in ((None, None), ("mobile", 12), ("tablet", 3), ("desktop", 0))
        for moment in moments
    ]
    columns = features.user_columns(
        [c[0] for c in cases], [np.nan if c[1] is None else c[1] for c in cases], [c[2] for c in cases],
        [np.datetime64(c[3], "s") for c in cases], [c[4] for c in cases])
    for k, case in enumerate(cases):
        expected = tuple(str(columns[name][k]) for name in features.USER_FEATURES)
        assert features.user_values(*case) == expected, case

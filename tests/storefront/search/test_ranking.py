"""The personal re-rank of the first results (rerank_for_shopper) with a real trained model, and
when it must leave the order alone: crawlers, strangers, no model."""
from __future__ import annotations

import statistics

from storefront.search import find, rerank_for_shopper
from storefront.search.ranking import blend
from storefront.tracking.visitors import RequestContext
from tests.storefront.support.recommendations import plant_groups, train_and_publish


def test_blend_moves_liked_items_up_a_bounded_distance():
    ids = list(range(50))
    moved = blend(ids, {49: 1.0}, top=50)
    assert 49 > moved.index(49) >= 24  # up at most ~25 places
    assert blend(ids, {}, top=50) == ids and blend([], {1: 1.0}, top=50) == []
    assert blend(ids, {3: 1.0}, top=10)[10:] == ids[10:]  # past ``top``: untouched


def _mean_position(ids: list[int], wanted: list[int]) -> float:
    return statistics.mean(ids.index(i) for i in wanted)


def test_a_shopper_s_taste_lifts_their_group_and_nobody_else_s_order_changes(app):
    shop = plant_groups(app)
    with app.app_context():
        results = find("group item").product_ids
        assert len(results) == 48
        taste_of_last_group = RequestContext(visitor_token="planted-0003", customer_id=None)  # group 3
        assert rerank_for_shopper(results, taste_of_last_group) == results  # no model yet
    train_and_publish(app)
    with app.app_context():
        personal = rerank_for_shopper(results, taste_of_last_group)
        assert sorted(personal) == sorted(results) and personal != results
        assert _mean_position(personal, shop.groups[3]) < _mean_position(results, shop.groups[3]) - 8
        crawler = RequestContext(visitor_token="planted-0003", customer_id=None, device="bot")
        stranger = RequestContext(visitor_token="never-seen-before", customer_id=None)
        assert rerank_for_shopper(results, crawler) == results
        assert rerank_for_shopper(results, stranger) == results
        assert rerank_for_shopper(results, None) == results

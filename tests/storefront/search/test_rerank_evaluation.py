"""``flask search evaluate-rerank``: the personal re-rank of search results measured offline
(storefront.search.evaluation) on a seeded shop, on a planted shop where it must help, and its
refusal on a shop without purchases."""
from __future__ import annotations

import json
import random
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import insert, select

from storefront.models import TRANSACTION, VIEW, Category, Event, Product, Visitor
from storefront.models.common import utcnow
from storefront.search import find
from storefront.search.evaluation import NotEnoughPurchases, split_purchases
from tests.storefront.support.shop import ctx

GROUPS, PER_GROUP = 4, 12
EARLY_BUYERS, LATE_BUYERS, STRANGERS = 150, 40, 10  # 50 of 200 purchases are the latest: --test-fraction 0.25


def test_the_command_prints_its_protocol_both_orders_and_the_interval(seeded, runner):
    result = runner.invoke(args=["search", "evaluate-rerank"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Protocol: time split of the purchases: the latest 0.2" in out
    assert "strictly before the first test purchase" in out and "seed 42" in out
    assert "test purchases" in out and "without history before the split" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("order"))
    assert "hit@10" in header and "MRR@10" in header and "hit@20" in header and "MRR@20" in header
    assert any(line.startswith("engine ") for line in lines)
    assert any(line.startswith("personal re-rank ") for line in lines)
    difference = next(line for line in lines if line.startswith("difference [95% CI]"))
    assert difference.count("[") == 5 and difference.count(", ") == 4  # the label's and four intervals

    as_json = runner.invoke(args=["search", "evaluate-rerank", "--format", "json", "--k", "5"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.output[as_json.output.index("{"):])
    assert report["protocol"]["cutoffs"] == [5, 20]
    assert report["test_purchases"] == report["measured"] + report["no_history"] + report["no_scores"] > 0
    interval = report["differences"]["hit_rate@5"]
    assert interval["low"] <= interval["mean"] <= interval["high"] and interval["users"] == report["measured"]


def _plant_tastes(app) -> list[int]:
    """One category, "Gizmos", of four taste groups whose popularity puts group 0 first in the
    engine's order. Every shopper views half of one group early on; 150 buy in their group early,
    40 (groups 1-3) buy late a product the engine ranks past the tenth; 10 strangers, seen never
    before, buy late too. Returns the engine's order for "gizmos"."""
    rng = random.Random(11)
    with ctx(app) as session:
        category = Category(name="Gizmos", slug="gizmos")
        groups = [[Product(sku=f"GZ-{g}-{k}", name=f"Gizmo {'ABCD'[g]}{k:02d}", brand="Acme",
                           price=Decimal("20.00"), stock=50, category=category,
                           popularity=float(100 - g * PER_GROUP - k)) for k in range(PER_GROUP)]
                  for g in range(GROUPS)]
        session.add_all([category, *(p for group in groups for p in group)])
        session.flush()
        shoppers = EARLY_BUYERS + LATE_BUYERS + STRANGERS
        session.execute(insert(Visitor), [{"token": f"taste-{i:04d}"} for i in range(shoppers)])
        visitors = list(session.scalars(select(Visitor.id).where(Visitor.token.like("taste-%")).order_by(Visitor.id)))
        start = utcnow() - timedelta(days=30)
        rows = []

        def event(visitor: int, product: Product, kind: str, day: float) -> None:
            rows.append({"visitor_id": visitor, "product_id": product.id, "type": kind,
                         "occurred_at": start + timedelta(days=day), "session_id": f"t{visitor}", "device": "desktop"})

        for index, visitor in enumerate(visitors):
            if index >= EARLY_BUYERS + LATE_BUYERS:  # a stranger: one late purchase, nothing before
                event(visitor, rng.choice(rng.choice(groups)), TRANSACTION, rng.uniform(25, 28))
                continue
            late = index >= EARLY_BUYERS
            group = groups[1 + index % (GROUPS - 1)] if late else groups[index % GROUPS]
            for product in rng.sample(group, PER_GROUP // 2):
                event(visitor, product, VIEW, rng.uniform(0, 10))
            event(visitor, rng.choice(group), TRANSACTION, rng.uniform(25, 28) if late else rng.uniform(11, 20))
        session.execute(insert(Event), rows)
        session.commit()
    with app.app_context():
        return find("gizmos").product_ids


def test_a_taste_inside_the_queried_category_lifts_the_purchase(app, runner):
    engine_order = _plant_tastes(app)
    assert len(engine_order) == GROUPS * PER_GROUP
    result = runner.invoke(args=["search", "evaluate-rerank", "--test-fraction", "0.25", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["test_purchases"] == LATE_BUYERS + STRANGERS
    assert report["no_history"] == STRANGERS and report["measured"] == LATE_BUYERS
    # the late purchases are all past the engine's first ten: only the re-rank brings them up
    assert report["metrics"]["engine"]["hit_rate@10"] == 0.0
    assert report["differences"]["hit_rate@10"]["low"] > 0
    assert report["differences"]["mrr@10"]["low"] > 0
    assert report["metrics"]["reranked"]["hit_rate@20"] > report["metrics"]["engine"]["hit_rate@20"]

    table = runner.invoke(args=["search", "evaluate-rerank", "--test-fraction", "0.25"])
    assert f"{STRANGERS} without history before the split" in table.output


def test_a_shop_without_purchases_is_refused_with_a_message(app, runner):
    result = runner.invoke(args=["search", "evaluate-rerank"])
    assert result.exit_code != 0
    assert "Error: the shop has no events" in result.output and "Traceback" not in result.output


def test_the_split_refuses_too_few_purchases_and_keeps_the_test_out_of_training():
    times = pd.date_range("2026-01-01", periods=200, freq="h", tz="UTC")
    events = pd.DataFrame({"user_id": [f"v{i % 7}" for i in range(200)], "item_id": [str(i % 30) for i in range(200)],
                           "event": [TRANSACTION if i % 4 == 0 else VIEW for i in range(200)], "timestamp": times})
    train, test, split_at = split_purchases(events, 0.2)
    assert len(test) == 10 and test["timestamp"].min() == split_at and train["timestamp"].max() < split_at
    with pytest.raises(NotEnoughPurchases, match="purchases"):
        split_purchases(events.iloc[:40], 0.2)  # 10 purchases

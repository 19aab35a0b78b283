"""Why each item is shown: reasons from the model's evidence and from the fallback that served;
the current visit's categories first; "Buy it again" timed by the shop's repurchase intervals."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from ml.registry import ModelRegistry
from ml.repurchase import CategoryCycle, due_items, repurchase_cycles
from ml.training import TrainingConfig, train
from storefront.models import Event, Order, OrderLine, Product, Visitor
from storefront.models.common import utcnow
from storefront.recommendations import repurchase
from storefront.recommendations.steps import session_boost, session_categories
from storefront.tracking.shopper_facts import RecentEvent
from storefront.training.extras import ExtraContext
from tests.helpers import BROWSER_UA
from tests.storefront.support.recommendations import (
    FAST_TRAINING, events_frame, plant_groups, shelves, train_and_publish,
)
from tests.storefront.support.shop import add_to_cart, ctx, login, new_category, new_customer, new_product, set_product


def _names(app, ids) -> dict[int, str]:
    with ctx(app) as session:
        return dict(session.execute(select(Product.id, Product.name).where(Product.id.in_(ids))).all())


def test_a_personal_pick_names_what_the_shopper_viewed(app, client):
    shop = plant_groups(app)
    train_and_publish(app)
    viewed = shop.groups[0][:3]
    for product_id in viewed:
        assert client.get(f"/products/{product_id}", headers={"User-Agent": BROWSER_UA}).status_code == 200
    shelf = shelves(client.get("/", headers={"User-Agent": BROWSER_UA}))["home_for_you"]
    assert shelf.strategy.startswith("model:") and len(shelf.reasons) == len(shelf.product_ids)
    names = _names(app, viewed)
    named = [r for r in shelf.reasons if r.startswith("Because you viewed ")]
    assert len(named) >= len(shelf.reasons) // 2  # the model's evidence is the shopper's own views
    assert {r.removeprefix("Because you viewed ") for r in named} <= set(names.values())
    assert all(r in named or r == "Picked for you" for r in shelf.reasons)


def test_fallbacks_say_what_they_ranked_by(app, client):
    category_id, _ = new_category(app, "Kettles")
    ids = [new_product(app, category_id, name=f"Kettle {i}") for i in range(4)]
    set_product(app, ids[0], popularity=5.0)
    home = shelves(client.get("/", headers={"User-Agent": BROWSER_UA}))["home_trending"]
    assert home.reasons[0] == "Popular in Kettles"  # trending first, then the newest
    assert home.reasons[-1] == "New in Kettles"
    page = shelves(client.get(f"/products/{ids[0]}", headers={"User-Agent": BROWSER_UA}))
    shown = [reason for name, shelf in page.items() if name != "product_recently_viewed" for reason in shelf.reasons]
    assert shown and set(shown) <= {"Also in Kettles", "Popular in Kettles", "New in Kettles"}
    recent = shelves(client.get(f"/products/{ids[1]}", headers={"User-Agent": BROWSER_UA}))["product_recently_viewed"]
    assert recent.product_ids == [ids[0]] and recent.reasons == ["You viewed this"]


def test_the_current_visit_comes_first(app):
    now = utcnow()
    tent, stove, shoe = 1, 2, 3
    recent = (RecentEvent(10, "view", tent, now - timedelta(minutes=2)),
              RecentEvent(11, "view", stove, now - timedelta(minutes=20)),
              RecentEvent(12, "view", shoe, now - timedelta(days=3)))  # an earlier visit
    with app.app_context():
        assert session_categories(recent, now) == {tent, stove}
        assert session_categories(recent[2:], now) == set()  # nothing this visit

        class Card:
            def __init__(self, pid, category_id):
                self.id, self.category_id = pid, category_id

        cards = [Card(1, shoe), Card(2, shoe), Card(3, tent), Card(4, shoe), Card(5, stove)]
        order = [c.id for c in session_boost(cards, recent)]
        # rank r scores 1/(r+1), doubled in this visit's categories: the tent (rank 2) passes rank 1
        assert order == [1, 3, 2, 5, 4]
        # the cart page: the cart's category (shoes) steps back behind the others
        assert [c.id for c in session_boost(cards, recent, demote={shoe})] == [3, 1, 5, 2, 4]  # 2/3, 1/2, 2/5, 1/4, 1/8
        app.config["SESSION_CATEGORY_BOOST"] = 0
        assert [c.id for c in session_boost(cards, recent)] == [1, 2, 3, 4, 5]


def test_repurchase_cycles_and_due_items():
    import pandas as pd

    day = pd.Timestamp("2026-01-01", tz="UTC")
    rows = []
    for buyer in range(5):  # coffee bought again every 30 days by five people
        rows += [(f"u{buyer}", "coffee", day), (f"u{buyer}", "coffee", day + pd.Timedelta(days=30))]
    rows += [("u9", "tent", day), ("u8", "tent", day)]  # tents are bought once
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    cycles = repurchase_cycles(frame, {"coffee": 7, "tent": 8})
    assert set(cycles) == {7} and cycles[7] == CategoryCycle(5, 5, 30.0)
    now = day.to_pydatetime().replace(tzinfo=None) + timedelta(days=100)
    bought = {1: now - timedelta(days=40), 2: now - timedelta(days=10), 3: now - timedelta(days=200),
              4: now - timedelta(days=60)}
    due = due_items(bought, {1: 7, 2: 7, 3: 7, 4: 8}, cycles, now)
    assert due == [1]  # 2 is not due yet, 3 is stale (over 4 intervals), 4 is a tent


def test_buy_it_again_offers_a_due_repeat_purchase_with_its_date(app, client):
    category_id, _ = new_category(app, "Coffee Beans")
    beans = new_product(app, category_id, name="House Blend", price=Decimal("9.50"))
    other = new_product(app, category_id, name="Dark Roast")
    customer_id, email = new_customer(app, "coffee@example.com")
    now = utcnow()
    with ctx(app) as session:
        buyers = [customer_id] + [new_customer(app, f"c{i}@example.com")[0] for i in range(4)]
        for n, buyer in enumerate(buyers):
            visitor = Visitor(token=f"coffee-{buyer}")
            session.add(visitor)
            session.flush()
            last = 35 if buyer == customer_id else 10 + n
            for days in (last + 30, last):  # everyone re-buys after 30 days
                order = Order(reference=f"R{buyer}-{days}", customer_id=buyer, email="x@example.com", name="X",
                              address_line="1 St", city="C", postcode="1", country="NL", total=Decimal("9.50"),
                              created_at=now - timedelta(days=days))
                order.lines.append(OrderLine(product_id=beans, product_name="House Blend", unit_price=Decimal("9.50"),
                                             quantity=1))
                session.add(order)
                session.flush()
                session.execute(insert(Event), [{"visitor_id": visitor.id, "customer_id": buyer, "product_id": beans, "type": "transaction",
                                                 "occurred_at": now - timedelta(days=days), "order_id": order.id,
                                                 "session_id": "", "device": "desktop"},
                                                {"visitor_id": visitor.id, "customer_id": buyer, "product_id": other,
                                                 "type": "view",
                                                 "occurred_at": now - timedelta(days=days), "session_id": "",
                                                 "device": "desktop"}])
        session.commit()
    with app.app_context():
        events = events_frame(app)
        result = train(events, TrainingConfig(**FAST_TRAINING))
        writer = repurchase.build_extra(ExtraContext(events, result))
        ModelRegistry(app.config["MODEL_DIR"]).publish(result, extras={"repurchase": writer})
    login(client, email)
    home = shelves(client.get("/", headers={"User-Agent": BROWSER_UA}))
    assert home["home_buy_again"].product_ids == [beans]
    assert home["home_buy_again"].reasons == ["You bought this 35 days ago"]
    account = shelves(client.get("/account/orders", headers={"User-Agent": BROWSER_UA}))
    assert account["account_buy_again"].product_ids == [beans]
    # every other widget still leaves the purchase out; in the cart it is not offered again
    assert beans not in home.get("home_for_you", home.get("home_trending")).product_ids
    assert add_to_cart(client, beans).status_code in (200, 302)
    again = shelves(client.get("/", headers={"User-Agent": BROWSER_UA}))
    assert "home_buy_again" not in again  # the only due purchase is in the cart: nothing to offer

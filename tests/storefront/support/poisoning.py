"""The poisoning scenario of issue 21, shared by tests/storefront/tracking/test_poisoning.py and
bench/poisoning.py: a shop with a month of organic traffic in one category, a cold product in
it, scripted sessions pushing that product, then the refresh and retrain an hourly run does.

A scripted session is what the issue's probe did, as a browser that keeps its cookies for the
session: open the product page, add it to the cart. Each session is a new browser (a fresh
cookie jar) from one of ``addresses`` client addresses, all within a minute.

Only APIs older than the defences are used here, so bench/poisoning.py can run this module on the
commit before them for its "before" numbers.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, text

from storefront.catalog import snapshot
from storefront.catalog.listings import listing
from storefront.extensions import db
from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Event, Product, Visitor
from storefront.models.common import utcnow
from storefront.training.job import run_training
from tests.helpers import BROWSER_UA
from tests.storefront.support.recommendations import shelves
from tests.storefront.support.shop import ctx, new_category, new_product

CATEGORY_PRODUCTS = 16
OTHER_PRODUCTS = 24
DAYS = 30


@dataclass(frozen=True)
class Shop:
    category_slug: str
    category_products: list[int]
    target: int


def organic_shop(app, seed: int = 7) -> Shop:
    """A month of traffic from distinct visitors: product i of the category draws about
    (16 - i) visitors a day; a share of them add to cart, a few buy. The target gets nothing."""
    rng = random.Random(seed)
    department_id, _ = new_category(app, "Audio")
    category_id, slug = new_category(app, "Headphones", parent_id=department_id)
    products = [new_product(app, category_id, name=f"Headphones {i}") for i in range(CATEGORY_PRODUCTS)]
    others = [new_product(app, department_id, name=f"Speaker {i}") for i in range(OTHER_PRODUCTS)]
    target = new_product(app, category_id, name="Pushed headphones")
    now = utcnow()
    with ctx(app) as session:
        rows, visitor_count = [], 0
        for day in range(DAYS):
            for rank, product_id in enumerate(products + others):
                for _ in range(max(1, (CATEGORY_PRODUCTS - rank % CATEGORY_PRODUCTS) // 2 + rng.randint(0, 2))):
                    visitor_count += 1
                    at = now - timedelta(days=day, minutes=rng.randint(1, 1400))
                    rows.append((visitor_count, product_id, VIEW, at))
                    if rng.random() < 0.3:
                        rows.append((visitor_count, product_id, ADD_TO_CART, at + timedelta(minutes=2)))
                    if rng.random() < 0.05:
                        rows.append((visitor_count, product_id, TRANSACTION, at + timedelta(minutes=5)))
                    if rng.random() < 0.5:  # people look at something else too
                        rows.append((visitor_count, rng.choice(products + others), VIEW, at + timedelta(minutes=3)))
        session.execute(insert(Visitor), [{"id": i, "token": f"organic-{i:026d}", "created_at": now - timedelta(days=DAYS)}
                                          for i in range(1, visitor_count + 1)])
        if session.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence past them
            session.execute(text("SELECT setval(pg_get_serial_sequence('visitors', 'id'), :n)"), {"n": visitor_count})
        session.execute(insert(Event), [{"visitor_id": v, "product_id": p, "type": t, "occurred_at": at,
                                         "session_id": f"s{v}", "device": "desktop"} for v, p, t, at in rows])
        session.commit()
    return Shop(slug, products, target)


def attack(app, target: int, sessions: int, addresses: int) -> None:
    """``sessions`` scripted sessions (view, then add to cart) from ``addresses`` addresses."""
    for index in range(sessions):
        browser = app.test_client()  # a new browser: its first request has no cookie
        browser.environ_base.update({"HTTP_USER_AGENT": BROWSER_UA, "REMOTE_ADDR": f"198.51.100.{1 + index % addresses}"})
        browser.get(f"/products/{target}")
        browser.post(f"/cart/add/{target}", data={"quantity": "1"})


def refresh_and_retrain(app) -> None:
    """What the hourly job does: screening, popularity, a new model version."""
    with app.app_context():
        run = run_training()
        assert run.status == "succeeded", run.error


@dataclass(frozen=True)
class Standing:
    listing_rank: int | None  # 1-based rank in the category's "Most popular" listing (None: not in it)
    in_category_top10: bool
    in_trending_in_category: bool  # in the "Trending in ..." shelf or the first row of the listing below it


def standing(app, shop: Shop) -> Standing:
    with app.app_context():
        catalog = snapshot.current()
        in_tree = catalog.descendants(catalog.category_by_slug(shop.category_slug).id)
        ranked = [p.id for p in listing(in_tree, "popular", 1, 100).items]
    rank = ranked.index(shop.target) + 1 if shop.target in ranked else None
    page = app.test_client().get(f"/c/{shop.category_slug}", headers={"User-Agent": BROWSER_UA})
    trending = shelves(page).get("category_trending")
    # "Trending in ..." leaves the listing's first row to the grid below it: a product that tops
    # the listing is shown atop the category page all the same
    first_row = set(ranked[:int(app.config.get("GRID_ROW", 4))])
    return Standing(rank, rank is not None and rank <= 10,
                    (trending is not None and shop.target in trending.product_ids) or shop.target in first_row)


def popularity_of(app, product_id: int) -> float:
    with app.app_context():
        return db.session.get(Product, product_id).popularity

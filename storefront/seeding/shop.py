"""Write the simulated shop of ``ml.synth.shop`` into the database through the shop's own models.

Rows are inserted in bulk (executemany through SQLAlchemy Core on the mapped tables): the ORM
unit of work would take minutes for 200k events. Everything happens in one transaction that the
caller commits, so a failed seed leaves the database as it was.
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from ml.synth.shop import SynthConfig, SyntheticShop, generate_shop
from storefront.extensions import db
from storefront.models import Category, Customer, Event, Order, OrderLine, Product, Visitor
from storefront.catalog.listings import refresh_popularity
from storefront.search.index import products_in_bulk
from storefront.seeding.clicks import ClickSeedReport, seed_click_logs

EVENT_CHUNK = 20_000
CITIES = ("Springfield", "Riverton", "Lakeside", "Fairview", "Greenville", "Kingston", "Bristol", "Madison")
STREETS = ("Market Street", "Oak Avenue", "High Street", "Maple Road", "Station Road", "Park Lane")

Progress = Callable[[str, int], None]  # (stage, rows done in this call)


class SeedError(RuntimeError):
    """Seeding refused; the message says why."""


@dataclass(frozen=True)
class SeedReport:
    categories: int
    products: int
    customers: int
    visitors: int
    orders: int
    order_lines: int
    events: int
    events_by_type: dict[str, int]
    first_event: object
    last_event: object
    click_logs: ClickSeedReport | None = None  # campaigns, impressions and clicks (click_seeding)


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(Product))


def _records(frame: pd.DataFrame) -> list[dict]:
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.to_dict("records")


def _stable_hash(text: str) -> int:
    return int(hashlib.blake2b(text.encode(), digest_size=8).hexdigest(), 16)


def _insert_categories(shop: SyntheticShop) -> dict[str, int]:
    cats = shop.categories
    roots = cats[cats["parent_key"].isna()]
    db.session.execute(insert(Category), [{"name": r.name, "slug": r.key} for r in roots.itertuples()])
    ids = dict(db.session.execute(select(Category.slug, Category.id)).all())
    leaves = cats[cats["parent_key"].notna()]
    db.session.execute(
        insert(Category),
        [{"name": r.name, "slug": r.key, "parent_id": ids[r.parent_key]} for r in leaves.itertuples()],
    )
    return dict(db.session.execute(select(Category.slug, Category.id)).all())


def _insert_products(shop: SyntheticShop, category_ids: dict[str, int]) -> dict[str, int]:
    products = shop.products
    rows = [
        {
            "sku": r.sku, "name": r.name, "description": r.description, "brand": r.brand,
            "price": Decimal(str(round(r.price, 2))), "stock": int(r.stock), "active": bool(r.active),
            "category_id": category_ids[r.category_key], "created_at": r.created_at.to_pydatetime(),
        }
        for r in products.itertuples()
    ]
    with products_in_bulk(db.session.connection()):  # the search index, in one pass
        db.session.execute(insert(Product), rows)
    return dict(db.session.execute(select(Product.sku, Product.id)).all())


def _insert_people(shop: SyntheticShop) -> tuple[dict[str, int], dict[str, int]]:
    """Customers and one visitor per shopper; returns shopper_key -> visitor id / customer id."""
    customers = shop.shoppers[shop.shoppers["is_customer"]]
    # Demo customers cannot log in: they share the hash of a random password nobody knows.
    locked = generate_password_hash(secrets.token_urlsafe(32))
    db.session.execute(
        insert(Customer),
        [
            {"email": r.email, "name": r.name, "password_hash": locked, "created_at": r.first_seen.to_pydatetime()}
            for r in customers.itertuples()
        ],
    )
    by_email = dict(db.session.execute(select(Customer.email, Customer.id)).all())
    customer_of = {r.shopper_key: by_email[r.email] for r in customers.itertuples()}
    db.session.execute(
        insert(Visitor),
        [
            {"token": f"demo-{r.shopper_key}", "customer_id": customer_of.get(r.shopper_key),
             "created_at": r.first_seen.to_pydatetime()}
            for r in shop.shoppers.itertuples()
        ],
    )
    tokens = dict(db.session.execute(select(Visitor.token, Visitor.id)).all())
    visitor_of = {key: tokens[f"demo-{key}"] for key in shop.shoppers["shopper_key"]}
    return visitor_of, customer_of


def _insert_orders(shop, product_ids, visitor_of, customer_of) -> dict[str, int]:
    lines = shop.order_lines
    totals = (lines["quantity"] * lines["unit_price"]).groupby(lines["order_key"]).sum()
    rows = []
    for r in shop.orders.itertuples():
        h = _stable_hash(r.order_key)
        rows.append({
            "reference": f"{h:016X}"[:12], "customer_id": customer_of.get(r.shopper_key),
            "visitor_id": visitor_of[r.shopper_key], "email": r.email, "name": r.name,
            "address_line": f"{h % 200 + 1} {STREETS[h % len(STREETS)]}", "city": CITIES[h % len(CITIES)],
            "postcode": f"{h % 90000 + 10000}", "country": "United States", "payment_last4": "4242",
            "total": Decimal(str(round(float(totals.get(r.order_key, 0.0)), 2))),
            "created_at": r.created_at.to_pydatetime(),
        })
    db.session.execute(insert(Order), rows)
    order_ids = dict(db.session.execute(select(Order.reference, Order.id)).all())
    by_key = {r.order_key: order_ids[row["reference"]] for r, row in zip(shop.orders.itertuples(), rows)}
    names = shop.products.set_index("sku")["name"]
    db.session.execute(
        insert(OrderLine),
        [
            {"order_id": by_key[r.order_key], "product_id": product_ids[r.sku], "product_name": names[r.sku],
             "unit_price": Decimal(str(round(r.unit_price, 2))), "quantity": int(r.quantity)}
            for r in lines.itertuples()
        ],
    )
    return by_key


def _event_chunks(shop, product_ids, visitor_of, customer_of, order_ids) -> Iterable[list[dict]]:
    events = shop.events
    frame = pd.DataFrame({
        "visitor_id": events["shopper_key"].map(visitor_of),
        "customer_id": events["shopper_key"].map(customer_of),
        "product_id": events["sku"].map(product_ids),
        "order_id": events["order_key"].map(order_ids),
        "type": events["type"],
        "occurred_at": events["occurred_at"],
        "session_id": events["session_key"],
        "device": events["device"],
    })
    for start in range(0, len(frame), EVENT_CHUNK):
        chunk = frame.iloc[start:start + EVENT_CHUNK]
        records = _records(chunk.drop(columns=["occurred_at"]))
        for record, moment in zip(records, chunk["occurred_at"].dt.to_pydatetime()):
            record["occurred_at"] = moment
            for key in ("visitor_id", "customer_id", "product_id", "order_id"):
                if record[key] is not None:
                    record[key] = int(record[key])
        yield records


def seed_demo(config: SynthConfig, progress: Progress | None = None) -> SeedReport:
    """Generate the demo shop and insert it; the caller commits (or rolls back on error)."""
    if not database_is_empty():
        raise SeedError("The database already has products; seed only fills an empty shop.")
    progress = progress or (lambda stage, rows: None)
    progress("generating", 0)
    shop = generate_shop(config)
    progress("catalog", 0)
    category_ids = _insert_categories(shop)
    product_ids = _insert_products(shop, category_ids)
    progress("shoppers", 0)
    visitor_of, customer_of = _insert_people(shop)
    order_ids = _insert_orders(shop, product_ids, visitor_of, customer_of)
    for records in _event_chunks(shop, product_ids, visitor_of, customer_of, order_ids):
        db.session.execute(insert(Event), records)
        progress("events", len(records))
    progress("campaigns and click logs", 0)
    click_logs = seed_click_logs(shop, config.seed, category_ids, product_ids, visitor_of, customer_of)
    refresh_popularity()
    db.session.flush()
    return SeedReport(
        categories=len(category_ids), products=len(product_ids), customers=len(customer_of),
        visitors=len(visitor_of), orders=len(order_ids), order_lines=len(shop.order_lines),
        events=len(shop.events), events_by_type=shop.events["type"].value_counts().to_dict(),
        first_event=shop.events["occurred_at"].min(), last_event=shop.events["occurred_at"].max(),
        click_logs=click_logs,
    )

"""A small hand-made shop for the dashboard tests, and the answers worked out by hand.

Period under test: 10-12 March 2024 (Sunday to Tuesday); the previous period is 7-9 March.
Times are naive UTC. Products: P1, P2 in Electronics › Phones; P3 in Books › Novels; P4 directly
in the Books department. Customers: C1 (first order on 8 March, so *returning*), C2 (first
order in the period, so *new*). Visitors:

==== ======= =====================================================================
V1   C1      8 Mar: view, cart, buy P1 (order O1). 10 Mar: view, cart, buy P1 (O2);
             11 Mar: view P2. Desktop.
V2   C2      11 Mar 12:00: view, cart, buy P3 (O3). Mobile.
V3   -       6 Mar 23:59:59 view (before both periods); 12 Mar 23:59:59 view P1 (in);
             13 Mar 00:00:00 view P1 (out). Desktop.
V4   -       10 Mar 08:00: view P2, cart P2, remove P2, view P1, view P3. Tablet. Abandons.
V5   guest   12 Mar 15:00: view, cart, buy P4 (guest order O4). Desktop.
V6   -       9 Mar 23:59:59 cart P2 (previous period); 10 Mar 00:00:00 buy P2. Mobile.
==== ======= =====================================================================

Orders (paid unless said): O1 C1 8 Mar 100.00 (P1 x1 @100); O2 C1 Sun 10 Mar 10:10 250.00
(P1 x2 @100, P2 x1 @50); O3 C2 Mon 11 Mar 12:02 30.00 (P3 x3 @10); O4 guest Tue 12 Mar 15:02
20.50 (P4 x1 @20.50); O5 C2 Tue 12 Mar 23:59:59 10.00 (P3 x1 @10); O6 C1 13 Mar 00:00 (out of
the period); O7 C2 11 Mar 13:00 *refunded* 50.00 (never counted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from storefront.extensions import db
from storefront.models import Category, Customer, Event, Order, OrderLine, Product, Visitor
from storefront.analytics.period import Period

PERIOD = Period(date(2024, 3, 10), date(2024, 3, 12))
PREVIOUS = Period(date(2024, 3, 7), date(2024, 3, 9))


@dataclass
class Shop:
    products: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    visitors: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)


def _at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, minute, second)


def build_shop() -> Shop:
    """Insert the shop above (inside an app context) and return its ids."""
    shop = Shop()
    session = db.session
    electronics = Category(name="Electronics", slug="electronics")
    books = Category(name="Books", slug="books")
    phones = Category(name="Phones", slug="phones", parent=electronics)
    novels = Category(name="Novels", slug="novels", parent=books)
    products = {
        "P1": Product(sku="P1", name="Phone One", price=Decimal("100.00"), stock=5, category=phones),
        "P2": Product(sku="P2", name="Phone Two", price=Decimal("50.00"), stock=5, category=phones),
        "P3": Product(sku="P3", name="A Novel", price=Decimal("10.00"), stock=5, category=novels),
        "P4": Product(sku="P4", name="=Atlas", price=Decimal("20.50"), stock=5, category=books),
    }
    customers = {
        "C1": Customer(email="c1@example.com", password_hash="x", name="C One"),
        "C2": Customer(email="c2@example.com", password_hash="x", name="C Two"),
    }
    session.add_all([*products.values(), *customers.values()])
    session.flush()
    visitors = {
        name: Visitor(token=f"token-{name}", customer_id=customers[owner].id if owner else None)
        for name, owner in (("V1", "C1"), ("V2", "C2"), ("V3", None), ("V4", None), ("V5", None), ("V6", None))
    }
    session.add_all(visitors.values())
    session.flush()

    def order(ref, customer, visitor, when, lines, status="paid"):
        placed = Order(
            reference=ref, customer_id=customers[customer].id if customer else None,
            visitor_id=visitors[visitor].id, email="buyer@example.com", name="Buyer", address_line="1 Road",
            city="Town", postcode="1", country="US", status=status, created_at=when,
            total=sum(Decimal(price) * qty for _, qty, price in lines),
            lines=[OrderLine(product_id=products[p].id, product_name=p, unit_price=Decimal(price), quantity=qty)
                   for p, qty, price in lines],
        )
        session.add(placed)
        return placed

    orders = {
        "O1": order("O1", "C1", "V1", _at(8, 10, 10), [("P1", 1, "100.00")]),
        "O2": order("O2", "C1", "V1", _at(10, 10, 10), [("P1", 2, "100.00"), ("P2", 1, "50.00")]),
        "O3": order("O3", "C2", "V2", _at(11, 12, 2), [("P3", 3, "10.00")]),
        "O4": order("O4", None, "V5", _at(12, 15, 2), [("P4", 1, "20.50")]),
        "O5": order("O5", "C2", "V2", _at(12, 23, 59, 59), [("P3", 1, "10.00")]),
        "O6": order("O6", "C1", "V1", _at(13), [("P1", 1, "100.00")]),
        "O7": order("O7", "C2", "V2", _at(11, 13), [("P2", 1, "50.00")], status="refunded"),
    }
    session.flush()

    def event(visitor, type_, product, when, device, order_ref=None):
        customer_id = visitors[visitor].customer_id
        session.add(Event(
            visitor_id=visitors[visitor].id, customer_id=customer_id,
            product_id=products[product].id if product else None,
            order_id=orders[order_ref].id if order_ref else None,
            type=type_, occurred_at=when, session_id=f"s-{visitor}", device=device,
        ))

    for type_, minute, ref in (("view", 0, None), ("addtocart", 5, None), ("transaction", 10, "O1")):
        event("V1", type_, "P1", _at(8, 10, minute), "desktop", ref)
    for type_, minute, ref in (("view", 0, None), ("addtocart", 5, None), ("transaction", 10, "O2")):
        event("V1", type_, "P1", _at(10, 10, minute), "desktop", ref)
    event("V1", "view", "P2", _at(11, 9), "desktop")
    for type_, minute, ref in (("view", 0, None), ("addtocart", 1, None), ("transaction", 2, "O3")):
        event("V2", type_, "P3", _at(11, 12, minute), "mobile", ref)
    event("V3", "view", "P1", _at(6, 23, 59, 59), "desktop")
    event("V3", "view", "P1", _at(12, 23, 59, 59), "desktop")
    event("V3", "view", "P1", _at(13), "desktop")
    for minute, (type_, product) in enumerate(
        (("view", "P2"), ("addtocart", "P2"), ("removefromcart", "P2"), ("view", "P1"), ("view", "P3"))
    ):
        event("V4", type_, product, _at(10, 8, minute), "tablet")
    for type_, minute, ref in (("view", 0, None), ("addtocart", 1, None), ("transaction", 2, "O4")):
        event("V5", type_, "P4", _at(12, 15, minute), "desktop", ref)
    event("V6", "addtocart", "P2", _at(9, 23, 59, 59), "mobile")
    event("V6", "transaction", "P2", _at(10), "mobile")
    session.commit()

    shop.products = {k: v.id for k, v in products.items()}
    shop.customers = {k: v.id for k, v in customers.items()}
    shop.visitors = {k: v.id for k, v in visitors.items()}
    shop.orders = {k: v.id for k, v in orders.items()}
    return shop

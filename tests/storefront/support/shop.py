"""Helpers shared by the storefront tests (not a test module; no fixtures here).

The tests never keep an app context open while they make requests: a request pushed inside an
open app context of the same app would reuse it (and its ``g`` and database session), which is
not what a real browser request sees. Each helper opens its own short context instead.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import func, select

from tests import factories
from storefront.extensions import db
from storefront.models import Cart, CartItem, Category, Customer, Event, Order, OrderLine, Product, Visitor

TABLES = {
    "events": Event,
    "cart_items": CartItem,
    "carts": Cart,
    "orders": Order,
    "order_lines": OrderLine,
    "customers": Customer,
    "visitors": Visitor,
}

VALID_CARD = "4242 4242 4242 4242"


def cart_badge(html: str) -> int | None:
    """The header's cart badge (items in the cart), None when the page shows none."""
    found = re.search(r'<span class="badge">(\d+)</span>', html)
    return int(found.group(1)) if found else None


@contextmanager
def ctx(app):
    with app.app_context():
        yield db.session


def counts(app) -> dict[str, int]:
    """Row counts of every table a request may write to."""
    with ctx(app) as session:
        return {
            name: session.scalar(select(func.count()).select_from(model)) for name, model in TABLES.items()
        }


def new_category(app, name: str = "Headphones", parent_id: int | None = None) -> tuple[int, str]:
    with ctx(app) as session:
        parent = session.get(Category, parent_id) if parent_id else None
        node = factories.category(name, parent=parent)
        return node.id, node.slug


def new_product(app, category_id: int | None = None, **fields) -> int:
    """Create a product (through the factory) and return its id."""
    with ctx(app) as session:
        node = session.get(Category, category_id) if category_id else None
        return factories.product(node, **fields).id


def new_customer(app, email: str | None = None, *, admin: bool = False, name: str = "Ada Lovelace") -> tuple[int, str]:
    with ctx(app):
        person = factories.customer(email, admin=admin, name=name)
        return person.id, person.email


def set_product(app, product_id: int, **values) -> None:
    with ctx(app) as session:
        product = session.get(Product, product_id)
        for key, value in values.items():
            setattr(product, key, value)
        session.commit()


def product_stock(app, product_id: int) -> int:
    with ctx(app) as session:
        return session.get(Product, product_id).stock


def events(app, type_: str | None = None) -> list[Event]:
    """Events (detached, attributes loaded) in insertion order, optionally of one type."""
    with ctx(app) as session:
        query = select(Event).order_by(Event.id)
        if type_ is not None:
            query = query.where(Event.type == type_)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def cart_lines(app, *, customer_id: int | None = None, visitor_id: int | None = None) -> dict[int, int]:
    """``{product_id: quantity}`` of one owner's cart (empty if there is none)."""
    with ctx(app) as session:
        query = select(CartItem.product_id, CartItem.quantity).join(Cart)
        if customer_id is not None:
            query = query.where(Cart.customer_id == customer_id)
        else:
            query = query.where(Cart.visitor_id == visitor_id)
        return dict(session.execute(query).all())


def all_cart_lines(app) -> list[tuple[int | None, int | None, int, int]]:
    """Every cart line as ``(cart.visitor_id, cart.customer_id, product_id, quantity)``."""
    with ctx(app) as session:
        query = select(Cart.visitor_id, Cart.customer_id, CartItem.product_id, CartItem.quantity).join(Cart.items)
        rows = [tuple(row) for row in session.execute(query).all()]
        return sorted(rows, key=lambda row: tuple(-1 if value is None else value for value in row))


def visitor_ids(app) -> list[int]:
    with ctx(app) as session:
        return list(session.scalars(select(Visitor.id).order_by(Visitor.id)))


def orders(app) -> list[Order]:
    """Orders with their lines loaded, detached."""
    with ctx(app) as session:
        rows = list(session.scalars(select(Order).order_by(Order.id)))
        for order in rows:
            list(order.lines)
        session.expunge_all()
        return rows


def add_to_cart(client, product_id: int, quantity=1, **kwargs):
    return client.post(f"/cart/add/{product_id}", data={"quantity": str(quantity)}, **kwargs)


def login(client, email: str, password: str = factories.PASSWORD):
    response = factories.login(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def checkout_form(**overrides) -> dict[str, str]:
    form = {
        "name": "Grace Hopper",
        "email": "Grace@Example.com",
        "address_line": "1 Harbour Street",
        "city": "Arlington",
        "postcode": "22201",
        "country": "United States",
        "card_number": VALID_CARD,
        "expiry": "12/99",
        "cvc": "123",
    }
    form.update(overrides)
    return form


def card_titles(html: str) -> list[str]:
    """Product names of the product cards on a listing page, in page order."""
    return re.findall(r'<article class="card">.*?<h3>(.*?)</h3>', html, flags=re.S)


def money(value: str) -> str:
    return f"${Decimal(value):,.2f}"

"""Orders as checkout leaves them (lines, stock taken, one ``transaction`` event per line), built
through the models so that the admin tests depend on the order tables, not on the checkout page."""
from __future__ import annotations

import itertools
from decimal import Decimal

from sqlalchemy import select

from storefront.models import STATUS_PAID, TRANSACTION, Event, Order, OrderLine, Product, Visitor
from storefront.models.common import utcnow
from storefront.models.order_history import OrderChange, OrderRefund
from tests.storefront.support.shop import ctx

_refs = itertools.count(1)


def place_order(app, lines: dict[int, int], *, customer_id: int | None = None, total: str | None = None,
                visitor_id: int | None = None, email: str = "grace@example.com", placed_at=None,
                status: str | None = None) -> int:
    """An order of ``lines`` (product id -> units) at the products' prices, paid (or ``status``);
    ``total`` overrides what was paid (a discount); ``placed_at``: when (default now). Returns
    its id."""
    with ctx(app) as session:
        if visitor_id is None:
            visitor = Visitor(token=f"order-visitor-{next(_refs)}", customer_id=customer_id)
            session.add(visitor)
            session.flush()
            visitor_id = visitor.id
        products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(lines)))}
        order = Order(
            reference=f"REF{next(_refs):05d}", customer_id=customer_id, visitor_id=visitor_id, email=email,
            name="Grace Hopper", address_line="1 Harbour Street", city="Arlington", postcode="22201",
            country="United States", payment_last4="4242", created_at=placed_at or utcnow(),
            status=status or STATUS_PAID,
            total=Decimal(total) if total else sum((products[p].price * q for p, q in lines.items()), Decimal("0")),
            lines=[OrderLine(product_id=p, product_name=products[p].name, unit_price=products[p].price, quantity=q)
                   for p, q in lines.items()],
        )
        session.add(order)
        for product_id, units in lines.items():
            products[product_id].stock -= units
        session.flush()
        session.add_all(Event(visitor_id=visitor_id, customer_id=customer_id, product_id=p, order_id=order.id,
                              type=TRANSACTION, occurred_at=placed_at or utcnow(), properties={"quantity": q})
                        for p, q in lines.items())
        session.commit()
        return order.id


def order_state(app, order_id: int) -> tuple[str, list[OrderChange], list[OrderRefund]]:
    """(status, history oldest first, refunds), detached."""
    with ctx(app) as session:
        order = session.get(Order, order_id)
        changes = list(session.scalars(select(OrderChange).where(OrderChange.order_id == order_id)
                                       .order_by(OrderChange.id)))
        refunds = list(session.scalars(select(OrderRefund).where(OrderRefund.order_id == order_id)
                                       .order_by(OrderRefund.id)))
        status = order.status
        session.expunge_all()
        return status, changes, refunds


def line_ids(app, order_id: int) -> list[int]:
    with ctx(app) as session:
        return list(session.scalars(select(OrderLine.id).where(OrderLine.order_id == order_id).order_by(OrderLine.id)))


def events_of(app, kind: str) -> list[tuple[int, int | None, int, int, dict]]:
    """(visitor, customer, product, order, properties) of every ``kind`` event, in order."""
    with ctx(app) as session:
        return [(e.visitor_id, e.customer_id, e.product_id, e.order_id, e.properties)
                for e in session.scalars(select(Event).where(Event.type == kind).order_by(Event.id))]

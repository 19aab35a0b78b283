"""`flask shop seed`: sizes, referential sanity, determinism, and refusing to double-seed."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import reset_postgres_schema
from storefront.extensions import db
from storefront.models import (
    CLICK,
    TRANSACTION, VIEW, Category, Customer, Event, Order, OrderLine, Product, Visitor,
)

SMALL = ["--products", "200", "--categories", "10", "--customers", "200", "--anonymous", "100",
         "--events", "20000", "--days", "60", "--end-date", "2026-01-01"]
TINY = ["--products", "20", "--categories", "5", "--customers", "10", "--anonymous", "5",
        "--events", "300", "--days", "10", "--end-date", "2026-01-01", "--b2b-visitors", "0"]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _seed(runner, *extra):
    result = runner.invoke(args=["shop", "seed", *SMALL, *extra])
    assert result.exit_code == 0, result.output
    return result


def _snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(Visitor.token, Product.sku, Event.type, Event.occurred_at, Event.session_id, Event.device)
        .join(Visitor, Event.visitor_id == Visitor.id)
        .join(Product, Event.product_id == Product.id)
        .order_by(Event.id)
    )
    return [tuple(row) for row in rows]


def test_seed_fills_an_empty_shop_consistently(runner, app_ctx):
    result = _seed(runner)
    assert "Seeded in" in result.output
    assert _count(Product) == 200
    assert _count(Category, Category.parent_id.isnot(None)) == 10
    assert _count(Customer) == 200
    # The shop's shoppers and product events (the gated-content demo adds "b2b-" visitors and
    # asset events of its own, tested in tests/storefront/test_asset_suggestions.py).
    assert _count(Visitor, ~Visitor.token.startswith("b2b-")) == 300
    events = _count(Event, Event.product_id.isnot(None))
    assert 18_000 <= events <= 22_000
    assert _count(Event, Event.type == VIEW) / events > 0.9
    # Every transaction event belongs to an order, and every order line has its event.
    assert _count(Event, Event.type == TRANSACTION, Event.order_id.is_(None)) == 0
    assert _count(Event, Event.type == TRANSACTION) == _count(OrderLine) > 0
    # Order totals are the sum of their lines.
    order = db.session.scalars(select(Order).limit(1)).one()
    assert order.total == sum(line.unit_price * line.quantity for line in order.lines)
    # Listings can sort by popularity right away.
    assert _count(Product, Product.popularity > 0) > 100
    # Events of customers carry the customer id; anonymous visitors' do not.
    assert _count(Event, Event.customer_id.isnot(None)) > 0
    assert _count(Event, Event.customer_id.is_(None)) > 0


def test_seed_is_deterministic_for_a_seed(runner, app_ctx):
    _seed(runner, "--seed", "11")
    first = _snapshot()
    db.session.remove()
    reset_postgres_schema()
    db.drop_all()
    db.create_all()
    _seed(runner, "--seed", "11")
    assert _snapshot() == first
    db.session.remove()
    reset_postgres_schema()
    db.drop_all()
    db.create_all()
    _seed(runner, "--seed", "12")
    assert _snapshot() != first


def test_seed_refuses_a_shop_with_data(runner, app_ctx):
    # Any shop with products will do: a tiny one (the refusal does not depend on the size).
    result = runner.invoke(args=["shop", "seed", *TINY])
    assert result.exit_code == 0, result.output
    products = _count(Product)
    assert products == 20
    again = runner.invoke(args=["shop", "seed", *SMALL])
    assert again.exit_code != 0
    assert "already has products" in again.output
    skipped = runner.invoke(args=["shop", "seed", *SMALL, "--if-empty"])
    assert skipped.exit_code == 0
    assert "skipping" in skipped.output
    assert _count(Product) == products


@pytest.mark.slow
def test_default_seed_has_the_promised_sizes(runner, app_ctx):
    result = runner.invoke(args=["shop", "seed", "--end-date", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert _count(Product) >= 1000
    assert _count(Category, Category.parent_id.isnot(None)) >= 20
    assert _count(Visitor) >= 2000
    assert _count(Event) >= 200_000
    first, last = db.session.execute(select(func.min(Event.occurred_at), func.max(Event.occurred_at))).one()
    assert (last - first).days >= 120
    shares = dict(db.session.execute(
        # the shopping funnel's shares, without the seeded recommendation clicks
        select(Event.type, func.count()).where(Event.product_id.isnot(None), Event.type != CLICK)
        .group_by(Event.type)
    ).all())
    total = sum(shares.values())
    assert 0.95 <= shares["view"] / total <= 0.98
    assert 0.015 <= shares["addtocart"] / total <= 0.035
    assert 0.004 <= shares["transaction"] / total <= 0.012

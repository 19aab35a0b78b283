"""Headline numbers for the admin landing page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from storefront.extensions import db
from storefront.models import Category, Customer, Event, Order, Product, Visitor
from storefront.tracking.integrity import dropped_on


@dataclass(frozen=True)
class Overview:
    products: int
    active_products: int
    categories: int
    customers: int
    visitors: int
    events: int
    orders: int
    revenue: Decimal
    events_by_type: dict[str, int]
    first_event: datetime | None
    last_event: datetime | None
    recent_orders: list[Order]
    dropped_today: dict[str, int]  # tracked actions not logged today, by reason (tracking.integrity)
    flagged_visitors: int  # visitors left out of popularity and training (tracking.screening)

    @property
    def dropped_today_total(self) -> int:
        return sum(self.dropped_today.values())


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def overview() -> Overview:
    by_type = dict(db.session.execute(select(Event.type, func.count()).group_by(Event.type)).all())
    first, last = db.session.execute(select(func.min(Event.occurred_at), func.max(Event.occurred_at))).one()
    return Overview(
        products=_count(Product),
        active_products=_count(Product, Product.active.is_(True)),
        categories=_count(Category),
        customers=_count(Customer),
        visitors=_count(Visitor),
        events=sum(by_type.values()),
        orders=_count(Order),
        revenue=db.session.scalar(select(func.coalesce(func.sum(Order.total), 0))) or Decimal(0),
        events_by_type=by_type,
        first_event=first,
        last_event=last,
        recent_orders=list(db.session.scalars(select(Order).order_by(Order.created_at.desc()).limit(10))),
        dropped_today=dropped_on(),
        flagged_visitors=_count(Visitor, Visitor.flagged_at.isnot(None)),
    )

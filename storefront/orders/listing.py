"""Admin -> Orders' list: orders by status, date range and reference or email, newest first,
with how many orders each status holds (the filter's counts)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from storefront.extensions import db
from storefront.models import Order
from storefront.models.order_history import ORDER_STATUSES

MAX_QUERY = 100


@dataclass(frozen=True)
class OrderFilters:
    status: str | None = None
    placed_from: date | None = None  # first day included (UTC)
    placed_to: date | None = None  # last day included (UTC)
    q: str = ""  # a reference, or part of the customer's email or name


def _range(filters: OrderFilters) -> list:
    conditions = []
    if filters.placed_from is not None:
        conditions.append(Order.created_at >= datetime.combine(filters.placed_from, time.min))
    if filters.placed_to is not None:
        conditions.append(Order.created_at < datetime.combine(filters.placed_to + timedelta(days=1), time.min))
    text = filters.q.strip()[:MAX_QUERY].lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(or_(func.lower(Order.reference) == text,
                              func.lower(Order.email).like(pattern, escape="\\"),
                              func.lower(Order.name).like(pattern, escape="\\")))
    return conditions


def order_page(filters: OrderFilters, page: int, per_page: int):
    """One page of the orders matching ``filters``, newest first (lines loaded: the list shows
    item counts)."""
    query = select(Order).where(*_range(filters)).options(selectinload(Order.lines))
    if filters.status in ORDER_STATUSES:
        query = query.where(Order.status == filters.status)
    return db.paginate(query.order_by(Order.created_at.desc(), Order.id.desc()), page=page, per_page=per_page,
                       error_out=False)


def status_counts(filters: OrderFilters) -> dict[str, int]:
    """Orders per status within the date range and search (the status filter's counts)."""
    rows = db.session.execute(select(Order.status, func.count()).where(*_range(filters)).group_by(Order.status))
    found = dict(rows.all())
    return {status: int(found.get(status, 0)) for status in ORDER_STATUSES}

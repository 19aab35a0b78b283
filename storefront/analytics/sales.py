"""Sales aggregates over orders and their lines, all GROUP BY queries in SQL.

Only orders that stand count (``SALE_STATUSES``: paid, shipped, delivered): a cancelled or fully
refunded order drops out of revenue. What was taken back is counted apart, by when it happened
(:func:`taken_back`: items of orders cancelled, items refunded, money refunded). Orders are
selected by ``created_at`` in the period through ``ix_orders_created_at``; the first-order
lookup for new vs returning customers reads ``ix_orders_customer_created``.

Revenue has two sources that agree for orders written by checkout: the KPI uses order totals
(what the customer paid), the per-category and per-product figures use the lines
(``unit_price * quantity``) because only lines know the product.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select

from storefront.models import Category, Order, OrderLine, Product
from storefront.models.order_history import ACTION_CANCEL, SALE_STATUSES, OrderChange, OrderRefund
from storefront.analytics.events import TOP_N, in_period
from storefront.analytics.period import Period
from storefront.analytics.sql import hour_of, weekday_of

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Monday first, as shop people read a week; SQL numbers days 0 = Sunday.
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def money(value) -> Decimal:
    """A SUM as exact cents: PostgreSQL returns Decimal, SQLite a float (``1234.4999999``)."""
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SalesSummary:
    orders: int
    revenue: Decimal
    items: int


@dataclass(frozen=True)
class CategoryRevenue:
    category_id: int
    name: str
    department: str
    revenue: Decimal
    items: int


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    name: str
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class TakenBack:
    cancelled_items: int  # units of the orders cancelled in the period
    returned_items: int  # units refunded in the period
    refunded: Decimal  # money refunded in the period


def paid_in(period: Period):
    return (Order.status.in_(SALE_STATUSES), in_period(Order.created_at, period))


def _line_revenue():
    return func.sum(OrderLine.unit_price * OrderLine.quantity)


def sales_summary(conn, period: Period) -> SalesSummary:
    orders, revenue = conn.execute(select(func.count(), func.sum(Order.total)).where(*paid_in(period))).one()
    items = conn.scalar(
        select(func.sum(OrderLine.quantity)).join(Order, Order.id == OrderLine.order_id).where(*paid_in(period))
    )
    return SalesSummary(int(orders or 0), money(revenue), int(items or 0))


def taken_back(conn, period: Period) -> TakenBack:
    """What came back in the period, counted when it happened (not when the order was placed):
    the units of orders cancelled, and the units and money refunded (Admin -> Orders)."""
    cancelled = conn.scalar(
        select(func.sum(OrderLine.quantity)).join(OrderChange, OrderChange.order_id == OrderLine.order_id)
        .where(OrderChange.action == ACTION_CANCEL, in_period(OrderChange.changed_at, period))
    )
    returned, refunded = conn.execute(
        select(func.sum(OrderRefund.quantity), func.sum(OrderRefund.amount))
        .where(in_period(OrderRefund.created_at, period))
    ).one()
    return TakenBack(int(cancelled or 0), int(returned or 0), money(refunded))


def _department_names(conn) -> dict[int, tuple[str, str]]:
    """category id -> (its name, its department's name), walking up the tree in Python: the
    category table is tiny (dozens of rows) while the revenue query below is the real work."""
    nodes = {row.id: row for row in conn.execute(select(Category.id, Category.name, Category.parent_id))}
    named = {}
    for node_id, node in nodes.items():
        root, seen = node, {node_id}
        while root.parent_id is not None and root.parent_id in nodes and root.parent_id not in seen:
            seen.add(root.parent_id)
            root = nodes[root.parent_id]
        named[node_id] = (node.name, root.name)
    return named


def revenue_by_category(conn, period: Period) -> list[CategoryRevenue]:
    """Line revenue and units per product category (the leaf a product sits in), best first."""
    rows = conn.execute(
        select(Product.category_id, _line_revenue(), func.sum(OrderLine.quantity))
        .select_from(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*paid_in(period))
        .group_by(Product.category_id)
    ).all()
    names = _department_names(conn)
    result = [
        CategoryRevenue(int(cid), *names.get(cid, (f"Category {cid}", f"Category {cid}")), money(revenue), int(items))
        for cid, revenue, items in rows
    ]
    return sorted(result, key=lambda r: (-r.revenue, r.name))


def revenue_by_department(categories: list[CategoryRevenue]) -> list[dict]:
    """Departments (roots of the category tree) summed from the per-category rows."""
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    items: dict[str, int] = defaultdict(int)
    for row in categories:
        revenue[row.department] += row.revenue
        items[row.department] += row.items
    return [{"department": name, "revenue": revenue[name], "items": items[name]}
            for name in sorted(revenue, key=lambda n: (-revenue[n], n))]


def _orders_by(conn, period: Period, part) -> dict[int, tuple[int, Decimal]]:
    """Paid orders and revenue grouped by a date part (weekday or hour) of ``created_at``."""
    key = part(Order.created_at).label("part")
    rows = conn.execute(
        select(key, func.count(), func.sum(Order.total)).where(*paid_in(period)).group_by(key)
    )
    return {int(k): (int(n), money(r)) for k, n, r in rows}


def orders_by_weekday(conn, period: Period) -> list[dict]:
    """Orders and revenue per weekday (UTC), Monday first, every day present."""
    found = _orders_by(conn, period, weekday_of)
    # SQL numbers Monday 1 ... Saturday 6 and Sunday 0, hence (i + 1) % 7.
    return [{"weekday": name, "orders": found.get((i + 1) % 7, (0, ZERO))[0],
             "revenue": found.get((i + 1) % 7, (0, ZERO))[1]} for i, name in enumerate(WEEKDAYS)]


def orders_by_hour(conn, period: Period) -> list[dict]:
    """Orders and revenue per hour of the day (UTC), 0-23, every hour present."""
    found = _orders_by(conn, period, hour_of)
    return [{"hour": h, "orders": found.get(h, (0, ZERO))[0], "revenue": found.get(h, (0, ZERO))[1]}
            for h in range(24)]


def top_bought(conn, period: Period, limit: int = TOP_N) -> list[ProductSales]:
    """The ``limit`` products with most units sold (revenue, then id break ties)."""
    units, revenue = func.sum(OrderLine.quantity), _line_revenue()
    rows = conn.execute(
        select(OrderLine.product_id, Product.name, units, revenue)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(*paid_in(period))
        .group_by(OrderLine.product_id, Product.name)
        .order_by(units.desc(), revenue.desc(), OrderLine.product_id)
        .limit(limit)
    ).all()
    return [ProductSales(int(pid), name, int(u), money(r)) for pid, name, u, r in rows]


def new_vs_returning(conn, period: Period) -> list[dict]:
    """Customers who ordered in the period, split by when they first ordered: *new* if their
    first paid order ever is in the period, *returning* if it was before. Guest orders (no
    customer) are a third row with their orders and revenue (and no customers to count).

    The group is a column of an inner query so the outer GROUP BY names a plain column."""
    first = (
        select(Order.customer_id.label("customer_id"), func.min(Order.created_at).label("first_at"))
        .where(Order.status.in_(SALE_STATUSES), Order.customer_id.is_not(None), Order.created_at < period.end_before)
        .group_by(Order.customer_id)
        .subquery()
    )
    kind = case(
        (Order.customer_id.is_(None), "guest"),
        (first.c.first_at >= period.start_at, "new"),
        else_="returning",
    )
    orders = (
        select(kind.label("kind"), Order.customer_id.label("customer_id"), Order.total.label("total"))
        .outerjoin(first, first.c.customer_id == Order.customer_id)
        .where(*paid_in(period))
        .subquery()
    )
    rows = conn.execute(
        select(orders.c.kind, func.count(func.distinct(orders.c.customer_id)), func.count(), func.sum(orders.c.total))
        .group_by(orders.c.kind)
    ).all()
    found = {k: (int(c), int(n), money(r)) for k, c, n, r in rows}
    labels = {"new": "New customers", "returning": "Returning customers", "guest": "Guest orders"}
    return [
        {"group": labels[k], "customers": found.get(k, (0, 0, ZERO))[0], "orders": found.get(k, (0, 0, ZERO))[1],
         "revenue": found.get(k, (0, 0, ZERO))[2]}
        for k in ("new", "returning", "guest")
    ]

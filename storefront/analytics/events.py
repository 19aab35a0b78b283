"""Behaviour aggregates over the events table: one query per question, all of it in SQL.

The events table is the big one (a million rows and more), so every function reads ranges of a
covering index (see the migration ``5dbcce0ebc3c``) and returns at most a few hundred rows;
nothing loads events into Python. Every function takes ``conn`` (a Session or a Connection:
anything with ``execute``) and a :class:`Period`.

Definitions (the dashboard's help text repeats them):

- a *visitor* is a ``visitor_id`` with at least one event in the period (any type but the
  ``cancel`` and ``return`` events Admin -> Orders writes for a shopper: ``BACK_OFFICE_TYPES``,
  the back office acting, not the shopper visiting);
- the *funnel* is strict: viewed a product; viewed and added to cart; viewed, added to cart
  and bought (a ``transaction`` event), all within the period, in any order inside it;
- *conversion* is visitors who bought / visitors;
- *cart abandonment* is the share of visitors who added something to the cart in the period
  and bought nothing in it (per visitor, not per session: a shopper who fills the cart on the
  phone and pays on the laptop the next day is one visitor who did not abandon);
- *actions per visitor* counts all of a visitor's events in the period, in power-of-two buckets.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, and_, case, column, func, literal_column, select, true, values

from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Event, Product
from storefront.models.order_history import BACK_OFFICE_DEVICE, CANCEL, RETURN
from storefront.analytics.period import Period

# (label, highest count in the bucket; None = no limit): a long tail reads best in doubling buckets.
ACTION_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("1", 1), ("2", 2), ("3-4", 4), ("5-8", 8), ("9-16", 16), ("17-32", 32), ("33+", None),
)
TOP_N = 10
#: Events the admin writes for a shopper (ix_events_time_visitor covers ``type``: filtering on it
#: reads no table rows).
BACK_OFFICE_TYPES = (CANCEL, RETURN)


def in_period(column, period: Period):
    """``start <= column < day after end``: the one place the half-open interval is written."""
    return and_(column >= period.start_at, column < period.end_before)


@dataclass(frozen=True)
class VisitorTotals:
    """What the visitor KPIs need: visitors, and those who carted, bought, carted but not bought."""

    visitors: int
    carted: int
    bought: int
    carted_not_bought: int


@dataclass(frozen=True)
class VisitorSummary:
    """Visitor-level counts for one period (the KPIs, the funnel and the activity histogram)."""

    visitors: int
    viewed: int
    viewed_carted: int
    viewed_carted_bought: int
    carted: int
    bought: int
    carted_not_bought: int
    buckets: dict[str, int]  # ACTION_BUCKETS label -> visitors

    @property
    def totals(self) -> VisitorTotals:
        return VisitorTotals(self.visitors, self.carted, self.bought, self.carted_not_bought)


@dataclass(frozen=True)
class TrafficRow:
    day: str  # YYYY-MM-DD
    type: str
    device: str
    events: int


@dataclass(frozen=True)
class ProductCount:
    product_id: int
    name: str
    count: int


def _flag(event_type: str):
    return func.max(case((Event.type == event_type, 1), else_=0))


def _by_visitor():
    """``visitor_id + 0``: grouping by an expression keeps SQLite, once ANALYZE statistics
    exist, from choosing a skip-scan of ``ix_events_visitor_time`` for its visitor order; that
    index does not cover ``type`` and the plan measured 2.5-8x slower (a table row per event)."""
    return Event.visitor_id + literal_column("0")


def _bucket_of(count):
    whens = [(count <= high, label) for label, high in ACTION_BUCKETS if high is not None]
    return case(*whens, else_=ACTION_BUCKETS[-1][0])


def visitor_summary(conn, period: Period) -> VisitorSummary:
    """One pass grouped by visitor, then by activity bucket: a visitor's flags (viewed, carted,
    bought) and event count are computed once and summed per bucket (at most seven rows back).
    The pass reads the period's range of ``ix_events_time_visitor`` (no table rows); grouping by
    visitor is the one sort left, ~80 ms per 200k events on SQLite, a hash on PostgreSQL.
    The bucket is a column of the inner query, so the outer GROUP BY names a plain column (no
    bound parameters repeated between SELECT and GROUP BY, which PostgreSQL would refuse)."""
    per_visitor = (
        select(
            _bucket_of(func.count()).label("bucket"),
            _flag(VIEW).label("viewed"),
            _flag(ADD_TO_CART).label("carted"),
            _flag(TRANSACTION).label("bought"),
        )
        .where(in_period(Event.occurred_at, period), Event.type.not_in(BACK_OFFICE_TYPES))
        .group_by(_by_visitor())
        .subquery()
    )
    v = per_visitor.c
    rows = conn.execute(
        select(
            v.bucket,
            func.count(),
            func.sum(v.viewed),
            func.sum(v.viewed * v.carted),
            func.sum(v.viewed * v.carted * v.bought),
            func.sum(v.carted),
            func.sum(v.bought),
            func.sum(v.carted * (1 - v.bought)),
        ).group_by(v.bucket)
    ).all()
    totals = [sum(int(row[i] or 0) for row in rows) for i in range(1, 8)]
    buckets = {label: 0 for label, _ in ACTION_BUCKETS}
    buckets.update({row[0]: int(row[1]) for row in rows})
    return VisitorSummary(*totals, buckets=buckets)


def visitor_totals(conn, period: Period) -> VisitorTotals:
    """The KPI subset of :func:`visitor_summary`, cheaper, for the comparison period: distinct
    visitors with ``COUNT(DISTINCT)`` (a set of visitors, not a sort of every event: ~35 ms
    instead of ~80 on 200k events), and the cart and purchase flags from the few thousand
    add-to-cart and transaction events only."""
    visitors = conn.scalar(
        select(func.count(func.distinct(Event.visitor_id)))
        .where(in_period(Event.occurred_at, period), Event.type.not_in(BACK_OFFICE_TYPES))
    )
    flags = (
        select(_flag(ADD_TO_CART).label("carted"), _flag(TRANSACTION).label("bought"))
        .where(Event.type.in_((ADD_TO_CART, TRANSACTION)), in_period(Event.occurred_at, period))
        .group_by(_by_visitor())
        .subquery()
    )
    carted, bought, abandoned = conn.execute(
        select(func.sum(flags.c.carted), func.sum(flags.c.bought), func.sum(flags.c.carted * (1 - flags.c.bought)))
    ).one()
    return VisitorTotals(int(visitors or 0), int(carted or 0), int(bought or 0), int(abandoned or 0))


def event_kinds(conn) -> list[tuple[str, str]]:
    """Every distinct (type, device) pair in the events table, by a loose index scan: a seek in
    ``ix_events_type_device_time`` per pair (a dozen or so) instead of reading the table. The
    next pair is the next device of the same type, else the first device of the next type
    (two plain range seeks; a row-value ``(type, device) > (?, ?)`` made SQLite walk a type's
    entries)."""
    first = select(Event.type, Event.device).order_by(Event.type, Event.device).limit(1)
    pairs: list[tuple[str, str]] = []
    row = conn.execute(first).first()
    while row is not None:
        pairs.append((row[0], row[1]))
        row = (conn.execute(first.where(Event.type == row[0], Event.device > row[1])).first()
               or conn.execute(first.where(Event.type > row[0])).first())
    return pairs


def traffic(conn, period: Period) -> list[TrafficRow]:
    """Events per day, type and device (the daily chart and the device split both sum it).

    One correlated COUNT per (day, type, device) cell, each a range of
    ``ix_events_type_device_time``, rather than ``GROUP BY day, type, device``: without hash
    aggregation (SQLite) the GROUP BY sorts the period's ~200k rows and took ~130 ms on a million
    events, the counts take ~20 ms; PostgreSQL gains too (no per-row date arithmetic). Cells
    without events are dropped.
    """
    kinds_found = event_kinds(conn)
    if not kinds_found:
        return []
    starts = [period.start_at + timedelta(days=i) for i in range(period.days)]
    days = values(column("day_start", DateTime), column("day_end", DateTime), name="days").data(
        [(start, start + timedelta(days=1)) for start in starts]
    ).cte("days")  # CTEs, because SQLite does not take "(VALUES ...) AS days (a, b)"
    kinds = values(column("kind_type", String), column("kind_device", String), name="kinds").data(
        kinds_found
    ).cte("kinds")
    count = (
        select(func.count())
        .where(Event.type == kinds.c.kind_type, Event.device == kinds.c.kind_device,
               Event.occurred_at >= days.c.day_start, Event.occurred_at < days.c.day_end)
        .correlate(days, kinds)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(days.c.day_start, kinds.c.kind_type, kinds.c.kind_device, count).select_from(days.join(kinds, true()))
    ).all()
    return [TrafficRow(_day(day), type_, device, int(n)) for day, type_, device, n in rows if n]


def _day(value) -> str:
    """``YYYY-MM-DD`` of a day start as the driver returns it (datetime, or text on SQLite)."""
    return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10]


def events_per_day(rows: list[TrafficRow], period: Period) -> tuple[list[str], dict[str, list[int]]]:
    """Days of the period (all of them, quiet ones as zeros) and one count series per type."""
    days = [d.isoformat() for d in period.dates()]
    index = {day: i for i, day in enumerate(days)}
    series: dict[str, list[int]] = {}
    for row in rows:
        counts = series.setdefault(row.type, [0] * len(days))
        if row.day in index:
            counts[index[row.day]] += row.events
    ordered = [VIEW, ADD_TO_CART, TRANSACTION]
    keys = [t for t in ordered if t in series] + sorted(t for t in series if t not in ordered)
    return days, {t: series[t] for t in keys}


def device_split(rows: list[TrafficRow]) -> list[dict[str, int | str]]:
    """Per device: events, views, add-to-carts and purchased lines, most events first."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"events": 0, VIEW: 0, ADD_TO_CART: 0, TRANSACTION: 0})
    for row in rows:
        if row.device == BACK_OFFICE_DEVICE:
            continue  # cancellations and returns the admin recorded: no shopper's device
        entry = totals[row.device]
        entry["events"] += row.events
        if row.type in entry:
            entry[row.type] += row.events
    return [
        {"device": device, "events": c["events"], "views": c[VIEW], "add_to_carts": c[ADD_TO_CART],
         "purchases": c[TRANSACTION]}
        for device, c in sorted(totals.items(), key=lambda item: (-item[1]["events"], item[0]))
    ]


def top_products(conn, period: Period, event_type: str, limit: int = TOP_N) -> list[ProductCount]:
    """The ``limit`` products with most events of ``event_type`` in the period (ties: lower id).

    Written as one correlated count per product rather than ``GROUP BY product_id``: each count
    is a range of ``ix_events_product_type_time`` (product, type, time), so the database walks
    the period's entries already grouped by product instead of sorting ~200k rows per request
    (SQLite has no hash aggregation). It costs one index probe per product, which stays cheap
    for a catalogue of thousands of products.
    """
    count = (
        select(func.count())
        .where(Event.product_id == Product.id, Event.type == event_type, in_period(Event.occurred_at, period))
        .correlate(Product)
        .scalar_subquery()
        .label("n")
    )
    ranked = select(Product.id, Product.name, count).subquery()
    rows = conn.execute(
        select(ranked.c.id, ranked.c.name, ranked.c.n).order_by(ranked.c.n.desc(), ranked.c.id).limit(limit)
    ).all()
    # Products without events are dropped here, not by "WHERE n > 0": SQLite would evaluate the
    # correlated count a second time for every product.
    return [ProductCount(int(pid), name, int(n)) for pid, name, n in rows if n]

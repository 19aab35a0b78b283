"""The admin dashboard: KPIs with their previous-period deltas and every chart, for one period.

This is the facade the views call. It runs the aggregates (SQL in :mod:`analytics_events` and
:mod:`analytics_sales`, run and timed by :mod:`analytics_runner`), turns their rows into tables
(:mod:`analytics_charts`) and keeps the result briefly.

Why a cache: on a million events the page takes ~215 ms cold on SQLite and ~140 ms on
PostgreSQL (BENCHMARKS.md, "Admin dashboard on a million events"), most of it reading the
period's events, and under 12 ms from the cache. Admins
click through charts and CSV downloads of the same period, so each worker keeps a finished
dashboard per period for ``DASHBOARD_CACHE_SECONDS`` (default 60; 0 switches the cache off)
and the page says when its figures were computed. The cache lives on the app
(``app.extensions``), so each app, and each test, has its own.

Settings (app config, optional): ``DASHBOARD_CACHE_SECONDS``; ``DASHBOARD_QUERY_THREADS``
(default 4; how many event aggregates run side by side on PostgreSQL, 1 = one after another).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.models import ADD_TO_CART, VIEW, Event
from storefront.analytics import charts
from storefront.analytics import events
from storefront.analytics import sales
from storefront.analytics import runner
from storefront.analytics import searches
from storefront.analytics import segments
from storefront.analytics.period import Period, PeriodError, default_period, parse_period
from storefront.analytics.tables import COUNT, MONEY, RATE, TEXT, Column, Table, rate

__all__ = ["Dashboard", "Kpi", "Period", "PeriodError", "dashboard", "page_payload", "resolve_period"]

DEFAULT_CACHE_SECONDS = 60
DEFAULT_THREADS = 4  # see analytics_runner: the event scans run side by side
CACHE_ENTRIES = 16


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    kind: str  # count | money | rate
    value: Decimal | int | float | None
    previous: Decimal | int | float | None
    higher_is_better: bool = True
    help: str = ""

    @property
    def change(self) -> float | None:
        """Relative change for amounts (+0.25 = 25 % more); for rates the difference in
        percentage points as a fraction (+0.02 = 2 pp), since 2 % -> 3 % is not "+50 %"."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == RATE:
            return float(self.value) - float(self.previous)
        return float(self.value - self.previous) / float(self.previous) if self.previous else None

    @property
    def trend(self) -> str:
        """good / bad / flat, for colouring the delta."""
        change = self.change
        if not change:
            return "flat"
        return "good" if (change > 0) == self.higher_is_better else "bad"


@dataclass(frozen=True)
class Dashboard:
    period: Period
    previous: Period
    kpis: list[Kpi]
    tables: dict[str, Table]  # CHART_KEYS order
    timings_ms: dict[str, float]  # per aggregate, as measured in its thread
    elapsed_ms: float  # wall-clock time of all the aggregates together
    computed_at: datetime

    def kpi_table(self) -> Table:
        return Table(
            "kpis", "Key figures",
            (Column("kpi", "Figure", TEXT), Column("value", "This period", COUNT),
             Column("previous", "Previous period", COUNT), Column("change", "Change", RATE)),
            [(k.label, k.value, k.previous, k.change) for k in self.kpis],
        )

    def table(self, key: str) -> Table | None:
        return self.kpi_table() if key == "kpis" else self.tables.get(key)


def newest_event_time() -> datetime | None:
    """When the newest event happened: the default period ends on that day (index lookup)."""
    return db.session.scalar(select(func.max(Event.occurred_at)))


def resolve_period(start: str | None, end: str | None) -> Period:
    """The period asked for by the query string, defaults filled in; PeriodError if unusable."""
    today = datetime.now(UTC).date()
    return parse_period(start, end, default_period(newest_event_time(), today))


def _kpis(cur: sales.SalesSummary, prev: sales.SalesSummary,
          vis: events.VisitorTotals, pvis: events.VisitorTotals,
          back: sales.TakenBack, pback: sales.TakenBack,
          found: searches.SearchTotals, pfound: searches.SearchTotals) -> list[Kpi]:
    def aov(s: sales.SalesSummary) -> Decimal | None:
        return sales.money(s.revenue / s.orders) if s.orders else None

    return [
        Kpi("revenue", "Revenue", MONEY, cur.revenue, prev.revenue,
            help="Sum of the totals of orders placed in the period, neither cancelled nor fully refunded."),
        Kpi("orders", "Orders", COUNT, cur.orders, prev.orders, help="Orders placed, neither cancelled nor fully refunded."),
        Kpi("aov", "Average order value", MONEY, aov(cur), aov(prev), help="Revenue / orders."),
        Kpi("items", "Items sold", COUNT, cur.items, prev.items,
            help="Units on the lines of orders placed in the period, neither cancelled nor fully refunded."),
        Kpi("cancelled", "Items cancelled", COUNT, back.cancelled_items, pback.cancelled_items, higher_is_better=False,
            help="Units of the orders cancelled in the period (Admin -> Orders), whenever they were placed."),
        Kpi("returned", "Items returned", COUNT, back.returned_items, pback.returned_items, higher_is_better=False,
            help="Units refunded in the period (Admin -> Orders), whenever they were ordered."),
        Kpi("refunded", "Refunded", MONEY, back.refunded, pback.refunded, higher_is_better=False,
            help="Money refunded in the period."),
        Kpi("visitors", "Unique visitors", COUNT, vis.visitors, pvis.visitors,
            help="Distinct visitors with any event in the period."),
        Kpi("conversion", "Conversion rate", RATE, rate(vis.bought, vis.visitors), rate(pvis.bought, pvis.visitors),
            help="Visitors who bought / unique visitors."),
        Kpi("abandonment", "Cart abandonment", RATE, rate(vis.carted_not_bought, vis.carted),
            rate(pvis.carted_not_bought, pvis.carted), higher_is_better=False,
            help="Visitors who added to cart but bought nothing in the period / visitors who added to cart."),
        Kpi("searches", "Searches", COUNT, found.searches, pfound.searches,
            help="New searches (a query's first results page; its next pages, filters and sorts not counted)."),
        Kpi("search_ctr", "Search click-through", RATE, found.click_through, pfound.click_through,
            help="Search results followed to their product page / searches."),
    ]


def _jobs(period: Period, previous: Period, with_segments: bool) -> list[runner.Job]:
    """Every aggregate of the page; ``heavy`` marks the ones that scan the events table."""
    jobs = [
        runner.Job("visitors", events.visitor_summary, (period,), heavy=True),
        runner.Job("visitors (previous)", events.visitor_totals, (previous,), heavy=True),
        runner.Job("events by day/type/device", events.traffic, (period,), heavy=True),
        runner.Job("top viewed", events.top_products, (period, VIEW), heavy=True),
        runner.Job("top carted", events.top_products, (period, ADD_TO_CART), heavy=True),
        runner.Job("sales", sales.sales_summary, (period,)),
        runner.Job("sales (previous)", sales.sales_summary, (previous,)),
        runner.Job("taken back", sales.taken_back, (period,)),
        runner.Job("taken back (previous)", sales.taken_back, (previous,)),
        runner.Job("revenue by category", sales.revenue_by_category, (period,)),
        runner.Job("orders by weekday", sales.orders_by_weekday, (period,)),
        runner.Job("orders by hour", sales.orders_by_hour, (period,)),
        runner.Job("top bought", sales.top_bought, (period,)),
        runner.Job("new vs returning", sales.new_vs_returning, (period,)),
        runner.Job("searches", searches.search_totals, (period,)),
        runner.Job("searches (previous)", searches.search_totals, (previous,)),
        runner.Job("top searches", searches.top_queries, (period,)),
        runner.Job("zero-result searches", searches.zero_result_queries, (period,)),
    ]
    if with_segments:
        jobs.append(runner.Job("revenue per customer", segments.revenue_per_customer, (period,)))
    return jobs


def compute(period: Period, threads: int | None = None) -> Dashboard:
    """Run every aggregate for ``period`` (and the KPIs of the previous period), uncached."""
    if threads is None:
        threads = int(current_app.config.get("DASHBOARD_QUERY_THREADS", DEFAULT_THREADS))
    previous = period.previous()
    labels = segments.active_labels()  # a stat of the model folder, the file read once per version
    run = runner.run(_jobs(period, previous, labels.labels is not None), db.session, db.engine, threads)
    got = run.values
    visitors, traffic, categories = got["visitors"], got["events by day/type/device"], got["revenue by category"]
    by_segment = None
    if labels.labels is not None:
        by_segment = segments.revenue_by_segment(got["revenue per customer"], labels.labels)

    days, series = events.events_per_day(traffic, period)
    built = [
        charts.events_per_day(days, series, today=datetime.now(UTC).date().isoformat()),
        charts.funnel(visitors),
        charts.actions_per_visitor(visitors),
        charts.revenue_by_department(sales.revenue_by_department(categories)),
        charts.revenue_by_category(categories),
        charts.orders_by_weekday(got["orders by weekday"]),
        charts.orders_by_hour(got["orders by hour"]),
        charts.devices(events.device_split(traffic)),
        charts.new_vs_returning(got["new vs returning"]),
        charts.revenue_by_segment(by_segment, labels.note, labels.version),
        charts.top_counted("top-viewed", "Top 10 viewed products", "Views", got["top viewed"]),
        charts.top_counted("top-carted", "Top 10 added to cart", "Add to cart", got["top carted"]),
        charts.top_bought(got["top bought"]),
        searches.top_searches_table(got["top searches"]),
        searches.zero_result_table(got["zero-result searches"]),
    ]
    tables = {table.key: table for table in built}
    kpis = _kpis(got["sales"], got["sales (previous)"], visitors.totals, got["visitors (previous)"],
                 got["taken back"], got["taken back (previous)"], got["searches"], got["searches (previous)"])
    return Dashboard(
        period=period, previous=previous, kpis=kpis, tables={key: tables[key] for key in charts.CHART_KEYS},
        timings_ms=run.timings_ms, elapsed_ms=run.elapsed_ms,
        computed_at=datetime.now(UTC).replace(tzinfo=None),
    )


class DashboardCache:
    """Finished dashboards per period for a few seconds (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Period, tuple[float, Dashboard]] = {}

    def get(self, period: Period, ttl: float) -> Dashboard | None:
        with self._lock:
            entry = self._entries.get(period)
            if entry and time.monotonic() - entry[0] < ttl:
                return entry[1]
            return None

    def put(self, period: Period, board: Dashboard) -> None:
        with self._lock:
            if len(self._entries) >= CACHE_ENTRIES:  # drop the oldest; a dashboard is small
                del self._entries[min(self._entries, key=lambda p: self._entries[p][0])]
            self._entries[period] = (time.monotonic(), board)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache_seconds() -> float:
    return float(current_app.config.get("DASHBOARD_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


def cache() -> DashboardCache:
    return current_app.extensions.setdefault("dashboard_cache", DashboardCache())


def dashboard(period: Period) -> Dashboard:
    """The dashboard for ``period``, from this worker's cache when it is fresh enough."""
    ttl = cache_seconds()
    store = cache()
    if ttl > 0 and (hit := store.get(period, ttl)) is not None:
        return hit
    board = compute(period)
    if ttl > 0:
        store.put(period, board)
    return board


def page_payload(board: Dashboard) -> dict:
    """What the page embeds (as JSON) for ``static/js/dashboard.js``: every chart's table."""
    return {"charts": {key: table.as_json() for key, table in board.tables.items() if table.draws_canvas}}

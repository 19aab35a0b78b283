"""The dashboard's charts as :class:`Table` objects, built from the aggregates' results.

Pure functions of already-aggregated rows (no database here): the facade
(:mod:`storefront.analytics.dashboard`) runs the queries and hands their results over. The table
keys are the CSV URLs' names and the order of :data:`CHART_KEYS` is the page's order.
"""
from __future__ import annotations

from storefront.models import ADD_TO_CART, CLICK, REMOVE_FROM_CART, TRANSACTION, VIEW
from storefront.analytics.events import ProductCount, VisitorSummary
from storefront.analytics.sales import CategoryRevenue, ProductSales
from storefront.analytics.tables import MONEY, RATE, TEXT, Chart, Column, Table, rate

CHART_KEYS = (
    "events-per-day", "funnel", "actions-per-visitor", "revenue-by-department", "revenue-by-category",
    "orders-by-weekday", "orders-by-hour", "devices", "new-vs-returning", "revenue-by-segment",
    "top-viewed", "top-carted", "top-bought", "top-searches", "zero-result-searches",
)
TYPE_LABELS = {
    VIEW: "Views", ADD_TO_CART: "Add to cart", TRANSACTION: "Purchased lines",
    REMOVE_FROM_CART: "Removed from cart", CLICK: "Recommendation clicks",
    "asset_view": "Resource views", "form_submission": "Form submissions",  # B2B gated content
    "search": "Search pages", "search_click": "Search result clicks",  # storefront.search.analytics
}


def events_per_day(days: list[str], series: dict[str, list[int]], today: str | None = None) -> Table:
    """``today``: the label of the day still going on, if the period includes it: labelled "so
    far" and drawn dashed, since its count so far would read as a plunge."""
    columns = (Column("day", "Day", TEXT), *(Column(t, TYPE_LABELS.get(t, t)) for t in series))
    partial = bool(days) and days[-1] == today
    labels = [*days[:-1], f"{days[-1]} (so far)"] if partial else days
    rows = [(day, *(series[t][i] for t in series)) for i, day in enumerate(labels)]
    small = tuple(t for t in series if t != VIEW)  # carts and purchases vanish next to views
    note = " Today so far is dashed: the day is not over." if partial else ""
    return Table("events-per-day", "Events per day by type", columns, rows,
                 Chart("line", "day", tuple(series), right=small if VIEW in series else (), partial_last=partial),
                 "Views on the left axis, the rarer actions on the right one." + note)


def funnel(summary: VisitorSummary) -> Table:
    steps = (("Viewed a product", summary.viewed), ("Added to cart", summary.viewed_carted),
             ("Bought", summary.viewed_carted_bought))
    rows = []
    for i, (label, count) in enumerate(steps):
        previous = steps[i - 1][1] if i else count
        rows.append((label, count, rate(count, previous), rate(count, steps[0][1])))
    return Table("funnel", "Funnel: view → add to cart → purchase",
                 (Column("step", "Step", TEXT), Column("visitors", "Visitors"),
                  Column("step_rate", "Of previous step", RATE), Column("overall_rate", "Of viewers", RATE)),
                 rows, Chart("hbar", "step", ("visitors",)),
                 "Visitors who did the step and every step before it, within the period.")


def actions_per_visitor(summary: VisitorSummary) -> Table:
    rows = [(label, n, rate(n, summary.visitors)) for label, n in summary.buckets.items()]
    return Table("actions-per-visitor", "Actions per visitor",
                 (Column("actions", "Events in the period", TEXT), Column("visitors", "Visitors"),
                  Column("share", "Share of visitors", RATE)),
                 rows, Chart("bar", "actions", ("visitors",)), activity_caption(summary.buckets))


def activity_caption(buckets: dict[str, int]) -> str:
    """What the chart shows, read from its numbers (a fixed sentence said "most visitors look
    once" under a chart where most visitors did a dozen things)."""
    total = sum(buckets.values())
    if not total:
        return "How many events each visitor had in the period."
    once = buckets.get("1", 0) / total
    running, median = 0, next(iter(buckets))
    for label, count in buckets.items():
        running += count
        if running * 2 >= total:
            median = label
            break
    busiest = max(buckets, key=buckets.get)
    return (f"How many events each visitor had in the period: {once:.0%} had one; half had {median} or fewer "
            f"(the most common: {busiest}).")


def revenue_by_department(rows: list[dict]) -> Table:
    total = sum(r["revenue"] for r in rows)
    return Table("revenue-by-department", "Revenue by department",
                 (Column("department", "Department", TEXT), Column("revenue", "Revenue", MONEY),
                  Column("items", "Items sold"), Column("share", "Share of revenue", RATE)),
                 [(r["department"], r["revenue"], r["items"], rate(r["revenue"], total)) for r in rows],
                 Chart("doughnut", "department", ("revenue",)))


def revenue_by_category(rows: list[CategoryRevenue]) -> Table:
    return Table("revenue-by-category", "Revenue by category",
                 (Column("category", "Category", TEXT), Column("department", "Department", TEXT),
                  Column("revenue", "Revenue", MONEY), Column("items", "Items sold")),
                 [(r.name, r.department, r.revenue, r.items) for r in rows],
                 Chart("hbar", "category", ("revenue",)))


def orders_by_weekday(rows: list[dict]) -> Table:
    return Table("orders-by-weekday", "Orders by weekday",
                 (Column("weekday", "Weekday", TEXT), Column("orders", "Orders"), Column("revenue", "Revenue", MONEY)),
                 [(r["weekday"], r["orders"], r["revenue"]) for r in rows],
                 Chart("bar", "weekday", ("orders",)), "Days in UTC.")


def orders_by_hour(rows: list[dict]) -> Table:
    return Table("orders-by-hour", "Orders by hour of day",
                 (Column("hour", "Hour (UTC)", TEXT), Column("orders", "Orders"), Column("revenue", "Revenue", MONEY)),
                 [(f"{r['hour']:02d}:00", r["orders"], r["revenue"]) for r in rows],
                 Chart("bar", "hour", ("orders",)), "Hours in UTC.")


def devices(rows: list[dict]) -> Table:
    total = sum(r["events"] for r in rows)
    return Table("devices", "Devices",
                 (Column("device", "Device", TEXT), Column("events", "Events"), Column("share", "Share", RATE),
                  Column("views", "Views"), Column("add_to_carts", "Add to cart"), Column("purchases", "Purchases")),
                 [(r["device"], r["events"], rate(r["events"], total), r["views"], r["add_to_carts"], r["purchases"])
                  for r in rows],
                 Chart("doughnut", "device", ("events",)),
                 "Events by the device they came from (purchases: purchased order lines).")


def new_vs_returning(rows: list[dict]) -> Table:
    return Table("new-vs-returning", "New vs returning customers",
                 (Column("group", "Group", TEXT), Column("customers", "Customers"), Column("orders", "Orders"),
                  Column("revenue", "Revenue", MONEY)),
                 [(r["group"], r["customers"], r["orders"], r["revenue"]) for r in rows],
                 Chart("bar", "group", ("orders",)),
                 "New: first paid order ever in this period. Returning: first order before it.")


def revenue_by_segment(rows: list[dict] | None, note: str | None, version: str | None) -> Table:
    return Table("revenue-by-segment", "Revenue by RFM segment",
                 (Column("segment", "Segment", TEXT), Column("customers", "Customers"), Column("orders", "Orders"),
                  Column("revenue", "Revenue", MONEY)),
                 [(r["segment"], r["customers"], r["orders"], r["revenue"]) for r in rows or []],
                 Chart("hbar", "segment", ("revenue",)) if rows is not None else None,
                 f"Customers' RFM segments in model version {version} (as of its training run); customers "
                 "who joined since are not yet scored." if version else "", note)


# Top-10 lists are drawn as bars inside their tables ("meter" charts): product names are too
# long for a chart axis in a third of the page, and the table is what people read anyway.
def top_counted(key: str, title: str, label: str, rows: list[ProductCount]) -> Table:
    return Table(key, title,
                 (Column("rank", "#"), Column("product", "Product", TEXT),
                  Column("product_id", "Product ID", on_page=False), Column("count", label)),
                 [(i, r.name, r.product_id, r.count) for i, r in enumerate(rows, 1)],
                 Chart("meter", "product", ("count",)))


def top_bought(rows: list[ProductSales]) -> Table:
    return Table("top-bought", "Top 10 bought products",
                 (Column("rank", "#"), Column("product", "Product", TEXT),
                  Column("product_id", "Product ID", on_page=False),
                  Column("units", "Units"), Column("revenue", "Revenue", MONEY)),
                 [(i, r.name, r.product_id, r.units, r.revenue) for i, r in enumerate(rows, 1)],
                 Chart("meter", "product", ("units",)))

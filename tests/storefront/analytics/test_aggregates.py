"""Each dashboard aggregate against the hand-made shop of ``dashboard_support`` (expected numbers
worked out by hand there), the period rules, and the SQL date parts on the connected dialect."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import literal, select

from tests.storefront.support.dashboard import PERIOD, PREVIOUS, build_shop
from ml.segments import storage as segment_storage
from storefront.extensions import db
from storefront.analytics import dashboard as analytics
from storefront.analytics import events as analytics_events
from storefront.analytics import sales as analytics_sales
from storefront.analytics import segments as analytics_segments
from storefront.analytics.period import Period, PeriodError, default_period, parse_period
from storefront.analytics.sql import hour_of, weekday_of


@pytest.fixture
def shop(app_ctx):
    return build_shop()


def test_visitor_summary(shop):
    summary = analytics_events.visitor_summary(db.session, PERIOD)
    assert summary.visitors == 6
    assert (summary.viewed, summary.viewed_carted, summary.viewed_carted_bought) == (5, 4, 3)
    assert (summary.carted, summary.bought, summary.carted_not_bought) == (4, 4, 1)
    assert summary.buckets == {"1": 2, "2": 0, "3-4": 3, "5-8": 1, "9-16": 0, "17-32": 0, "33+": 0}
    before = analytics_events.visitor_summary(db.session, PREVIOUS)
    assert (before.visitors, before.carted, before.bought, before.carted_not_bought) == (2, 2, 1, 1)


@pytest.mark.parametrize("period", [PERIOD, PREVIOUS, Period(date(2024, 3, 1), date(2024, 3, 31))])
def test_the_cheap_visitor_totals_agree_with_the_full_summary(shop, period):
    totals = analytics_events.visitor_totals(db.session, period)
    assert totals == analytics_events.visitor_summary(db.session, period).totals
    if period == PREVIOUS:
        assert totals == analytics_events.VisitorTotals(visitors=2, carted=2, bought=1, carted_not_bought=1)


def test_events_per_day_and_devices(shop):
    rows = analytics_events.traffic(db.session, PERIOD)
    days, series = analytics_events.events_per_day(rows, PERIOD)
    assert days == ["2024-03-10", "2024-03-11", "2024-03-12"]
    assert series == {"view": [4, 2, 2], "addtocart": [2, 1, 1], "transaction": [2, 1, 1], "removefromcart": [1, 0, 0]}
    assert list(series) == ["view", "addtocart", "transaction", "removefromcart"]
    assert analytics_events.device_split(rows) == [
        {"device": "desktop", "events": 8, "views": 4, "add_to_carts": 2, "purchases": 2},
        {"device": "tablet", "events": 5, "views": 3, "add_to_carts": 1, "purchases": 0},
        {"device": "mobile", "events": 4, "views": 1, "add_to_carts": 1, "purchases": 2},
    ]


def test_top_viewed_and_carted_break_ties_by_id(shop):
    p = shop.products
    viewed = analytics_events.top_products(db.session, PERIOD, "view")
    assert [(r.product_id, r.count) for r in viewed] == [(p["P1"], 3), (p["P2"], 2), (p["P3"], 2), (p["P4"], 1)]
    carted = analytics_events.top_products(db.session, PERIOD, "addtocart")
    assert [(r.product_id, r.count) for r in carted] == [(p["P1"], 1), (p["P2"], 1), (p["P3"], 1), (p["P4"], 1)]
    two = analytics_events.top_products(db.session, PERIOD, "view", limit=2)
    assert [r.name for r in two] == ["Phone One", "Phone Two"]


def test_sales_summary_counts_paid_orders_only(shop):
    assert analytics_sales.sales_summary(db.session, PERIOD) == analytics_sales.SalesSummary(4, Decimal("310.50"), 8)
    assert analytics_sales.sales_summary(db.session, PREVIOUS) == analytics_sales.SalesSummary(1, Decimal("100.00"), 1)


def test_revenue_by_category_and_department(shop):
    categories = analytics_sales.revenue_by_category(db.session, PERIOD)
    assert [(c.name, c.department, c.revenue, c.items) for c in categories] == [
        ("Phones", "Electronics", Decimal("250.00"), 3),
        ("Novels", "Books", Decimal("40.00"), 4),
        ("Books", "Books", Decimal("20.50"), 1),
    ]
    assert analytics_sales.revenue_by_department(categories) == [
        {"department": "Electronics", "revenue": Decimal("250.00"), "items": 3},
        {"department": "Books", "revenue": Decimal("60.50"), "items": 5},
    ]


def test_orders_by_weekday_and_hour(shop):
    weekdays = analytics_sales.orders_by_weekday(db.session, PERIOD)
    assert [(w["weekday"], w["orders"], w["revenue"]) for w in weekdays] == [
        ("Monday", 1, Decimal("30.00")), ("Tuesday", 2, Decimal("30.50")), ("Wednesday", 0, Decimal("0.00")),
        ("Thursday", 0, Decimal("0.00")), ("Friday", 0, Decimal("0.00")), ("Saturday", 0, Decimal("0.00")),
        ("Sunday", 1, Decimal("250.00")),
    ]
    hours = analytics_sales.orders_by_hour(db.session, PERIOD)
    assert [h["hour"] for h in hours] == list(range(24))
    assert {h["hour"]: (h["orders"], h["revenue"]) for h in hours if h["orders"]} == {
        10: (1, Decimal("250.00")), 12: (1, Decimal("30.00")), 15: (1, Decimal("20.50")), 23: (1, Decimal("10.00"))}


def test_top_bought(shop):
    p = shop.products
    rows = analytics_sales.top_bought(db.session, PERIOD)
    assert [(r.product_id, r.units, r.revenue) for r in rows] == [
        (p["P3"], 4, Decimal("40.00")), (p["P1"], 2, Decimal("200.00")),
        (p["P2"], 1, Decimal("50.00")), (p["P4"], 1, Decimal("20.50")),
    ]


def test_new_vs_returning(shop):
    assert analytics_sales.new_vs_returning(db.session, PERIOD) == [
        {"group": "New customers", "customers": 1, "orders": 2, "revenue": Decimal("40.00")},
        {"group": "Returning customers", "customers": 1, "orders": 1, "revenue": Decimal("250.00")},
        {"group": "Guest orders", "customers": 0, "orders": 1, "revenue": Decimal("20.50")},
    ]
    # In the previous period C1's first order is new.
    assert analytics_sales.new_vs_returning(db.session, PREVIOUS)[0] == {
        "group": "New customers", "customers": 1, "orders": 1, "revenue": Decimal("100.00")}


def test_kpis_and_their_changes(shop):
    board = analytics.compute(PERIOD)
    kpis = {k.key: k for k in board.kpis}
    assert (kpis["revenue"].value, kpis["revenue"].previous) == (Decimal("310.50"), Decimal("100.00"))
    assert kpis["revenue"].change == pytest.approx(2.105)
    assert (kpis["orders"].value, kpis["orders"].previous, kpis["orders"].change) == (4, 1, 3.0)
    assert (kpis["aov"].value, kpis["aov"].previous) == (Decimal("77.63"), Decimal("100.00"))  # 310.50 / 4, half up
    assert (kpis["items"].value, kpis["items"].previous) == (8, 1)
    assert (kpis["visitors"].value, kpis["visitors"].previous, kpis["visitors"].change) == (6, 2, 2.0)
    assert kpis["conversion"].value == pytest.approx(4 / 6) and kpis["conversion"].previous == 0.5
    assert kpis["conversion"].change == pytest.approx(4 / 6 - 0.5)  # percentage points, not relative
    assert (kpis["abandonment"].value, kpis["abandonment"].previous) == (0.25, 0.5)
    assert kpis["abandonment"].trend == "good"  # lower abandonment is better
    assert kpis["aov"].trend == "bad"


def test_funnel_and_activity_tables(shop):
    board = analytics.compute(PERIOD)
    assert board.tables["funnel"].rows == [
        ("Viewed a product", 5, 1.0, 1.0), ("Added to cart", 4, 0.8, 0.8), ("Bought", 3, 0.75, 0.6)]
    assert board.tables["actions-per-visitor"].rows[:4] == [
        ("1", 2, 2 / 6), ("2", 0, 0.0), ("3-4", 3, 0.5), ("5-8", 1, 1 / 6)]
    # the caption reads the chart: 2 of 6 had one event, the 3rd and 4th of 6 fall in "3-4"
    assert board.tables["actions-per-visitor"].description == (
        "How many events each visitor had in the period: 33% had one; half had 3-4 or fewer (the most common: 3-4).")
    assert list(board.tables) == list(analytics.charts.CHART_KEYS)
    assert board.tables["revenue-by-segment"].note  # no model version in this test


def test_side_by_side_and_one_by_one_give_the_same_dashboard(shop):
    """On PostgreSQL the event aggregates run in threads on their own connections."""
    together, alone = analytics.compute(PERIOD, threads=4), analytics.compute(PERIOD, threads=1)
    assert together.kpis == alone.kpis and together.tables == alone.tables


def test_an_empty_shop_gives_zeros_not_errors(app_ctx):
    board = analytics.compute(PERIOD)
    kpis = {k.key: k for k in board.kpis}
    assert kpis["revenue"].value == Decimal("0.00") and kpis["aov"].value is None
    assert kpis["conversion"].value is None and kpis["conversion"].change is None
    assert board.tables["funnel"].rows[0] == ("Viewed a product", 0, None, None)
    assert board.tables["top-viewed"].rows == []


def _publish_segments(model_dir, labels: dict[str, str], *, nested: bool = False) -> None:
    version = "20240313T000000000000Z-abcdef"
    folder = model_dir / version
    target = folder / "segments" if nested else folder
    target.mkdir(parents=True)
    with open(target / analytics_segments.ARRAYS_FILE, "wb") as handle:
        np.savez(handle, rfm_customer_ids=np.asarray(list(labels), dtype=str),
                 rfm_segment=np.asarray(list(labels.values()), dtype=str))
    files = [f"segments/{analytics_segments.ARRAYS_FILE}"] if nested else [analytics_segments.ARRAYS_FILE]
    (folder / "manifest.json").write_text(json.dumps({"extras": {"segments": files}}))
    (model_dir / "ACTIVE").write_text(version + "\n")


@pytest.mark.parametrize("nested", [False, True])
def test_revenue_by_segment_from_the_active_model_version(app, shop, nested):
    assert analytics_segments.ARRAYS_FILE == segment_storage.ARRAYS_FILE  # the format we read
    _publish_segments(Path(app.config["MODEL_DIR"]), {str(shop.customers["C1"]): "Champions"}, nested=nested)
    labels = analytics_segments.active_labels()
    assert labels.note is None and labels.labels == {shop.customers["C1"]: "Champions"}
    per_customer = analytics_segments.revenue_per_customer(db.session, PERIOD)
    assert analytics_segments.revenue_by_segment(per_customer, labels.labels) == [
        {"segment": "Champions", "customers": 1, "orders": 1, "revenue": Decimal("250.00")},
        {"segment": analytics_segments.UNSCORED, "customers": 1, "orders": 2, "revenue": Decimal("40.00")},
        {"segment": analytics_segments.GUESTS, "customers": 0, "orders": 1, "revenue": Decimal("20.50")},
    ]
    table = analytics.compute(PERIOD).tables["revenue-by-segment"]
    assert table.note is None and table.rows[0] == ("Champions", 1, 1, Decimal("250.00"))


def test_segments_missing_or_unreadable_give_a_note(app, app_ctx):
    assert "No model version is active" in analytics_segments.active_labels().note
    model_dir = Path(app.config["MODEL_DIR"])
    (model_dir / "v1").mkdir(parents=True)
    (model_dir / "ACTIVE").write_text("v1\n")
    assert "has no customer segments" in analytics_segments.active_labels().note
    (model_dir / "v1" / analytics_segments.ARRAYS_FILE).write_bytes(b"not an npz")
    assert "cannot be read" in analytics_segments.active_labels().note


# --- the period -------------------------------------------------------------------------------

def test_period_bounds_and_previous_period():
    assert PERIOD.days == 3
    assert PERIOD.start_at == datetime(2024, 3, 10) and PERIOD.end_before == datetime(2024, 3, 13)
    assert PERIOD.previous() == PREVIOUS
    assert Period(date(2024, 3, 1), date(2024, 3, 1)).previous() == Period(date(2024, 2, 29), date(2024, 2, 29))


def test_boundaries_one_second_before_midnight_in_and_midnight_out(shop):
    """V3 viewed at 12 Mar 23:59:59 (in) and 13 Mar 00:00:00 (out); O5 at 23:59:59 is in, O6 at
    00:00 out. A period of the 13th alone holds exactly the two midnight rows."""
    day = Period(date(2024, 3, 13), date(2024, 3, 13))
    assert analytics_events.visitor_summary(db.session, day).visitors == 1
    assert analytics_sales.sales_summary(db.session, day) == analytics_sales.SalesSummary(1, Decimal("100.00"), 1)
    last_day = Period(date(2024, 3, 12), date(2024, 3, 12))
    assert analytics_sales.sales_summary(db.session, last_day).orders == 2  # O4 and O5 (23:59:59)
    assert analytics_events.visitor_summary(db.session, last_day).visitors == 2  # V3 and V5


def test_default_period_ends_on_the_newest_event():
    assert default_period(datetime(2024, 3, 13, 0, 0), date(2030, 1, 1)) == Period(date(2024, 2, 13), date(2024, 3, 13))
    assert default_period(None, date(2030, 1, 30)) == Period(date(2030, 1, 1), date(2030, 1, 30))


def test_parse_period_fills_in_and_refuses_with_a_reason():
    fallback = Period(date(2024, 2, 13), date(2024, 3, 13))
    assert parse_period(None, None, fallback) == fallback
    assert parse_period("2024-03-10", "2024-03-12", fallback) == PERIOD
    assert parse_period("", "2024-03-12", fallback) == Period(date(2024, 2, 12), date(2024, 3, 12))
    assert parse_period("2024-03-01", "", fallback) == Period(date(2024, 3, 1), date(2024, 3, 13))
    for start, end, message in [
        ("2024-02-30", "", "is not a date"),
        ("yesterday", "", "is not a date"),
        ("", "12/03/2024", "is not a date"),
        ("2024-03-12", "2024-03-10", "is after the end date"),
        ("2020-01-01", "2024-03-10", "choose at most"),
        ("1999-12-31", "2000-01-02", "between"),
        ("2000-01-01", "2000-01-02", "comparison period would start before"),
    ]:
        with pytest.raises(PeriodError, match=message):
            parse_period(start, end, fallback)


def test_date_parts_on_this_dialect(app_ctx):
    moment = literal(datetime(2024, 3, 10, 23, 59, 59), db.DateTime)  # a Sunday
    assert tuple(db.session.execute(select(hour_of(moment), weekday_of(moment))).one()) == (23, 0)
    monday = literal(datetime(2024, 3, 11, 0, 0), db.DateTime)
    assert tuple(db.session.execute(select(hour_of(monday), weekday_of(monday))).one()) == (0, 1)


def test_today_so_far_is_marked_partial_not_drawn_as_a_drop():
    from storefront.analytics.charts import events_per_day

    days = ["2026-12-05", "2026-12-06", "2026-12-07"]
    today = events_per_day(days, {"view": [900, 950, 120]}, today="2026-12-07")
    assert [row[0] for row in today.rows] == ["2026-12-05", "2026-12-06", "2026-12-07 (so far)"]
    assert today.as_json()["chart"]["partial_last"] and "Today so far is dashed" in today.description
    past = events_per_day(days, {"view": [900, 950, 980]}, today="2026-12-09")
    assert past.rows[-1][0] == "2026-12-07" and not past.as_json()["chart"]["partial_last"]

"""The dashboard and what Admin -> Orders takes back: shipped and delivered orders still count as
sales, cancelled and fully refunded ones do not; items cancelled, items returned and money
refunded are counted in the period they happened; the back office's events count no visitor."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from storefront.analytics import dashboard as analytics
from storefront.analytics import events as analytics_events
from storefront.analytics import sales
from storefront.analytics.period import Period
from storefront.extensions import db
from storefront.models import Order
from storefront.models.common import utcnow
from storefront.orders import management
from tests.storefront.support.orders import line_ids, place_order
from tests.storefront.support.shop import ctx, new_product


def _act(app, order_id: int, action: str, quantities=None) -> None:
    with ctx(app) as session:
        order = session.get(Order, order_id)
        if action == "refund":
            management.refund(order, quantities, True, "boss@example.com")
        else:
            management.change_status(order, action, "boss@example.com")
        session.commit()


def test_the_dashboard_counts_what_was_taken_back_when_it_happened(app):
    today = utcnow().date()
    period, long_ago = Period(today, today), utcnow() - timedelta(days=60)
    mug, pot = new_product(app, price="10.00", stock=50), new_product(app, price="30.00", stock=50)
    kept = place_order(app, {mug: 1}, status="delivered")  # 10.00, still a sale
    shipped = place_order(app, {mug: 3}, status="shipped")  # 30.00, one mug comes back
    cancelled = place_order(app, {mug: 2, pot: 1})  # 50.00, cancelled today
    old = place_order(app, {pot: 2}, status="delivered", placed_at=long_ago)  # placed long ago, refunded today
    _act(app, cancelled, "cancel")
    _act(app, shipped, "refund", {line_ids(app, shipped)[0]: 1})
    _act(app, old, "refund")
    with app.app_context():
        back = sales.taken_back(db.session, period)
        assert back == sales.TakenBack(cancelled_items=3, returned_items=3, refunded=Decimal("70.00"))
        assert sales.taken_back(db.session, period.previous()) == sales.TakenBack(0, 0, Decimal("0.00"))
        assert sales.sales_summary(db.session, period) == sales.SalesSummary(2, Decimal("40.00"), 4)
        board = analytics.compute(period)
        kpis = {kpi.key: kpi for kpi in board.kpis}
        assert (kpis["cancelled"].value, kpis["returned"].value, kpis["refunded"].value) == (3, 3, Decimal("70.00"))
        assert kpis["cancelled"].higher_is_better is False
        # the old order's visitor did nothing today: its refund (a "return" event) counts no visitor
        assert kpis["visitors"].value == 3
        traffic = analytics_events.traffic(db.session, period)
        assert {(row.type, row.device) for row in traffic if row.device == "admin"} == {("cancel", "admin"),
                                                                                       ("return", "admin")}
        assert "admin" not in {row["device"] for row in analytics_events.device_split(traffic)}  # no shopper's device
    assert kept


def test_the_dashboard_page_shows_the_taken_back_figures(app, admin_client):
    product = new_product(app, stock=5)
    _act(app, place_order(app, {product: 2}), "cancel")
    page = admin_client.get("/admin/dashboard").get_data(as_text=True)
    assert "Items cancelled" in page and "Items returned" in page and "Refunded" in page

"""storefront.orders.management: the status flow (allowed and refused, nothing changed on a
refusal), cancel restocks, refunds in full or per line and unit (amounts to the cent, discounts
shared by the lines), and the cancel/return events training reads as negative feedback."""
from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.extensions import db
from storefront.models import Order
from storefront.models.order_history import (
    CANCEL, RETURN, STATUS_CANCELLED, STATUS_DELIVERED, STATUS_REFUNDED, STATUS_SHIPPED,
)
from storefront.orders import management
from tests.storefront.support.orders import events_of, line_ids, order_state, place_order
from tests.storefront.support.shop import ctx, new_customer, new_product, product_stock

ALLOWED = {
    "paid": {"ship", "cancel"},
    "shipped": {"deliver", "refund"},
    "delivered": {"refund"},
    "cancelled": set(),
    "refunded": set(),
}


def _act(app, order_id: int, action: str, **refund):
    """Run one action as the view would (commit on success, roll back on refusal)."""
    with ctx(app) as session:
        order = session.get(Order, order_id)
        try:
            if action == "refund":
                change = management.refund(order, refund.get("quantities"), refund.get("restock", True), "boss@x")
            else:
                change = management.change_status(order, action, "boss@x")
        except management.OrderActionError:
            session.rollback()
            raise
        session.commit()
        return change.to_status, change.amount


@pytest.mark.parametrize("status", list(ALLOWED))
@pytest.mark.parametrize("action", ["ship", "deliver", "cancel", "refund"])
def test_each_status_allows_only_its_next_steps_and_a_refusal_changes_nothing(app, status, action):
    product = new_product(app, stock=5)
    order_id = place_order(app, {product: 2}, status=status)
    with ctx(app) as session:
        assert set(management.available_actions(session.get(Order, order_id))) == ALLOWED[status]
    if action in ALLOWED[status]:
        _act(app, order_id, action)
        assert order_state(app, order_id)[0] != status or action == "refund"
        return
    with pytest.raises(management.OrderActionError) as refused:
        _act(app, order_id, action)
    assert "REF" in str(refused.value)  # the message names the order
    assert order_state(app, order_id) == (status, [], []) and product_stock(app, product) == 3
    assert events_of(app, CANCEL) == [] and events_of(app, RETURN) == []


def test_the_refusals_say_what_to_do_instead(app):
    product = new_product(app, stock=5)
    delivered = place_order(app, {product: 1}, status=STATUS_DELIVERED)
    with pytest.raises(management.OrderActionError, match="can no longer be cancelled; refund its items instead"):
        _act(app, delivered, "cancel")
    paid = place_order(app, {product: 1})
    with pytest.raises(management.OrderActionError, match="has not shipped: cancel it instead"):
        _act(app, paid, "refund")
    with pytest.raises(management.OrderActionError, match="only a shipped order can be marked delivered"):
        _act(app, paid, "deliver")


def test_paid_shipped_delivered_is_logged_with_who_and_when(app):
    product = new_product(app, stock=5)
    order_id = place_order(app, {product: 1})
    assert _act(app, order_id, "ship") == (STATUS_SHIPPED, None)
    assert _act(app, order_id, "deliver") == (STATUS_DELIVERED, None)
    status, changes, _ = order_state(app, order_id)
    assert status == STATUS_DELIVERED
    assert [(c.action, c.from_status, c.to_status, c.changed_by) for c in changes] == [
        ("ship", "paid", "shipped", "boss@x"), ("deliver", "shipped", "delivered", "boss@x")]
    assert all(c.changed_at is not None for c in changes)
    assert product_stock(app, product) == 4  # shipping moves no stock


def test_cancel_puts_every_line_back_in_stock_once_and_records_cancel_events(app):
    customer_id, _ = new_customer(app)
    mug, cup = new_product(app, stock=5), new_product(app, stock=1)
    order_id = place_order(app, {mug: 2, cup: 1}, customer_id=customer_id)
    assert (product_stock(app, mug), product_stock(app, cup)) == (3, 0)
    assert _act(app, order_id, "cancel") == (STATUS_CANCELLED, None)
    assert (product_stock(app, mug), product_stock(app, cup)) == (5, 1)
    with ctx(app) as session:
        visitor_id = session.get(Order, order_id).visitor_id
    assert events_of(app, CANCEL) == [(visitor_id, customer_id, mug, order_id, {"quantity": 2}),
                                      (visitor_id, customer_id, cup, order_id, {"quantity": 1})]
    with pytest.raises(management.OrderActionError, match="is cancelled"):
        _act(app, order_id, "cancel")
    assert (product_stock(app, mug), product_stock(app, cup)) == (5, 1)  # not twice
    assert order_state(app, order_id)[1][0].note == "3 item(s) back in stock"


def test_refund_per_line_and_unit_then_the_rest_returns_the_total_to_the_cent(app):
    mug, cup = new_product(app, price="9.99", stock=10), new_product(app, price="25.00", stock=10)
    order_id = place_order(app, {mug: 3, cup: 1}, status=STATUS_DELIVERED)  # 29.97 + 25.00 = 54.97
    mug_line, cup_line = line_ids(app, order_id)
    assert _act(app, order_id, "refund", quantities={mug_line: 1}) == (STATUS_DELIVERED, Decimal("9.99"))
    assert product_stock(app, mug) == 8  # 10 - 3 sold + 1 back
    assert _act(app, order_id, "refund", quantities={mug_line: 1, cup_line: 1}, restock=False) == (
        STATUS_DELIVERED, Decimal("34.99"))
    assert (product_stock(app, mug), product_stock(app, cup)) == (8, 9)  # not restocked
    with pytest.raises(management.OrderActionError, match="1 of 3 unit"):
        _act(app, order_id, "refund", quantities={mug_line: 2})
    assert _act(app, order_id, "refund", quantities=None) == (STATUS_REFUNDED, Decimal("9.99"))
    status, changes, refunds = order_state(app, order_id)
    assert sum(r.amount for r in refunds) == Decimal("54.97") and sum(r.quantity for r in refunds) == 4
    assert [c.amount for c in changes] == [Decimal("9.99"), Decimal("34.99"), Decimal("9.99")]
    assert changes[-1].to_status == STATUS_REFUNDED and "1 × " in changes[-1].note
    assert [(e[2], e[4]["quantity"]) for e in events_of(app, RETURN)] == [(mug, 1), (mug, 1), (cup, 1), (mug, 1)]
    with pytest.raises(management.OrderActionError, match="fully refunded"):
        _act(app, order_id, "refund", quantities=None)


def test_a_discounted_order_refunds_each_line_its_share_of_what_was_paid(app):
    mug, cup = new_product(app, price="60.00", stock=10), new_product(app, price="40.00", stock=10)
    order_id = place_order(app, {mug: 3, cup: 1}, total="198.00", status=STATUS_SHIPPED)  # 220 less 22
    mug_line, cup_line = line_ids(app, order_id)
    # mug's share: 198 * 180 / 220 = 162.00, per unit 54.00; cup's: 36.00
    assert _act(app, order_id, "refund", quantities={mug_line: 1}) == (STATUS_SHIPPED, Decimal("54.00"))
    assert _act(app, order_id, "refund", quantities={cup_line: 1}) == (STATUS_SHIPPED, Decimal("36.00"))
    assert _act(app, order_id, "refund", quantities={mug_line: 2}) == (STATUS_REFUNDED, Decimal("108.00"))


def test_line_values_share_the_total_in_cents_that_add_up():
    values = management.line_values(Decimal("10.00"), [Decimal("1"), Decimal("1"), Decimal("1")])
    assert values == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")] and sum(values) == Decimal("10.00")
    assert management.line_values(Decimal("54.97"), [Decimal("29.97"), Decimal("25.00")]) == [
        Decimal("29.97"), Decimal("25.00")]
    assert management.line_values(Decimal("0"), [Decimal("0")]) == [Decimal("0.00")]


@pytest.mark.parametrize("quantities, message", [
    ("none", "Choose at least one item"),
    ("zero", "Choose at least one item"),
    ("too many", "left to refund, not 3"),
    ("negative", "left to refund, not -1"),
    ("foreign", "has no line"),
])
def test_a_refund_that_cannot_be_applied_is_refused_and_changes_nothing(app, quantities, message):
    product = new_product(app, stock=5)
    order_id = place_order(app, {product: 2}, status=STATUS_SHIPPED)
    other = place_order(app, {product: 1}, status=STATUS_SHIPPED)
    line = line_ids(app, order_id)[0]
    chosen = {"none": {}, "zero": {line: 0}, "too many": {line: 3}, "negative": {line: -1},
              "foreign": {line_ids(app, other)[0]: 1}}[quantities]
    with pytest.raises(management.OrderActionError, match=message):
        _act(app, order_id, "refund", quantities=chosen)
    assert order_state(app, order_id) == (STATUS_SHIPPED, [], []) and product_stock(app, product) == 2


def test_an_order_without_its_own_visitor_reports_under_the_customers_browser_or_not_at_all(app):
    customer_id, _ = new_customer(app)
    product = new_product(app, stock=5)
    known = place_order(app, {product: 1}, customer_id=customer_id)
    with ctx(app) as session:
        browser = session.get(Order, known).visitor_id
        session.get(Order, known).visitor_id = None
        session.commit()
    guest = place_order(app, {product: 1})
    with ctx(app) as session:
        session.get(Order, guest).visitor_id = None
        session.commit()
    _act(app, known, "cancel")
    _act(app, guest, "cancel")  # no visitor to write under: cancelled all the same
    assert events_of(app, CANCEL) == [(browser, customer_id, product, known, {"quantity": 1})]
    assert product_stock(app, product) == 5


def test_a_restock_brings_an_out_of_stock_product_back_to_the_shop(app):
    product = new_product(app, stock=1)
    order_id = place_order(app, {product: 1})
    with ctx(app) as session:
        version = session.execute(db.text("SELECT version FROM catalog_state")).scalar_one()
    _act(app, order_id, "cancel")
    with ctx(app) as session:
        assert session.execute(db.text("SELECT version FROM catalog_state")).scalar_one() > version
    assert product_stock(app, product) == 1  # in stock again: the shop's snapshot learns of it

"""What the shop owner does to an order after checkout (Admin -> Orders).

The flow: ``paid`` -> ``shipped`` -> ``delivered``; a paid order may be ``cancelled`` (its
stock comes back: nothing left the warehouse); a shipped or delivered one may be refunded, in
full or per line and unit (the items came back or were lost: the refund says whether they go
back into stock), and is ``refunded`` once nothing is left to refund. Anything else is refused
with a message (:class:`OrderActionError`), e.g. cancelling a delivered order.

Every change is an ``OrderChange`` (who, when, from -> to, amount). A cancellation writes one
``cancel`` event per line and a refund one ``return`` event per refunded line, with the order's
visitor and customer: training weighs them as negative feedback (``CANCEL_EVENT_WEIGHT``,
``RETURN_EVENT_WEIGHT``; ``ml.data.interactions``).

Two admins acting on one order at once: the order row is locked (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite has one writer at a time), so the second sees the first's outcome and cannot
cancel twice (restocking twice) or refund more than was paid. Functions flush; the view commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from sqlalchemy import func, select, update

from storefront.extensions import db
from storefront.models import STATUS_PAID, Event, Order, OrderLine, Product, Visitor
from storefront.models.common import utcnow
from storefront.models.order_history import (
    ACTION_CANCEL, ACTION_DELIVER, ACTION_REFUND, ACTION_SHIP, BACK_OFFICE_DEVICE, CANCEL, RETURN, STATUS_CANCELLED,
    STATUS_DELIVERED, STATUS_REFUNDED, STATUS_SHIPPED, OrderChange, OrderRefund,
)

CENT = Decimal("0.01")
#: action -> (the statuses it may start from, the status it leads to)
TRANSITIONS = {
    ACTION_SHIP: ((STATUS_PAID,), STATUS_SHIPPED),
    ACTION_DELIVER: ((STATUS_SHIPPED,), STATUS_DELIVERED),
    ACTION_CANCEL: ((STATUS_PAID,), STATUS_CANCELLED),
}
REFUNDABLE = (STATUS_SHIPPED, STATUS_DELIVERED)
ACTION_LABELS = {ACTION_SHIP: "Mark shipped", ACTION_DELIVER: "Mark delivered", ACTION_CANCEL: "Cancel order",
                 ACTION_REFUND: "Refund"}


class OrderActionError(ValueError):
    """The action is not possible on this order now; the message says why, for the admin."""


@dataclass(frozen=True)
class LineState:
    """An order line with what was refunded of it so far."""

    line: OrderLine
    value: Decimal  # the line's share of what the customer paid (order total, discounts included)
    refunded_quantity: int
    refunded_amount: Decimal

    @property
    def refundable_quantity(self) -> int:
        return self.line.quantity - self.refunded_quantity


def _why_not(order: Order, action: str) -> str | None:
    """Why ``action`` cannot happen to ``order`` now (None: it can)."""
    ref, status = order.reference, order.status
    if status == STATUS_CANCELLED:
        return f"Order {ref} is cancelled: nothing more can happen to it."
    if status == STATUS_REFUNDED:
        return f"Order {ref} is fully refunded: nothing more can happen to it."
    if action == ACTION_REFUND:
        if status == STATUS_PAID:
            return f"Order {ref} has not shipped: cancel it instead (its stock comes back)."
        return None
    if action not in TRANSITIONS:
        return f"“{action}” is not something an order can do."
    sources, target = TRANSITIONS[action]
    if status in sources:
        return None
    if status == target:
        return f"Order {ref} is already {status}."
    if action == ACTION_CANCEL:
        return f"Order {ref} is {status}: it can no longer be cancelled; refund its items instead."
    if action == ACTION_DELIVER:
        return f"Order {ref} is {status}: only a shipped order can be marked delivered."
    return f"Order {ref} is {status}: only a paid order can be marked shipped."


def available_actions(order: Order) -> list[str]:
    """The actions the order page offers (the service checks again on POST)."""
    return [action for action in (*TRANSITIONS, ACTION_REFUND) if _why_not(order, action) is None]


def _locked(order: Order) -> Order:
    """The order re-read under a row lock, with the values another transaction committed."""
    return db.session.scalars(
        select(Order).where(Order.id == order.id).with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def change_status(order: Order, action: str, who: str) -> OrderChange:
    """Ship, deliver or cancel ``order``; raise :class:`OrderActionError` when not allowed.
    A cancellation puts every line's units back into stock and records ``cancel`` events."""
    order = _locked(order)
    problem = _why_not(order, action) if action != ACTION_REFUND else "Refunds name their lines and amounts."
    if problem:
        raise OrderActionError(problem)
    change = OrderChange(order_id=order.id, action=action, from_status=order.status,
                         to_status=TRANSITIONS[action][1], changed_by=who)
    order.status = change.to_status
    if action == ACTION_CANCEL:
        for line in order.lines:
            _restock(line.product_id, line.quantity)
        _record_feedback(order, CANCEL, [(line, line.quantity) for line in order.lines])
        change.note = f"{order.item_count} item(s) back in stock"
    db.session.add(change)
    db.session.flush()
    return change


def line_states(order: Order) -> list[LineState]:
    """Each line with its value and what was refunded of it (one grouped query)."""
    refunded = {
        line_id: (int(quantity), Decimal(str(amount or 0)).quantize(CENT))
        for line_id, quantity, amount in db.session.execute(
            select(OrderRefund.order_line_id, func.sum(OrderRefund.quantity), func.sum(OrderRefund.amount))
            .where(OrderRefund.order_id == order.id).group_by(OrderRefund.order_line_id)
        )
    }
    values = line_values(order.total, [line.line_total for line in order.lines])
    return [LineState(line, value, *refunded.get(line.id, (0, Decimal("0.00"))))
            for line, value in zip(order.lines, values)]


def line_values(total: Decimal, line_totals: list[Decimal]) -> list[Decimal]:
    """``total`` shared among the lines in proportion to their ``unit_price * quantity``, in
    cents that add up to ``total`` exactly (largest remainders get the odd cents). Without a
    discount each value is the line total; with one (order total below the lines' sum), a
    refund gives back what the customer paid for the line, not its list price."""
    total = Decimal(total).quantize(CENT)
    subtotal = sum(line_totals, Decimal("0"))
    if not line_totals:
        return []
    if subtotal <= 0:
        return [Decimal("0.00")] * len(line_totals)
    exact = [total * amount / subtotal for amount in line_totals]
    values = [share.quantize(CENT, rounding=ROUND_DOWN) for share in exact]
    left = int((total - sum(values)) / CENT)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - values[i]), i))
    for index in by_remainder[:left]:
        values[index] += CENT
    return values


def refund(order: Order, quantities: dict[int, int] | None, restock: bool, who: str) -> OrderChange:
    """Refund units of a shipped or delivered order: ``quantities`` maps line id -> units (None:
    everything not refunded yet). Each line gives back its share of the order's total per unit;
    the units that complete a line give back exactly what is left of its value, so a full
    refund returns the order's total to the cent. ``restock``: the units go back into stock.
    Raises :class:`OrderActionError` on a refund that is not possible (nothing chosen, more
    units than are left, a line of another order, an order not shipped)."""
    order = _locked(order)
    problem = _why_not(order, ACTION_REFUND)
    if problem:
        raise OrderActionError(problem)
    states = {state.line.id: state for state in line_states(order)}
    if quantities is None:
        quantities = {line_id: state.refundable_quantity for line_id, state in states.items()}
    unknown = sorted(set(quantities) - set(states))
    if unknown:
        raise OrderActionError(f"Order {order.reference} has no line {unknown[0]}.")
    chosen = {line_id: int(units) for line_id, units in quantities.items() if units}
    for line_id, units in chosen.items():
        state = states[line_id]
        if not 0 < units <= state.refundable_quantity:
            raise OrderActionError(
                f"{state.line.product_name}: {state.refundable_quantity} of {state.line.quantity} unit(s) are "
                f"left to refund, not {units}.")
    if not chosen:
        raise OrderActionError("Choose at least one item to refund.")
    change = OrderChange(order_id=order.id, action=ACTION_REFUND, from_status=order.status,
                         to_status=order.status, changed_by=who)
    db.session.add(change)
    db.session.flush()
    total = Decimal("0.00")
    notes = []
    for line_id, units in chosen.items():
        state = states[line_id]
        if units == state.refundable_quantity:  # the last units: whatever is left of the line's value
            amount = state.value - state.refunded_amount
        else:
            amount = (state.value * units / state.line.quantity).quantize(CENT)
        total += amount
        notes.append(f"{units} × {state.line.product_name}")
        db.session.add(OrderRefund(order_id=order.id, order_line_id=line_id, change_id=change.id, quantity=units,
                                   amount=amount, restocked=restock, created_at=change.changed_at))
        if restock:
            _restock(state.line.product_id, units)
    everything = all(chosen.get(line_id, 0) == state.refundable_quantity for line_id, state in states.items())
    if everything:
        change.to_status = order.status = STATUS_REFUNDED
    change.amount = total
    change.note = "; ".join(notes) + (" (back in stock)" if restock else " (not restocked)")
    _record_feedback(order, RETURN, [(states[line_id].line, units) for line_id, units in chosen.items()])
    db.session.flush()
    return change


def refunded_total(order: Order) -> Decimal:
    amount = db.session.scalar(select(func.sum(OrderRefund.amount)).where(OrderRefund.order_id == order.id))
    return Decimal(str(amount or 0)).quantize(CENT)


def history(order: Order) -> list[OrderChange]:
    """The order's changes, oldest first (the page tells its story in order)."""
    return list(db.session.scalars(
        select(OrderChange).where(OrderChange.order_id == order.id).order_by(OrderChange.changed_at, OrderChange.id)
    ))


def _restock(product_id: int, units: int) -> None:
    """Add ``units`` to the product's stock in one UPDATE (no lost update against a checkout
    selling the same product meanwhile)."""
    db.session.execute(
        update(Product).where(Product.id == product_id).values(stock=Product.stock + units)
        .execution_options(synchronize_session=False)
    )


def _order_shopper(order: Order) -> tuple[int | None, int | None]:
    """(visitor, customer) the order's events go under, as tracking names them: the order's
    visitor, else the customer's latest browser (an order written without one, e.g. imported),
    else no event (the events table needs a visitor); the order's customer, else the one its
    visitor belongs to (a guest checkout from a browser that later logged in: tracking gave that
    browser's events to the customer, so training sees the purchase as the customer's)."""
    if order.visitor_id is None:
        if order.customer_id is None:
            return None, None
        visitor_id = db.session.scalar(select(Visitor.id).where(Visitor.customer_id == order.customer_id)
                                       .order_by(Visitor.id.desc()).limit(1))
        return visitor_id, order.customer_id
    if order.customer_id is not None:
        return order.visitor_id, order.customer_id
    return order.visitor_id, db.session.scalar(select(Visitor.customer_id).where(Visitor.id == order.visitor_id))


def _record_feedback(order: Order, kind: str, lines: list[tuple[OrderLine, int]]) -> int:
    """One ``kind`` event per line's product (with its units), under the order's visitor and
    customer, so training sees who took back what. Written here, not by ``storefront.tracking``:
    the admin acts, not the shopper, so no request context, rate limit or bot check applies."""
    visitor_id, customer_id = _order_shopper(order)
    if visitor_id is None:
        return 0
    now = utcnow()
    rows = [{"visitor_id": visitor_id, "customer_id": customer_id, "product_id": line.product_id,
             "order_id": order.id, "type": kind, "occurred_at": now, "session_id": "",
             "device": BACK_OFFICE_DEVICE, "properties": {"quantity": units}} for line, units in lines if units]
    if rows:
        db.session.execute(Event.__table__.insert(), rows)
    return len(rows)

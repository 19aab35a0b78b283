"""Admin -> Orders: the list (status, date range, reference/email) and an order's page with its
lines, customer, refunds and history, where it is shipped, delivered, cancelled or refunded (in
full or per line). Every action is a POST with CSRF; a refused one (cancelling a delivered order,
refunding more than is left) re-renders the page with the reason: 409 for a status change the
order's state forbids, 422 for a refund form that cannot be applied. Thin views over
``storefront.orders.management``; the admin blueprint's ``require_admin`` guards them."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.shop_forms import (
    ALL, OrderActionForm, OrderFilterForm, refund_lines_form, refund_quantities,
)
from storefront.extensions import db
from storefront.models import Customer, Order
from storefront.orders import listing as order_listing
from storefront.orders import management as order_admin

PER_PAGE = 50


@bp.get("/orders")
def orders():
    form = OrderFilterForm(formdata=request.args)
    form.validate()  # a field that does not validate is left out, its message shown

    def good(field):
        return field.data if not field.errors else None

    filters = order_listing.OrderFilters(
        status=good(form.status) if good(form.status) != ALL else None,
        placed_from=good(form.placed_from), placed_to=good(form.placed_to), q=good(form.q) or "",
    )
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template(
        "admin/orders.html", form=form, results=order_listing.order_page(filters, page, PER_PAGE),
        counts=order_listing.status_counts(filters),
    )


def _order_page(order: Order, status: int = 200, refund_form=None, error: str | None = None):
    states = order_admin.line_states(order)
    if refund_form is None:  # shown afresh: returned items usually go back on the shelf
        refund_form = refund_lines_form([state.line.id for state in states])
        refund_form.restock.data = True
    action_form = OrderActionForm()
    action_form.restock.data = True
    customer = db.session.get(Customer, order.customer_id) if order.customer_id else None
    return render_template(
        "admin/order.html", order=order, states=states, customer=customer, history=order_admin.history(order),
        refunded=order_admin.refunded_total(order), actions=order_admin.available_actions(order),
        labels=order_admin.ACTION_LABELS, action_form=action_form, refund_form=refund_form, error=error,
    ), status


@bp.get("/orders/<id:order_id>")
def order(order_id: int):
    return _order_page(db.get_or_404(Order, order_id))


@bp.post("/orders/<id:order_id>/<any(ship, deliver, cancel):action>")
def order_status(order_id: int, action: str):
    order = db.get_or_404(Order, order_id)
    if not OrderActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    try:
        change = order_admin.change_status(order, action, current_user.email)
    except order_admin.OrderActionError as error:
        db.session.rollback()
        return _order_page(db.session.get(Order, order_id), 409, error=str(error))
    db.session.commit()
    flash(f"Order {order.reference}: {change.from_status} → {change.to_status}"
          + (f" ({change.note})." if change.note else "."), "success")
    return redirect(url_for("admin.order", order_id=order_id))


def _refunded(order: Order, change) -> str:
    return (f"Order {order.reference}: refunded {change.amount:.2f} for {change.note}"
            + (" — the order is fully refunded." if change.to_status != change.from_status else "."))


@bp.post("/orders/<id:order_id>/refund")
def order_refund_lines(order_id: int):
    order = db.get_or_404(Order, order_id)
    form = refund_lines_form([line.id for line in order.lines])
    if form.validate_on_submit():
        try:
            change = order_admin.refund(order, refund_quantities(form), bool(form.restock.data), current_user.email)
        except order_admin.OrderActionError as error:
            db.session.rollback()
            return _order_page(db.session.get(Order, order_id), 422, form, str(error))
        db.session.commit()
        flash(_refunded(order, change), "success")
        return redirect(url_for("admin.order", order_id=order_id))
    return _order_page(order, 422, form, "Check the units to refund.")


@bp.post("/orders/<id:order_id>/refund-all")
def order_refund_all(order_id: int):
    order = db.get_or_404(Order, order_id)
    form = OrderActionForm()
    if not form.validate_on_submit():
        abort(400, "The request was not valid.")
    try:
        change = order_admin.refund(order, None, bool(form.restock.data), current_user.email)
    except order_admin.OrderActionError as error:
        db.session.rollback()
        return _order_page(db.session.get(Order, order_id), 409, error=str(error))
    db.session.commit()
    flash(_refunded(order, change), "success")
    return redirect(url_for("admin.order", order_id=order_id))

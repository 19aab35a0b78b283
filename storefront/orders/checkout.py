"""Checkout: turn the cart into an order, atomically.

Stock is decremented with a conditional UPDATE (``stock >= quantity``) so two workers selling
the last item cannot both succeed; if any line fails the caller rolls the unit of work back and
nothing (order, stock, events) is kept.

The order is priced like the cart (``storefront.orders.pricing``) and keeps what it got: each
line's list price, each discount line and the shipping (``OrderAdjustment`` rows with the
campaign's label), so a later price change, campaign edit or end changes nothing about it. When
the page the shopper paid from showed another total (a campaign ended, a price moved in between),
nothing is charged and the page shows the new total to pay.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import update

from storefront.extensions import db
from storefront.models import TRANSACTION, Order, OrderLine, Product
from storefront.models.orders import DISCOUNT, SHIPPING, OrderAdjustment
from storefront.orders import cart as cart_service
from storefront.orders.pricing import Pricing
from storefront.tracking import events as tracking
from storefront.tracking import shopper_facts
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import visitor_of

# A card number that is valid by checksum but always declined, for trying the error path.
DECLINED_TEST_CARD = "4000000000000002"


CARD_FIELD = "card_number"


class CheckoutError(ValueError):
    """The order cannot be placed; the message is shown on the checkout form, under ``field``
    when it names one (a card problem goes under the card number), else atop the form."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ShippingDetails:
    name: str
    email: str
    address_line: str
    city: str
    postcode: str
    country: str


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    if len(digits) < 12 or len(digits) != len(number):
        return False
    checksum = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return checksum % 10 == 0


def charge(card_number: str, amount: Decimal) -> str:
    """The fake payment provider: accepts any checksum-valid card but the declined test card."""
    number = card_number.replace(" ", "").replace("-", "")
    if not luhn_valid(number):
        raise CheckoutError("That card number is not valid.", CARD_FIELD)
    if number == DECLINED_TEST_CARD:
        raise CheckoutError("Your card was declined. No payment was taken; try another card.", CARD_FIELD)
    if amount < 0:  # pricing never goes below zero; a bug must not refund a stranger
        raise CheckoutError("Nothing to pay for.")
    return number[-4:]  # an order made free by its promotions is placed with nothing charged


def _reserve_stock(product: Product, quantity: int) -> None:
    result = db.session.execute(
        update(Product)
        .where(Product.id == product.id, Product.active.is_(True), Product.stock >= quantity)
        .values(stock=Product.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(product)
        left = max(product.stock, 0) if product.active else 0
        raise CheckoutError(
            f"Sorry, {product.name} is out of stock." if left == 0
            else f"Only {left} of {product.name} left in stock: please update your cart."
        )


def place_order(ctx: RequestContext, details: ShippingDetails, card_number: str,
                expected_total: Decimal | None = None, now: datetime | None = None) -> Order:
    """Create the order from the current cart, priced with the promotions live at ``now``; raise
    ``CheckoutError`` with a clear message. ``expected_total``: the total the shopper was shown.

    On error the caller must roll back: stock reservations made for earlier lines are part of
    the same unit of work.
    """
    shopper_facts.forget(ctx.memo)  # the cart empties and the purchases grow
    summary = cart_service.summary(ctx, now)
    if not summary.items:
        raise CheckoutError("Your cart is empty.")
    pricing = summary.pricing
    if expected_total is not None and expected_total != pricing.total:
        raise CheckoutError(f"Your total is now ${pricing.total:,.2f} (it was ${expected_total:,.2f}: a price or "
                            "a promotion changed). Nothing was charged; check the summary and pay again.")
    for item in summary.items:
        _reserve_stock(item.product, item.quantity)
    last4 = charge(card_number, pricing.total)
    visitor = visitor_of(ctx, create=True)
    lines = {
        item.product_id: OrderLine(product_id=item.product_id, product_name=item.product.name,
                                   unit_price=pricing.line(item.product_id).unit_price, quantity=item.quantity)
        for item in summary.items
    }
    order = Order(
        reference=secrets.token_hex(6).upper(),
        customer_id=ctx.customer_id,
        visitor_id=visitor.id,
        email=details.email.lower(),
        name=details.name,
        address_line=details.address_line,
        city=details.city,
        postcode=details.postcode,
        country=details.country,
        payment_last4=last4,
        total=pricing.total,
        lines=list(lines.values()),
    )
    order.adjustments.extend(_adjustments(pricing, lines))
    db.session.add(order)
    db.session.flush()
    for item in summary.items:
        tracking.track(
            ctx,
            TRANSACTION,
            item.product,
            order_id=order.id,
            properties={"quantity": item.quantity, "price": str(item.product.price)},
        )
    cart_service.clear(summary.cart)
    return order


def _adjustments(pricing: Pricing, lines: dict[int, OrderLine]) -> list[OrderAdjustment]:
    """The order's discount lines and its shipping, as priced (labels included: they are what the
    shopper was shown, whatever becomes of the campaign)."""
    rows = [OrderAdjustment(kind=DISCOUNT, order_line=lines[d.product_id], campaign_id=d.campaign_id,
                            label=d.label[:200], amount=d.amount)
            for line in pricing.lines for d in line.discounts]
    label = "Shipping"
    if pricing.shipping_fee == 0 and pricing.free_over is not None:
        label = f"Shipping (free on orders of ${pricing.free_over:,.2f} or more)"
    rows.append(OrderAdjustment(kind=SHIPPING, label=label, amount=pricing.shipping_fee))
    if pricing.shipping_discount is not None:
        waiver = pricing.shipping_discount
        rows.append(OrderAdjustment(kind=DISCOUNT, campaign_id=waiver.campaign_id, label=waiver.label[:200],
                                    amount=waiver.amount))
    return rows

"""Checkout: turn the cart into an order, atomically.

Stock is decremented with a conditional UPDATE (``stock >= quantity``) so two workers selling
the last item cannot both succeed; if any line fails the caller rolls the unit of work back and
nothing (order, stock, events) is kept.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import update

from storefront.extensions import db
from storefront.models import TRANSACTION, Order, OrderLine, Product
from storefront.orders import cart as cart_service
from storefront.tracking import events as tracking
from storefront.tracking import shopper_facts
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import visitor_of

# A card number that is valid by checksum but always declined, for trying the error path.
DECLINED_TEST_CARD = "4000000000000002"


class CheckoutError(ValueError):
    """The order cannot be placed; the message is shown on the checkout form."""


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
        raise CheckoutError("That card number is not valid.")
    if number == DECLINED_TEST_CARD:
        raise CheckoutError("Your card was declined. No payment was taken; try another card.")
    if amount <= 0:
        raise CheckoutError("Nothing to pay for.")
    return number[-4:]


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


def place_order(ctx: RequestContext, details: ShippingDetails, card_number: str) -> Order:
    """Create the order from the current cart; raise ``CheckoutError`` with a clear message.

    On error the caller must roll back: stock reservations made for earlier lines are part of
    the same unit of work.
    """
    shopper_facts.forget(ctx.memo)  # the cart empties and the purchases grow
    summary = cart_service.summary(ctx)
    if not summary.items:
        raise CheckoutError("Your cart is empty.")
    for item in summary.items:
        _reserve_stock(item.product, item.quantity)
    last4 = charge(card_number, summary.subtotal)
    visitor = visitor_of(ctx, create=True)
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
        total=summary.subtotal,
        lines=[
            OrderLine(
                product_id=item.product_id,
                product_name=item.product.name,
                unit_price=item.product.price,
                quantity=item.quantity,
            )
            for item in summary.items
        ],
    )
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

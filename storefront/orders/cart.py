"""Carts for anonymous visitors and customers; every change is tracked as feedback.

An anonymous visitor's cart hangs off their ``Visitor`` row, a customer's off the customer, so it
follows them across devices; on login the two are merged (``merge_visitor_cart``). A summary is
priced with the live promotions (``storefront.orders.pricing``), the same way checkout charges.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from storefront.catalog import snapshot
from storefront.catalog.snapshot import ProductCard
from storefront.extensions import db
from storefront.models import ADD_TO_CART, REMOVE_FROM_CART, Cart, CartItem, Customer, Product, Visitor
from storefront.orders import promotions
from storefront.orders.pricing import Pricing
from storefront.tracking import events as tracking
from storefront.tracking import shopper_facts
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import shopper_of, visitor_of


class CartError(ValueError):
    """A cart change that cannot be made; the message is shown to the shopper."""


@dataclass(frozen=True)
class CartLine:
    """A cart line as the cart page shows it: the product's card and the quantity (what a
    ``CartItem`` with its product offers the template and the pricing, without the ORM rows)."""

    product: ProductCard
    quantity: int

    @property
    def product_id(self) -> int:
        return self.product.id

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity


@dataclass(frozen=True)
class CartSummary:
    cart: Cart | None  # None for an empty cart, and for a page summary (its lines are CartLines)
    items: list[CartItem] | list[CartLine]
    pricing: Pricing = field(default_factory=Pricing.empty)

    @classmethod
    def empty(cls) -> CartSummary:
        return cls(None, [])

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def subtotal(self) -> Decimal:
        """The items at their list prices, before any discount."""
        return sum((item.line_total for item in self.items), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """What checkout charges: the items after their discounts, plus shipping."""
        return self.pricing.total

    @property
    def product_ids(self) -> set[int]:
        return {item.product_id for item in self.items}


def _load(owner_column, owner_id: int) -> Cart | None:
    """The cart with its items and their products in one statement (a join: selectin loading
    took three on every cart page and every add)."""
    return db.session.scalars(
        select(Cart)
        .where(owner_column == owner_id)
        .options(joinedload(Cart.items).joinedload(CartItem.product))
    ).unique().one_or_none()


def current_cart(ctx: RequestContext, create: bool = False) -> Cart | None:
    """The cart of the logged-in customer, else of this browser's visitor."""
    if ctx.logged_in:
        cart = _load(Cart.customer_id, ctx.customer_id)
    else:
        visitor = visitor_of(ctx, create=create)
        if visitor is None:
            return None
        cart = _load(Cart.visitor_id, visitor.id)
    return _new_cart(ctx) if cart is None and create else cart


def _new_cart(ctx: RequestContext) -> Cart:
    """A new empty cart for the shopper (who has none: the caller just looked)."""
    cart = Cart(customer_id=ctx.customer_id) if ctx.logged_in else Cart(visitor_id=visitor_of(ctx, create=True).id)
    db.session.add(cart)
    return cart


def item_count(ctx: RequestContext) -> int:
    """How many items the cart holds (the header's badge): from the shopper's facts when this
    request already asked for them (a page with widgets), else one sum."""
    known = shopper_facts.remembered(ctx.memo)
    if known is not None:
        return known.cart_count
    if ctx.logged_in:
        owner = Cart.customer_id == ctx.customer_id
    else:
        visitor = visitor_of(ctx, create=False)
        if visitor is None:
            return 0
        owner = Cart.visitor_id == visitor.id
    total = db.session.scalar(
        select(func.coalesce(func.sum(CartItem.quantity), 0)).join(Cart, Cart.id == CartItem.cart_id).where(owner)
    )
    return int(total or 0)


def summary(ctx: RequestContext, now: datetime | None = None) -> CartSummary:
    """The cart, priced with the promotions live at ``now`` (from the catalog snapshot: no SQL)."""
    cart = current_cart(ctx, create=False)
    items = list(cart.items) if cart else []
    pricing = promotions.price_items(items, snapshot.current(ctx.memo), now) if items else Pricing.empty()
    return CartSummary(cart, items, pricing)


def page_summary(ctx: RequestContext, now: datetime | None = None) -> CartSummary:
    """The cart page's summary without a statement of its own: the lines from the shopper's
    facts (the one statement every widget of the page shares), the products from the catalog
    snapshot's cards, priced like :func:`summary`. The cards' prices are the snapshot's, as on
    every listing (at most ``CATALOG_CHECK_INTERVAL`` seconds old); checkout prices the live rows
    (:func:`summary`). Loading the cart, its items and their products through the ORM was a
    tenth of the cart page."""
    facts = shopper_facts.facts_of(shopper_of(ctx), ctx.memo)
    if not facts.cart:
        return CartSummary.empty()
    catalog = snapshot.current(ctx.memo)
    cards = catalog.cards(facts.cart)
    if len(cards) != len(facts.cart):  # a product the snapshot has no card for: the live rows
        return summary(ctx, now)
    lines = [CartLine(card, facts.cart[card.id]) for card in cards]
    return CartSummary(None, lines, promotions.price_items(lines, catalog, now))


def _check_quantity(quantity: int, product: Product) -> None:
    limit = current_app.config["MAX_CART_QUANTITY"]
    if quantity < 1 or quantity > limit:
        raise CartError(f"Quantity must be between 1 and {limit}.")
    if not product.purchasable:
        raise CartError(f"Sorry, {product.name} is out of stock.")
    if quantity > product.stock:
        raise CartError(f"Only {product.stock} of {product.name} left in stock.")


def _item(cart: Cart, product_id: int) -> CartItem | None:
    return next((item for item in cart.items if item.product_id == product_id), None)


def add(ctx: RequestContext, product: Product, quantity: int) -> CartItem:
    """Add ``quantity`` of a product (on top of what the cart holds) and log ``addtocart``."""
    shopper_facts.forget(ctx.memo)  # the page rendered next must see the new cart
    existing = current_cart(ctx, create=False)
    item = _item(existing, product.id) if existing else None
    # Validate before creating anything, so a refused add writes nothing at all.
    _check_quantity((item.quantity if item else 0) + quantity, product)
    cart = existing or _new_cart(ctx)
    if item is None:
        item = CartItem(product=product, quantity=quantity)
        cart.items.append(item)
    else:
        item.quantity += quantity
    tracking.track(ctx, ADD_TO_CART, product, properties={"quantity": quantity})
    db.session.flush()
    return item


def set_quantity(ctx: RequestContext, product_id: int, quantity: int) -> None:
    """Set a line's quantity (0 removes it); the change is logged as add or remove."""
    shopper_facts.forget(ctx.memo)  # the page rendered next must see the new cart
    cart = current_cart(ctx, create=False)
    item = _item(cart, product_id) if cart else None
    if item is None:
        raise CartError("That product is not in your cart.")
    if quantity == 0:
        remove(ctx, product_id)
        return
    if quantity > item.quantity:
        _check_quantity(quantity, item.product)
    elif quantity > current_app.config["MAX_CART_QUANTITY"]:
        raise CartError(f"Quantity must be between 1 and {current_app.config['MAX_CART_QUANTITY']}.")
    # Lowering a line is always allowed, even after the product ran short: checkout re-checks.
    delta = quantity - item.quantity
    if delta:
        kind = ADD_TO_CART if delta > 0 else REMOVE_FROM_CART
        tracking.track(ctx, kind, item.product, properties={"quantity": abs(delta)})
        item.quantity = quantity
    db.session.flush()


def remove(ctx: RequestContext, product_id: int) -> None:
    shopper_facts.forget(ctx.memo)  # the page rendered next must see the new cart
    cart = current_cart(ctx, create=False)
    item = _item(cart, product_id) if cart else None
    if item is None:
        raise CartError("That product is not in your cart.")
    tracking.track(ctx, REMOVE_FROM_CART, item.product, properties={"quantity": item.quantity})
    cart.items.remove(item)
    db.session.flush()


def merge_visitor_cart(visitor: Visitor, customer: Customer) -> None:
    """Move an anonymous cart into the customer's cart (quantities add up, capped by stock)."""
    anonymous = _load(Cart.visitor_id, visitor.id)
    if anonymous is None:
        return
    own = _load(Cart.customer_id, customer.id)
    if own is None:
        anonymous.visitor_id, anonymous.customer_id = None, customer.id
        db.session.flush()
        return
    limit = current_app.config["MAX_CART_QUANTITY"]
    for item in list(anonymous.items):
        existing = _item(own, item.product_id)
        if existing is None:
            own.items.append(CartItem(product_id=item.product_id, quantity=item.quantity))
        else:
            existing.quantity = min(existing.quantity + item.quantity, max(item.product.stock, 1), limit)
    db.session.delete(anonymous)
    db.session.flush()


def clear(cart: Cart) -> None:
    cart.items.clear()
    db.session.flush()

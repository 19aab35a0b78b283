"""What a page needs to know about its shopper, asked once per request in one statement.

Every widget of a page, the home banner and the header's cart badge want facts about the same
person: their latest interest events (the fold-in, "your categories", "Recently viewed", the
banner's interests), what is in their cart (excluded from widgets, counted in the badge), what
they bought (excluded unless re-buys are allowed) and how many orders they placed, when last
(the click model's user features). Asked separately that was three to seven statements per page; here it is one ``UNION ALL`` whose rows carry a ``kind`` column, remembered
in the request context's memo so the rest of the request reads it for free (issue 15).

The events part is shaped for the indexes: the latest ``limit`` ids of the visitor (read in order
from the (visitor_id, occurred_at) index) and, separately, of the customer (customer_id index),
then product, category and brand for just those rows. A plain ``visitor OR customer`` filter
would join and sort a loyal customer's whole history on every page (2x slower at 1,500 events).

The cart is the one the cart service uses: a logged-in customer's cart is the customer's, an
anonymous browser's is the visitor's. Services that change the cart call :func:`forget` so a
page rendered later in the same request sees the change.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import DateTime, Integer, String, bindparam, cast, func, literal, null, or_, select, union_all

from storefront.extensions import db
from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Cart, CartItem, Event, Order, OrderLine, Product
from storefront.tracking.visitors import Shopper

# Events that say "interested in this product" (clicks and removals would only use up slots).
INTEREST_EVENTS = (VIEW, ADD_TO_CART, TRANSACTION)
MEMO_KEY = "shopper_facts"
_EVENT, _CART, _BOUGHT, _ORDERS = "event", "cart", "bought", "orders"


@dataclass(frozen=True)
class RecentEvent:
    product_id: int
    type: str
    category_id: int
    occurred_at: datetime
    brand: str = ""
    name: str = ""  # the product's name: what a reason ("Because you viewed ...") names


@dataclass(frozen=True)
class ShopperFacts:
    recent: tuple[RecentEvent, ...] = ()  # newest first
    cart: dict[int, int] = field(default_factory=dict)  # product id -> quantity, in the cart's order
    bought: frozenset[int] = frozenset()
    bought_at: dict[int, datetime] = field(default_factory=dict)  # product id -> their latest order of it
    orders: int = 0  # how many orders they placed (the click model's user features)
    last_order_at: datetime | None = None
    # What this request derived from the facts (the click model's user columns, asked by the
    # banner and by the re-rank of every shelf): computed once, like the facts themselves.
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def cart_count(self) -> int:
        return sum(self.cart.values())

    def excluded(self, allow_bought: bool) -> frozenset[int]:
        """What no widget may show: the cart, and the purchases unless re-buys are allowed."""
        return frozenset(self.cart) if allow_bought else frozenset(self.cart) | self.bought


def visit_of(recent: tuple[RecentEvent, ...], gap: timedelta, now: datetime) -> tuple[RecentEvent, ...]:
    """The current visit: the newest of ``recent`` (newest first) while no pause between two of
    them, nor between the newest and ``now``, exceeds ``gap`` (session-rec's idle rule, which
    training applies to events without a session id too). Newest first, like ``recent``."""
    visit: list[RecentEvent] = []
    previous = now
    for event in recent:
        if previous - event.occurred_at > gap:
            break
        visit.append(event)
        previous = event.occurred_at
    return tuple(visit)


def visit_gap() -> timedelta:
    """The pause that ends a visit (``SESSION_GAP_MINUTES``, 30 by default)."""
    return timedelta(minutes=float(current_app.config.get("SESSION_GAP_MINUTES", 30)))


def recent_limit() -> int:
    """How many recent events a page loads (the fold-in's ``FOLD_IN_EVENTS``)."""
    return int(current_app.config.get("FOLD_IN_EVENTS", 50))


def facts_of(shopper: Shopper, memo: MutableMapping[str, Any] | None = None) -> ShopperFacts:
    """The shopper's facts, asked once per ``memo`` (a request context's) and shopper."""
    cached = memo.get(MEMO_KEY) if memo is not None else None
    if cached is not None and cached[0] == shopper:
        return cached[1]
    facts = _ask(shopper, recent_limit())
    if memo is not None:
        memo[MEMO_KEY] = (shopper, facts)
    return facts


def remembered(memo: MutableMapping[str, Any]) -> ShopperFacts | None:
    """The facts this request already asked for, if it did."""
    cached = memo.get(MEMO_KEY)
    return cached[1] if cached is not None else None


def forget(memo: MutableMapping[str, Any]) -> None:
    """Drop the remembered facts (the cart or the orders just changed)."""
    memo.pop(MEMO_KEY, None)


def _ask(shopper: Shopper, limit: int) -> ShopperFacts:
    if not shopper.known:
        return ShopperFacts()
    by_visitor, by_customer = shopper.visitor_id is not None, shopper.customer_id is not None
    cart_by = "customer" if shopper.logged_in else ("visitor" if by_visitor else None)
    statement = _statement(by_visitor, by_customer, cart_by, limit > 0)
    params = {"visitor_id": shopper.visitor_id, "customer_id": shopper.customer_id, "limit": limit}
    recent: list[RecentEvent] = []
    cart_rows: list[tuple[int, int, int]] = []
    bought: dict[int, datetime] = {}
    orders, last_order_at = 0, None
    # ``number``: an event's product category; a cart row's cart item id (the cart's order)
    for kind, product_id, type_, number, brand, name, occurred_at, quantity in db.session.execute(statement, params):
        if kind == _EVENT:
            recent.append(RecentEvent(product_id, type_, number, occurred_at, brand or "", name or ""))
        elif kind == _CART:
            cart_rows.append((number, product_id, int(quantity)))
        elif kind == _BOUGHT:
            bought[product_id] = occurred_at
        else:
            orders, last_order_at = int(quantity or 0), occurred_at
    # A compound select keeps no member's order: the events are put back newest first here.
    recent.sort(key=lambda e: e.occurred_at, reverse=True)
    cart: dict[int, int] = {}
    for _item_id, product_id, quantity in sorted(cart_rows):  # the order the cart page lists them in
        cart[product_id] = cart.get(product_id, 0) + quantity
    return ShopperFacts(tuple(recent), cart, frozenset(bought), bought, orders, last_order_at)


# Building this statement cost more than running it (~1 ms of SQLAlchemy constructs per page):
# it is built once per shape, with the shopper's ids and the limit as bound parameters.
_VISITOR, _CUSTOMER, _LIMIT = bindparam("visitor_id"), bindparam("customer_id"), bindparam("limit")


@lru_cache(maxsize=None)
def _statement(by_visitor: bool, by_customer: bool, cart_by: str | None, with_recent: bool):
    parts = []
    if with_recent:
        parts.append(_recent_part(by_visitor, by_customer))
    if cart_by is not None:
        owner = Cart.customer_id == _CUSTOMER if cart_by == "customer" else Cart.visitor_id == _VISITOR
        parts.append(
            select(literal(_CART, String).label("kind"), CartItem.product_id, cast(null(), String),
                   CartItem.id, cast(null(), String), cast(null(), String), cast(null(), DateTime),
                   CartItem.quantity)
            .join(Cart, Cart.id == CartItem.cart_id).where(owner)
        )
    owned = or_(*([Order.visitor_id == _VISITOR] if by_visitor else []),
                *([Order.customer_id == _CUSTOMER] if by_customer else []))
    # each product bought once, with the latest order of it ("Buy it again" says how long ago)
    parts.append(
        select(literal(_BOUGHT, String).label("kind"), OrderLine.product_id, cast(null(), String),
               cast(null(), Integer), cast(null(), String), cast(null(), String), func.max(Order.created_at),
               cast(null(), Integer))
        .join(Order, Order.id == OrderLine.order_id)
        .where(owned)
        .group_by(OrderLine.product_id)
    )
    # one row: how many orders and the latest one's date (the click model's user features)
    parts.append(
        select(literal(_ORDERS, String).label("kind"), cast(null(), Integer), cast(null(), String),
               cast(null(), Integer), cast(null(), String), cast(null(), String), func.max(Order.created_at),
               func.count(Order.id))
        .where(owned)
    )
    return union_all(*parts)


def _recent_part(by_visitor: bool, by_customer: bool):
    owners = ([Event.visitor_id == _VISITOR] if by_visitor else []) + ([Event.customer_id == _CUSTOMER] if by_customer else [])
    latest = [
        select(
            select(Event.id)
            .where(owner, Event.type.in_(INTEREST_EVENTS))
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(_LIMIT)
            .subquery()
            .c.id
        )
        for owner in owners
    ]
    ids = latest[0] if len(latest) == 1 else union_all(*latest)
    newest = (
        select(literal(_EVENT, String).label("kind"), Event.product_id, Event.type, Product.category_id,
               Product.brand, Product.name, Event.occurred_at, cast(null(), Integer).label("quantity"))
        .join(Product, Product.id == Event.product_id)
        .where(Event.id.in_(ids))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(_LIMIT)
        .subquery()
    )
    return select(*newest.c)

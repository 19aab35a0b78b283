"""Serve-time business rules for every recommendation widget, kept in one place.

Models and fallbacks only *propose* products; what a widget shows must also pass these rules:

- active and in stock: checked in the same query that loads the products (``load_in_order``,
  ``ranked``), so a product switched off a minute ago never shows, whatever the model learnt;
- not in the shopper's cart, not already bought (unless ``RECOMMEND_PURCHASED``), not the
  product whose page the widget is on (``excluded_product_ids``);
- no duplicates: callers pass the growing set of chosen ids as ``skip``.

"What did they do lately" (``recent_events``) lives here too, because the rules and the
personalised strategies need the same facts about the same person (the ``Shopper``, resolved
once per request by ``storefront.tracking.visitors.shopper_of``).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, select, union, union_all
from sqlalchemy.orm import joinedload

from storefront.extensions import db
from storefront.models import (
    ADD_TO_CART,
    TRANSACTION,
    VIEW,
    Cart,
    CartItem,
    Category,
    Event,
    Order,
    OrderLine,
    Product,
)
from storefront.tracking.visitors import Shopper

# Events that say "interested in this product" (clicks and removals would only use up slots).
INTEREST_EVENTS = (VIEW, ADD_TO_CART, TRANSACTION)
BY_POPULARITY = (Product.popularity.desc(), Product.created_at.desc(), Product.id)
BY_NEWEST = (Product.created_at.desc(), Product.id.desc())


@dataclass(frozen=True)
class RecentEvent:
    product_id: int
    type: str
    category_id: int
    occurred_at: datetime


def recent_events(shopper: Shopper, limit: int) -> list[RecentEvent]:
    """The shopper's last ``limit`` interest events on products, newest first, in one query.

    Shaped for the indexes: the latest ``limit`` ids of the visitor (read in order from the
    (visitor_id, occurred_at) index) and, separately, of the customer (customer_id index),
    then the product's category for just those rows. A plain ``visitor OR customer`` filter
    would join and sort a loyal customer's whole history on every page (2x slower at 1,500
    events). The category comes along so the "your categories" fallback needs no second query.
    """
    if not shopper.known or limit <= 0:
        return []
    owners = []
    if shopper.visitor_id is not None:
        owners.append(Event.visitor_id == shopper.visitor_id)
    if shopper.customer_id is not None:
        owners.append(Event.customer_id == shopper.customer_id)
    latest = [
        select(
            select(Event.id)
            .where(owner, Event.type.in_(INTEREST_EVENTS))
            .order_by(Event.occurred_at.desc(), Event.id.desc())
            .limit(limit)
            .subquery()
            .c.id
        )
        for owner in owners
    ]
    ids = latest[0] if len(latest) == 1 else union_all(*latest)
    rows = db.session.execute(
        select(Event.product_id, Event.type, Product.category_id, Event.occurred_at)
        .join(Product, Product.id == Event.product_id)
        .where(Event.id.in_(ids))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(limit)
    )
    return [RecentEvent(*row) for row in rows]


def excluded_product_ids(shopper: Shopper, memo: dict | None = None) -> frozenset[int]:
    """Products no widget may show this shopper: their cart, and what they bought (unless the
    shop allows re-buys, ``RECOMMEND_PURCHASED``). One query, remembered in ``memo`` (the
    request context's: a product page asks for several widgets)."""
    allow_bought = bool(current_app.config.get("RECOMMEND_PURCHASED", False))
    key = (shopper, allow_bought)
    cached = memo.get("reco_exclusions") if memo is not None else None
    if cached is not None and cached[0] == key:
        return cached[1]
    queries = []
    if shopper.logged_in:
        queries.append(_cart_products(Cart.customer_id == shopper.customer_id))
    elif shopper.visitor_id is not None:
        queries.append(_cart_products(Cart.visitor_id == shopper.visitor_id))
    if shopper.known and not allow_bought:
        queries.append(
            select(OrderLine.product_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(shopper.owns(Order.visitor_id, Order.customer_id))
        )
    ids: frozenset[int] = frozenset()
    if queries:
        statement = queries[0] if len(queries) == 1 else union(*queries)
        ids = frozenset(db.session.scalars(statement))
    if memo is not None:
        memo["reco_exclusions"] = (key, ids)
    return ids


def _cart_products(owner: ColumnElement[bool]):
    return select(CartItem.product_id).join(Cart, Cart.id == CartItem.cart_id).where(owner)


def _eligible(skip: Collection[int]):
    """Active, in stock, and not skipped: the rules every shown product passes."""
    select_ = select(Product).options(joinedload(Product.category))
    select_ = select_.where(Product.active.is_(True), Product.stock > 0)
    return select_.where(Product.id.not_in(list(skip))) if skip else select_


def load_in_order(product_ids: Iterable[int], skip: Collection[int], *where) -> list[Product]:
    """The eligible products among ``product_ids`` (a model's ranking) matching ``where``, in
    the ranking's order."""
    wanted = [pid for pid in dict.fromkeys(product_ids) if pid not in skip]
    if not wanted:
        return []
    query = _eligible(()).where(Product.id.in_(wanted), *where)
    found = {p.id: p for p in db.session.scalars(query)}
    return [found[pid] for pid in wanted if pid in found]


def ranked(limit: int, skip: Collection[int], *where, order=BY_POPULARITY) -> list[Product]:
    """Up to ``limit`` eligible products matching ``where``, best first (a fallback's query)."""
    if limit <= 0:
        return []
    return list(db.session.scalars(_eligible(skip).where(*where).order_by(*order).limit(limit)))


def in_category_tree(category_id: int) -> ColumnElement[bool]:
    """Products of a category or any of its descendants (a recursive CTE: still one query)."""
    tree = select(Category.id).where(Category.id == category_id).cte("category_tree", recursive=True)
    tree = tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))
    return Product.category_id.in_(select(tree.c.id))

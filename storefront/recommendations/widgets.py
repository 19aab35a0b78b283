"""Recommendation widgets: each a strategy plus a fallback chain, all under one set of rules.

A widget asks its steps in order, each for what is still missing, until it is full:

- "Recommended for you": the model with the shopper's recent events folded in -> popularity in
  the categories of those events -> global trending -> newest;
- "Customers who bought this also bought" / "Similar items": the model's ``also_bought`` /
  ``similar_items`` -> same category by popularity -> trending -> newest;
- "Trending now": the model's time-decayed trending -> trending (``Product.popularity``) ->
  newest; "Trending in <category>": the same for that category's products (so the shelf shows
  momentum, not a copy of the listing's 30-day "most popular" order) -> its products by
  popularity;
- "Customers like you also bought" (logged-in customers): what the customer's nearest
  Customer2Vec neighbours bought -> the best sellers of their RFM segment (the shop's, for a
  customer without orders) -> trending -> newest. Customer2Vec and segments come from the
  served version's ``segments`` extra (``segment_serving``); what the customer bought is always
  left out, whatever ``RECOMMEND_PURCHASED`` says, since "like you" means "what you don't have".

The steps live in ``recommendation_steps``, the serve-time rules they all obey (stock, cart,
purchases, the current product, no duplicates) in ``recommendation_rules``. A model list cut
short by the rules is topped up by the next step rather than shown half empty. A widget records
as its ``strategy`` the step that supplied its first item and carries the model version only
when the model supplied any; ``sources`` keeps the step of every item.

The model comes from the app's ``ModelHolder`` (``init_app``): it notices a newly activated
version within ``MODEL_CHECK_INTERVAL`` seconds, and a broken artifact or a failing model call
is logged and served by the fallbacks: a page never fails because of the recommender.
This module only computes; ``storefront.recommendations.pages`` records impressions.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import Flask, current_app

from ml.serving import LoadedVersion, ModelHolder
from sqlalchemy import select

from storefront.extensions import db
from storefront.models import Category, Order, OrderLine, Product
from storefront.recommendations.rules import (
    Shopper,
    current_shopper,
    excluded_product_ids,
    recent_events,
)
from storefront.recommendations.steps import (
    ALSO_BOUGHT_STEPS,
    CATEGORY_STEPS,
    CUSTOMERS_LIKE_YOU_STEPS,
    FOR_YOU_STEPS,
    MODEL_PREFIX,
    NO_STRATEGY,
    SIMILAR_STEPS,
    TRENDING_STEPS,
    Ask,
    Step,
)

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """One model holder per app: every request of a worker shares the loaded version."""
    app.extensions["recommender"] = ModelHolder(
        app.config["MODEL_DIR"], check_interval=float(app.config["MODEL_CHECK_INTERVAL"])
    )


def current_version() -> LoadedVersion | None:
    """The model version to serve now, or None (nothing published, or nothing loadable)."""
    holder = current_app.extensions.get("recommender")
    if holder is None:
        return None
    try:
        return holder.get()
    except Exception:  # the holder logs load errors itself; this is the last line of defence
        log.exception("model holder failed; serving the fallbacks")
        return None


@dataclass
class WidgetResult:
    """What a widget shows and why: enough to render it and to record its impression."""

    widget: str
    title: str
    strategy: str
    model_version: str | None
    products: list[Product]
    sources: list[str] = field(default_factory=list)
    context_product_id: int | None = None
    impression_id: int | None = None
    ranking: str | None = None  # "ctr" / "retrieval" when the click model was consulted


def _fill(widget: str, title: str, ask: Ask, steps: Sequence[Step], n: int) -> WidgetResult:
    """Ask each step for what is still missing until ``n`` products are chosen (or the chain
    ends: then the catalog had no more eligible products)."""
    products: list[Product] = []
    sources: list[str] = []
    ask.widget = widget
    for step in steps:
        missing = n - len(products)
        if missing <= 0:
            break
        strategy, found = step(ask, missing)
        for product in found:
            if len(products) < n and product.id not in ask.skip:
                ask.skip.add(product.id)
                products.append(product)
                sources.append(strategy)
    from_model = ask.version is not None and any(s.startswith(MODEL_PREFIX) for s in sources)
    return WidgetResult(
        widget=widget, title=title, strategy=sources[0] if sources else NO_STRATEGY,
        model_version=ask.version.version if from_model else None, products=products,
        sources=sources, context_product_id=ask.product.id if ask.product else None,
        ranking=ask.ranking if from_model else None,
    )


TITLES = {
    "for_you": "Recommended for you",
    "trending": "Trending now",
    "also_bought": "Customers who bought this also bought",
    "similar": "Similar items",
    "customers_like_you": "Customers like you also bought",
}


# -- the widgets -------------------------------------------------------------------------------


def per_widget() -> int:
    return int(current_app.config.get("RECOMMENDATIONS_PER_WIDGET", 8))


def new_ask(
    *, product: Product | None = None, category: Category | None = None,
    also_skip: Sequence[int] = (), with_recent: bool = False,
) -> Ask:
    """The shared inputs of one widget; ``with_recent`` loads the fold-in events (one query)."""
    shopper = current_shopper()
    skip = set(excluded_product_ids(shopper)) | set(also_skip)
    if product is not None:
        skip.add(product.id)
    recent = recent_events(shopper, int(current_app.config.get("FOLD_IN_EVENTS", 50))) if with_recent else []
    return Ask(shopper, current_version(), skip, recent, product, category)


def recommended_for_you(widget: str, n: int | None = None, ask: Ask | None = None) -> WidgetResult:
    ask = ask or new_ask(with_recent=True)
    return _fill(widget, TITLES["for_you"], ask, FOR_YOU_STEPS, n or per_widget())


def trending_now(widget: str, n: int | None = None, ask: Ask | None = None) -> WidgetResult:
    return _fill(widget, TITLES["trending"], ask or new_ask(), TRENDING_STEPS, n or per_widget())


def also_bought(widget: str, product: Product, n: int | None = None,
                also_skip: Sequence[int] = ()) -> WidgetResult:
    ask = new_ask(product=product, also_skip=also_skip)
    return _fill(widget, TITLES["also_bought"], ask, ALSO_BOUGHT_STEPS, n or per_widget())


def similar_items(widget: str, product: Product, n: int | None = None,
                  also_skip: Sequence[int] = ()) -> WidgetResult:
    ask = new_ask(product=product, also_skip=also_skip)
    return _fill(widget, TITLES["similar"], ask, SIMILAR_STEPS, n or per_widget())


def trending_in(widget: str, category: Category, n: int | None = None) -> WidgetResult:
    ask = new_ask(category=category)
    return _fill(widget, f"Trending in {category.name}", ask, CATEGORY_STEPS, n or per_widget())


def customer_ask(customer_id: int, *, product: Product | None = None, also_skip: Sequence[int] = ()) -> Ask:
    """The inputs of a widget for a given customer as if they were logged in (the admin's
    preview of what a customer would see), with the same exclusions their own page applies."""
    shopper = Shopper(None, customer_id, logged_in=True)
    skip = set(excluded_product_ids(shopper)) | set(also_skip)
    if product is not None:
        skip.add(product.id)
    return Ask(shopper, current_version(), skip, [], product, None)


def _bought_by(shopper: Shopper) -> set[int]:
    """What the shopper bought, when the rules let bought products through (re-buys allowed);
    otherwise the rules have excluded them already and no query is needed."""
    if not current_app.config.get("RECOMMEND_PURCHASED", False) or not shopper.known:
        return set()
    query = (select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
             .where(shopper.owns(Order.visitor_id, Order.customer_id)))
    return set(db.session.scalars(query))


def customers_like_you(widget: str, *, product: Product | None = None, n: int | None = None,
                       also_skip: Sequence[int] = (), ask: Ask | None = None) -> WidgetResult:
    """"Customers like you also bought" for the current shopper (or for ``ask``'s)."""
    ask = ask or new_ask(product=product, also_skip=also_skip)
    ask.skip |= _bought_by(ask.shopper)
    return _fill(widget, TITLES["customers_like_you"], ask, CUSTOMERS_LIKE_YOU_STEPS, n or per_widget())

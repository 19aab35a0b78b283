"""Filling one widget: its spec's steps, asked in order, under one set of rules.

A widget asks its steps in order, each for what is still missing, until it is full (or the
chain ends: then the catalog had no more eligible products). Each step gets a fresh, frozen
``Ask`` whose ``skip`` holds the shopper's exclusions plus what the widget (and the earlier
widgets of the page) already show; a model list cut short by the rules is topped up by the next
step rather than shown half empty. A widget records as its ``strategy`` the step that supplied
its first item and carries the model version only when the model supplied any; ``sources``
keeps the step of every item. The chains themselves are data (``registry``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from storefront.extensions import db
from storefront.models import Category, Order, OrderLine, Product
from storefront.recommendations.holder import current_version
from storefront.recommendations.registry import WidgetSpec
from storefront.recommendations.rules import excluded_product_ids, recent_events
from storefront.recommendations.steps import MODEL_PREFIX, NO_STRATEGY, Ask
from storefront.tracking.context import RequestContext, Shopper
from storefront.tracking.visitors import shopper_of


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
    explanation: str = ""


def per_widget() -> int:
    return int(current_app.config.get("RECOMMENDATIONS_PER_WIDGET", 8))


def recent_limit() -> int:
    return int(current_app.config.get("FOLD_IN_EVENTS", 50))


def new_ask(ctx: RequestContext, *, product: Product | None = None, category: Category | None = None,
            with_recent: bool = False) -> Ask:
    """The shared inputs of one page's widgets; ``with_recent`` loads the fold-in events (one query)."""
    shopper = shopper_of(ctx)
    return _ask(shopper, excluded_product_ids(shopper, ctx.memo), product, category,
                recent_events(shopper, recent_limit()) if with_recent else [])


def customer_ask(customer_id: int, *, product: Product | None = None) -> Ask:
    """The inputs of a widget for a given customer as if they were logged in (the admin's
    preview of what a customer would see), with the same exclusions their own page applies."""
    shopper = Shopper(None, customer_id, logged_in=True)
    return _ask(shopper, excluded_product_ids(shopper), product, None, [])


def _ask(shopper: Shopper, excluded: Collection[int], product: Product | None, category: Category | None,
         recent) -> Ask:
    skip = set(excluded)
    if product is not None:
        skip.add(product.id)
    return Ask(shopper, current_version(), frozenset(skip), tuple(recent), product, category)


def _bought_by(shopper: Shopper) -> set[int]:
    """What the shopper bought, when the rules let bought products through (re-buys allowed);
    otherwise the rules have excluded them already and no query is needed."""
    if not current_app.config.get("RECOMMEND_PURCHASED", False) or not shopper.known:
        return set()
    query = (select(OrderLine.product_id).join(Order, Order.id == OrderLine.order_id)
             .where(shopper.owns(Order.visitor_id, Order.customer_id)))
    return set(db.session.scalars(query))


def fill(spec: WidgetSpec, ask: Ask, n: int | None = None, also_skip: Collection[int] = ()) -> WidgetResult:
    """Ask each of ``spec``'s steps for what is still missing until ``n`` products are chosen."""
    n = n or per_widget()
    chosen: list[Product] = []
    sources: list[str] = []
    ranking: str | None = None
    skip = set(ask.skip) | set(also_skip)
    if spec.skip_bought:
        skip |= _bought_by(ask.shopper)
    for step in spec.steps:
        missing = n - len(chosen)
        if missing <= 0:
            break
        proposal = step(dataclasses.replace(ask, skip=frozenset(skip), widget=spec.name), missing)
        ranking = ranking or proposal.ranking
        for product in proposal.products:
            if len(chosen) < n and product.id not in skip:
                skip.add(product.id)
                chosen.append(product)
                sources.append(proposal.strategy)
    from_model = ask.version is not None and any(s.startswith(MODEL_PREFIX) for s in sources)
    return WidgetResult(
        widget=spec.name, title=spec.title_for(ask.category.name if ask.category else None),
        strategy=sources[0] if sources else NO_STRATEGY,
        model_version=ask.version.version if from_model else None, products=chosen,
        sources=sources, context_product_id=ask.product.id if ask.product else None,
        ranking=ranking if from_model else None, explanation=spec.explanation,
    )

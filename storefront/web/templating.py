"""Template filters and globals used across the site."""
from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import urlencode

from flask import Flask, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from storefront.extensions import db

from storefront.catalog import snapshot
from storefront.orders import cart as cart_service
from storefront.web.errors import report_outage
from storefront.web.requests import request_context

log = logging.getLogger(__name__)


def money(value: Decimal | float | int | None) -> str:
    return f"${Decimal(value or 0):,.2f}"


def product_image_url(product) -> str:
    """The card image (its category's picture); the category from the catalog snapshot, so a
    listing of database rows does not load each product's category."""
    node = snapshot.current(request_context().memo).categories.get(product.category_id)
    return url_for("shop.category_image", slug=node.slug if node is not None else product.category.slug)


def page_url(number: int) -> str:
    """This page's URL with another ``page``: the path plus re-encoded query arguments only, so
    no query argument can reach ``url_for`` and change the endpoint, host or scheme."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return request.path + "?" + urlencode([*args, ("page", str(number))])


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_global(product_image_url)
    app.add_template_global(page_url)

    @app.context_processor
    def shop_context() -> dict:
        # Navigation and cart badge: lazy callables, and safe ones, because the error pages
        # use the same layout and must render even when the database is what failed.
        return {"nav_departments": _safe(_departments, list), "cart_count": _safe(_cart_count, int)}


def _departments() -> list:
    """The department menu, from the catalog snapshot (no statement, unless the catalog's
    version is due a check: ``storefront.catalog.snapshot``)."""
    return snapshot.current(request_context().memo).departments


def _cart_count() -> int:
    """The header's cart badge: from the shopper's facts when the page asked for them (its
    widgets did), else one small sum."""
    return cart_service.item_count(request_context())


def _safe(function, fallback):
    def call():
        try:
            return function()
        except SQLAlchemyError as error:
            # The page renders without it (the error pages use this layout); during an outage
            # this happens on every request, so it joins the outage's one report per interval.
            report_outage(f"layout data unavailable: {type(error).__name__}")
            db.session.rollback()
            return fallback()
    return call

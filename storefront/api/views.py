"""Recommendations as JSON, for the shop's own pages and for other clients.

The same widgets, rules and fallbacks as the HTML pages (``storefront.recommendations.widgets``), and impressions
too: the item URLs carry the impression, so a client that follows them gets its clicks counted.
Only GET routes exist, so CSRF protection (which guards unsafe methods) never applies and no
route needs exempting. Errors are ``{"error", "message"}`` JSON (``storefront.web.errors`` answers
every ``/api/`` path in JSON).
"""
from __future__ import annotations

import re
from urllib.parse import urljoin

from flask import abort, jsonify, request, url_for

from storefront.api import bp
from storefront.extensions import db
from storefront.models import Product
from storefront.recommendations import widgets as widgets
from storefront.recommendations.widgets import WidgetResult
from storefront.recommendations.registry import API_ITEM_KINDS
from storefront.web.requests import request_context
from storefront.web.templating import product_image_url

DEFAULT_COUNT = 10
MAX_COUNT = 50
_INTEGER = re.compile(r"-?[0-9]{1,9}")  # ASCII digits only: \d and int() accept other scripts' digits too


def _count() -> int:
    raw = request.args.get("n")
    if raw is None:
        return DEFAULT_COUNT
    if not _INTEGER.fullmatch(raw):
        abort(400, f"n must be an integer between 1 and {MAX_COUNT}.")
    count = int(raw)
    if not 1 <= count <= MAX_COUNT:
        abort(400, f"n must be between 1 and {MAX_COUNT}, not {count}.")
    return count


def _item(product: Product, impression_id: int | None, position: int) -> dict:
    click = {"ri": impression_id, "rp": position} if impression_id else {}
    return {
        "id": product.id,
        "name": product.name,
        "price": str(product.price),  # a decimal string: a float would round cents
        "url": url_for("shop.product", product_id=product.id, _external=True, **click),
        "image": urljoin(request.host_url, product_image_url(product)),
    }


def _respond(result: WidgetResult):
    payload = {
        "widget": result.widget,
        "strategy": result.strategy,
        "model_version": result.model_version,
        "items": [_item(p, result.impression_id, i) for i, p in enumerate(result.products)],
    }
    db.session.commit()  # the impression
    response = jsonify(payload)
    response.cache_control.no_store = True  # personal, and every answer is its own impression
    return response


@bp.get("/recommendations/user")
def user_recommendations():
    """For the browser's visitor cookie, or the logged-in customer."""
    return _respond(widgets.api_user(request_context(), _count()))


@bp.get("/recommendations/item/<id:product_id>")
def item_recommendations(product_id: int):
    kind = request.args.get("kind", "similar")
    if kind not in API_ITEM_KINDS:
        abort(400, f"kind must be one of: {', '.join(API_ITEM_KINDS)}.")
    count = _count()
    product = db.session.get(Product, product_id)
    if product is None or not product.active:
        abort(404, f"There is no product {product_id}.")
    return _respond(widgets.api_item(request_context(), product, kind, count))

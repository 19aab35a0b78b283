"""Recommendations as JSON, for the shop's own pages and for other clients.

The same widgets, rules and fallbacks as the HTML pages (``storefront.recommendations.widgets``), and impressions
too: the item URLs carry the impression, so a client that follows them gets its clicks counted.
Only GET routes exist, so CSRF protection (which guards unsafe methods) never applies and no
route needs exempting. Errors are ``{"error", "message"}`` JSON (``storefront.web.errors`` answers
every ``/api/`` path in JSON).

Search suggestions, for the search box's autocomplete (``static/js/autocomplete.js``):
``GET /api/v1/search/suggest?q=<typed text>&n=<1..10>`` answers ``{"query", "suggestions": [{"kind",
"label", "url"}...]}``, categories and brands first, then products (``storefront.search.suggest``).
Fewer than two letters: no suggestions (200, an empty list). A ``q`` over ``MAX_PREFIX``
characters or a bad ``n`` is a 400 like the rest of the API. Nothing is personal or tracked, so
answers may be cached briefly by the browser and any proxy.
"""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlencode, urljoin

from flask import abort, jsonify, request, url_for

from storefront.api import bp
from storefront.catalog import snapshot
from storefront.extensions import db
from storefront.models import Product
from storefront.recommendations import api_widgets, registry
from storefront.recommendations.api_widgets import Filters
from storefront.recommendations.widgets import WidgetResult
from storefront.recommendations.registry import API_ITEM_KINDS
from storefront.search import pages as search_pages
from storefront.search import suggest
from storefront.web.requests import request_context
from storefront.web.templating import product_image_url

DEFAULT_COUNT = 10
MAX_COUNT = 50
MAX_EXCLUDED = 100
_INTEGER = re.compile(r"-?[0-9]{1,9}")  # ASCII digits only: \d and int() accept other scripts' digits too
_PRICE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")
_IDS = re.compile(r"[0-9]{1,9}(,[0-9]{1,9})*")


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


def _filters() -> Filters:
    """``category`` (id or slug: that category and those below it), ``max_price`` (a decimal
    amount) and ``exclude`` (comma-separated product ids), each checked with a 400 or 404."""
    categories = None
    raw = request.args.get("category")
    if raw is not None:
        catalog = snapshot.current(request_context().memo)
        node = catalog.categories.get(int(raw)) if _INTEGER.fullmatch(raw) else catalog.category_by_slug(raw)
        if node is None:
            abort(404, f"There is no category {raw!r}.")
        categories = catalog.descendants(node.id)
    max_price = request.args.get("max_price")
    if max_price is not None and not _PRICE.fullmatch(max_price):
        abort(400, "max_price must be an amount such as 25 or 24.99.")
    exclude = request.args.get("exclude", "")
    if exclude and not _IDS.fullmatch(exclude):
        abort(400, "exclude must be comma-separated product ids such as 12,40.")
    excluded = frozenset(int(pid) for pid in exclude.split(",") if pid)
    if len(excluded) > MAX_EXCLUDED:
        abort(400, f"exclude may list at most {MAX_EXCLUDED} products.")
    return Filters(categories, Decimal(max_price) if max_price is not None else None, excluded)


def _item(result: WidgetResult, position: int) -> dict:
    product, impression_id = result.products[position], result.impression_id
    click = {"ri": impression_id, "rp": position} if impression_id else {}
    rules = getattr(result, "rules", None)  # the merchandising rules that touched each item, if any
    return {
        "id": product.id,
        "name": product.name,
        "price": str(product.price),  # a decimal string: a float would round cents
        "url": url_for("shop.product", product_id=product.id, _external=True, **click),
        "image": urljoin(request.host_url, product_image_url(product)),
        "reason": result.reasons[position].as_json() if position < len(result.reasons) else None,
        "rules": list(rules[position]) if rules and position < len(rules) else [],
    }


def _respond(result: WidgetResult):
    payload = {
        "widget": result.widget,
        "title": result.title,
        "strategy": result.strategy,
        "model_version": result.model_version,
        "impression_id": result.impression_id,
        "items": [_item(result, i) for i in range(len(result.products))],
    }
    db.session.commit()  # the impression
    response = jsonify(payload)
    response.cache_control.no_store = True  # personal, and every answer is its own impression
    return response


def _product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not product.active:
        abort(404, f"There is no product {product_id}.")
    return product


@bp.get("/recommendations/user")
def user_recommendations():
    """For the browser's visitor cookie, or the logged-in customer."""
    count, filters = _count(), _filters()
    return _respond(api_widgets.widget(request_context(), registry.spec("api_user"), count, filters))


@bp.get("/recommendations/visit")
def visit_recommendations():
    """"Inspired by your visit": the next items after the visitor's events of this visit (the
    session model the training run picked), for the browser's visitor cookie."""
    count, filters = _count(), _filters()
    return _respond(api_widgets.widget(request_context(), registry.spec("api_visit"), count, filters))


@bp.get("/recommendations/item/<id:product_id>")
def item_recommendations(product_id: int):
    kind = request.args.get("kind", "similar")
    if kind not in API_ITEM_KINDS:
        abort(400, f"kind must be one of: {', '.join(API_ITEM_KINDS)}.")
    count, filters = _count(), _filters()
    product = _product(product_id)
    return _respond(api_widgets.widget(request_context(), registry.spec(API_ITEM_KINDS[kind]), count, filters,
                                       product=product))


@bp.get("/widgets")
def widget_list():
    """Every widget a client may ask for by name, and the context each needs."""
    specs = api_widgets.api_specs()
    return jsonify({"widgets": [
        {"name": spec.name, "title": spec.title_for("<category>"), "explanation": spec.explanation,
         "placement": spec.placement, "needs": api_widgets.needs(spec)}
        for spec in specs]})


@bp.get("/widgets/<name>")
def widget(name: str):
    """One widget by name: ``product`` (id) for an item-to-item widget, ``category`` for a
    category widget (also a filter), ``max_price``, ``exclude`` and ``n``."""
    spec = api_widgets.spec_named(name)
    if spec is None:
        abort(404, f"There is no widget {name!r}: GET /api/v1/widgets lists them.")
    count, filters = _count(), _filters()
    product = category = None
    if api_widgets.needs(spec) == api_widgets.PRODUCT:
        raw = request.args.get("product")
        if raw is None or not _INTEGER.fullmatch(raw):
            abort(400, f"{name} needs product=<product id>.")
        product = _product(int(raw))
    if api_widgets.needs(spec) == api_widgets.CATEGORY:
        raw = request.args.get("category")
        if raw is None:
            abort(400, f"{name} needs category=<category id or slug>.")
        catalog = snapshot.current(request_context().memo)
        category = catalog.categories.get(int(raw)) if _INTEGER.fullmatch(raw) else catalog.category_by_slug(raw)
    return _respond(api_widgets.widget(request_context(), spec, count, filters, product=product, category=category))


# -- search suggestions ---------------------------------------------------------------------------

MAX_PREFIX = 100  # characters of a typed query
DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 10
CACHE_SECONDS = 60


def _suggestion_url(suggestion) -> str:
    if suggestion.kind == "product" and suggestion.product_id is not None:
        return url_for("shop.product", product_id=suggestion.product_id)
    if suggestion.kind == "category" and suggestion.category_slug:
        return url_for("shop.category", slug=suggestion.category_slug)
    return url_for("shop.search") + "?" + urlencode({"q": suggestion.label})


@bp.get("/search/suggest")
def search_suggest():
    typed = request.args.get("q", "")
    if len(typed) > MAX_PREFIX:
        abort(400, f"q must be at most {MAX_PREFIX} characters.")
    raw = request.args.get("n", str(DEFAULT_SUGGESTIONS))
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_SUGGESTIONS):
        abort(400, f"n must be an integer between 1 and {MAX_SUGGESTIONS}.")
    typed = " ".join(typed.split())
    found = suggest(typed, limit=int(raw)) if search_pages.searchable(typed) else []
    response = jsonify({"query": typed, "suggestions": [
        {"kind": s.kind, "label": s.label, "url": _suggestion_url(s)} for s in found]})
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response

"""Search suggestions as JSON, for the search box's autocomplete (``static/js/autocomplete.js``).

``GET /api/v1/search/suggest?q=<typed text>&n=<1..10>``: ``{"query", "suggestions": [{"kind",
"label", "url"}...]}``, categories and brands first, then products (``storefront.search.suggest``).
Fewer than two letters: no suggestions (200, an empty list). A ``q`` over ``MAX_PREFIX``
characters or a bad ``n`` is a 400 ``{"error", "message"}`` like the rest of the API. Nothing is
personal or tracked, so answers may be cached briefly by the browser and any proxy.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, jsonify, request, url_for

from storefront.api import bp
from storefront.search import pages as search_pages
from storefront.search import suggest

MAX_PREFIX = 100
DEFAULT_SUGGESTIONS = 8
MAX_SUGGESTIONS = 10
CACHE_SECONDS = 60


def _url(suggestion) -> str:
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
        {"kind": s.kind, "label": s.label, "url": _url(s)} for s in found]})
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    return response

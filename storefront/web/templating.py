"""Template filters and globals used across the site."""
from __future__ import annotations

import logging
from decimal import Decimal
from urllib.parse import quote, urlencode

from typing import NamedTuple

from flask import Flask, current_app, request, url_for
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from storefront.extensions import db

from storefront.catalog import product_details, snapshot
from storefront.orders import cart as cart_service
from storefront.web.errors import report_outage
from storefront.web.requests import request_context

log = logging.getLogger(__name__)


def money(value: Decimal | float | int | None) -> str:
    return f"${Decimal(value or 0):,.2f}"


# Werkzeug's default (string) converter quotes a value with these characters kept.
_PATH_SAFE = "!$&'()*+,/:;=@"


def _around(endpoint: str, argument: str) -> tuple[str, str]:
    """What ``url_for(endpoint, **{argument: ...})`` puts before and after the value, for this
    request.

    A page links to dozens of products and pictures and ``url_for`` costs about 20 us each (57
    calls on a product page): the router builds the URL once per request and endpoint with a marker value,
    and the rest is string concatenation. Per request, not per process, because the prefix holds
    the request's script root (a shop mounted under ``/shop`` behind a proxy)."""
    memo = request_context().memo
    key = f"url_around:{endpoint}"
    around = memo.get(key)
    if around is None:
        built = url_for(endpoint, **{argument: _MARKER})
        before, _, after = built.rpartition(str(_MARKER))
        around = memo[key] = (before, after)
    return around


_MARKER = 918273645  # a number, so an int converter accepts it; long enough never to occur otherwise


def _path_url(endpoint: str, argument: str, value: str) -> str:
    before, after = _around(endpoint, argument)
    return before + quote(value, safe=_PATH_SAFE) + after


def product_url(product_id: int, ri: int | None = None, rp: int | None = None) -> str:
    """``url_for("shop.product", product_id=..., ri=..., rp=...)``, built without the router; ``ri``
    and ``rp`` (a recommendation's impression and position) are numbers, so need no quoting."""
    url = _path_url("shop.product", "product_id", str(int(product_id)))
    if ri is not None:
        url += f"?ri={int(ri)}&rp={int(rp or 0)}"
    return url


def product_image_url(product, size: str = "card") -> str:
    """The card image: the product's first stored picture (``size`` card or thumb), else its
    category's drawn picture; both from the catalog snapshot, so a listing of database rows
    loads neither the products' categories nor their pictures one by one."""
    snap = snapshot.current(request_context().memo)
    name = snap.card_images([product.id])[product.id]
    if name is not None:
        name = name if size == "card" else name.replace("-card.", f"-{size}.")
        return _path_url("shop.product_media", "name", name)
    node = snap.categories.get(product.category_id)
    slug = node.slug if node is not None else product.category.slug
    return _path_url("shop.category_image", "slug", slug)


class CardFace(NamedTuple):
    picture: Markup
    text: Markup


def card_face(product) -> CardFace:
    """A product card's picture and text (``macros/products.html``), rendered once per catalog
    version, product and script root: a page draws 16-25 cards, and escaping, the price format
    and the picture's URL were most of a card's cost."""
    snap = snapshot.current(request_context().memo)

    def render() -> CardFace:
        macros = current_app.jinja_env.get_template("macros/products.html").module
        return CardFace(Markup(macros.card_picture(product)), Markup(macros.card_text(product)))

    return snap.fragment(("card_face", request.script_root, product.id), render)


def preload_product_images(products) -> str:
    """Called by a grid before its cards: their pictures in one query (renders nothing)."""
    snapshot.current(request_context().memo).card_images(product.id for product in products)
    return ""


def page_product_details(product) -> product_details.ProductDetails:
    """The product page's gallery and feed facts, kept with the catalog snapshot."""
    snap = snapshot.current(request_context().memo)
    return snap.product_details(product.id, lambda: product_details.details_of(product))


def media_url(name: str) -> str:
    return url_for("shop.product_media", name=name)


def page_url(number: int) -> str:
    """This page's URL with another ``page``: the path plus re-encoded query arguments only, so
    no query argument can reach ``url_for`` and change the endpoint, host or scheme."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return request.path + "?" + urlencode([*args, ("page", str(number))])


class TemplateUrls:
    """``url_for`` for templates, remembering what it built (a page calls it 15-60 times, 20 us each).

    The URL of an endpoint with given values depends on nothing else but the request's script
    root, as long as it is relative (no ``_external``, ``_scheme``, ``_anchor``, ``_method``), names
    its blueprint (no ``.endpoint``) and the app registers no URL defaults; anything else goes to
    ``url_for`` itself. At most ``size`` URLs are kept (query strings make the set open-ended)."""

    def __init__(self, app: Flask, size: int = 4096) -> None:
        self.app, self.size = app, size
        self._built: dict[tuple, str] = {}

    def __call__(self, endpoint: str, **values) -> str:
        if any(self.app.url_default_functions.values()) or endpoint.startswith(".") or any(
                key.startswith("_") or not isinstance(value, (str, int, type(None))) for key, value in values.items()):
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items()))
        built = self._built.get(key)
        if built is None:
            if len(self._built) >= self.size:
                self._built.clear()
            built = self._built[key] = url_for(endpoint, **values)
        return built


def register_template_helpers(app: Flask) -> None:
    app.add_template_filter(money, "money")
    app.add_template_global(product_image_url)
    app.add_template_global(product_url)
    app.add_template_global(card_face)
    app.jinja_env.globals["url_for"] = TemplateUrls(app)
    app.add_template_global(preload_product_images)
    app.add_template_global(media_url)
    app.add_template_global(page_product_details, "product_details")
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

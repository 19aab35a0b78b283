"""The live promotions of this moment, from the catalog snapshot, and the shop's shipping rule:
what ``storefront.orders.pricing`` needs from the app to price a cart.

The campaigns come from the worker's catalog snapshot (no SQL per page: a campaign saved in the
admin moves the catalog version, so every worker sees it within ``CATALOG_CHECK_INTERVAL``
seconds); whether a campaign is live is decided at ``now`` on every call, so one that ends stops
discounting at its end to the second. Prices and stock always come from the database rows.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from flask import current_app

from storefront.catalog.snapshot import CatalogSnapshot
from storefront.models.common import utcnow
from storefront.orders.offers import discount_label
from storefront.orders.pricing import LineInput, Pricing, Promotion, ShippingRule, price, promotion_of


def shipping_rule() -> ShippingRule:
    """``SHIPPING_FEE`` per order, waived once the goods reach ``FREE_SHIPPING_OVER`` (None: never)."""
    config = current_app.config
    threshold = config.get("FREE_SHIPPING_OVER")
    return ShippingRule(Decimal(str(config.get("SHIPPING_FEE", "0"))),
                        Decimal(str(threshold)) if threshold not in (None, "") else None)


def live_promotions(catalog: CatalogSnapshot, now: datetime | None = None) -> list[Promotion]:
    """The discounts of the campaigns live at ``now`` (naive UTC, default now)."""
    now = now or utcnow()
    found = []
    for card in catalog.campaigns:
        if card.is_live(now):
            promotion = promotion_of(card, discount_label(card), catalog.descendants)
            if promotion is not None:
                found.append(promotion)
    return found


def price_items(items: Iterable, catalog: CatalogSnapshot, now: datetime | None = None) -> Pricing:
    """Price cart items (``CartItem``s with their product loaded, or the cart page's ``CartLine``s) at ``now``."""
    lines = [LineInput(item.product_id, item.product.category_id, item.product.brand or "",
                       item.product.price, item.quantity) for item in items]
    return price(lines, live_promotions(catalog, now), shipping_rule())

"""Serve-time business rules for every recommendation widget, kept in one place.

Models and fallbacks only *propose* products; what a widget shows must also pass these rules:

- active and in stock: only the catalog snapshot's eligible products are ever loaded
  (``load_in_order``, ``ranked``; ``storefront.catalog.snapshot``), so a product switched off
  shows nowhere once the worker has seen the catalog's new version (``CATALOG_CHECK_INTERVAL``),
  whatever the model learnt;
- not in the shopper's cart, not already bought (unless ``RECOMMEND_PURCHASED``), not the
  product whose page the widget is on (``excluded_product_ids``, from the shopper's facts:
  ``storefront.tracking.shopper_facts``);
- no duplicates: callers pass the growing set of chosen ids as ``skip``.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable

from flask import current_app

from storefront.catalog.snapshot import POPULAR, CatalogSnapshot, ProductCard
from storefront.tracking.shopper_facts import ShopperFacts


def allow_rebuys() -> bool:
    return bool(current_app.config.get("RECOMMEND_PURCHASED", False))


def excluded_product_ids(facts: ShopperFacts) -> frozenset[int]:
    """Products no widget may show this shopper: their cart, and what they bought (unless the
    shop allows re-buys, ``RECOMMEND_PURCHASED``)."""
    return facts.excluded(allow_bought=allow_rebuys())


def load_in_order(catalog: CatalogSnapshot, product_ids: Iterable[int], skip: Collection[int],
                  categories: Collection[int] | None = None) -> list[ProductCard]:
    """The eligible products among ``product_ids`` (a model's ranking), in ``categories`` if
    given, in the ranking's order."""
    return catalog.cards(catalog.eligible_in_order(product_ids, skip, categories))


def ranked(catalog: CatalogSnapshot, limit: int, skip: Collection[int], *,
           categories: Collection[int] | None = None, popular_only: bool = False,
           order: str = POPULAR) -> list[ProductCard]:
    """Up to ``limit`` eligible products, best first (a fallback's list)."""
    return catalog.cards(catalog.ranked(limit, skip, categories=categories, popular_only=popular_only, order=order))

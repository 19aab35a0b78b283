"""The merchandising rules of a widget in a web worker, at no cost per page.

A worker keeps the rules (switched on and not ended when read) with the catalog version they
were read at, their targets resolved against that version's snapshot: a category becomes the
category and its subcategories, a campaign its category (with subcategories) and brand, within
both the rule's and the campaign's dates (a campaign switched off takes its rules with it).
Saving a rule moves the catalog version (``merchandising_rules`` has the catalog's triggers), and
every page reads the version anyway for its catalog snapshot, so a page asks nothing more; the
first page of each worker after a change reads the (few) rows once. Whether a rule is in force
(its dates) is decided per request, against the clock: a rule starts and ends on time without a
write.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select

from storefront.catalog.snapshot import CatalogSnapshot
from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.merchandising import BRAND, CAMPAIGN, CATEGORY, PRODUCTS, MerchandisingRule
from storefront.recommendations.merchandising.apply import (
    DEFAULT_MAX_PINS, Rule, in_force, pins_of, place_pins, record_of, rerank,
)
from storefront.recommendations.reasons import Reason
from storefront.recommendations.rules import load_in_order

EXTENSION = "merchandising_rules"


def takes_rules(spec) -> bool:
    """Whether rules apply to a widget (a ``WidgetSpec``): not to a memory aid ("Recently
    viewed", ``distinct_on_page`` off), which lists what the shopper did; a pinned or boosted
    product would misstate that."""
    return bool(spec.distinct_on_page)


def max_pins() -> int:
    return int(current_app.config.get("MERCHANDISING_MAX_PINS", DEFAULT_MAX_PINS))


def resolve(row: MerchandisingRule, catalog: CatalogSnapshot) -> Rule | None:
    """``row`` as the widgets apply it, or None when its target is gone from ``catalog`` (a
    deleted category, a campaign switched off or deleted)."""
    starts, ends = row.starts_at, row.ends_at
    brand, categories, products = None, None, ()
    if row.target_kind == BRAND:
        brand = (row.brand or "").strip() or None
    elif row.target_kind == CATEGORY:
        if row.category_id not in catalog.categories:
            return None
        categories = catalog.descendants(row.category_id)
    elif row.target_kind == CAMPAIGN:
        campaign = next((c for c in catalog.campaigns if c.id == row.campaign_id), None)
        if campaign is None:  # the snapshot holds the switched-on campaigns only
            return None
        brand = (campaign.target_brand or "").strip() or None
        if campaign.target_category_id is not None:
            categories = catalog.descendants(campaign.target_category_id)
        starts = max(starts, campaign.starts_at)
        ends = campaign.ends_at if ends is None else min(ends, campaign.ends_at)
    elif row.target_kind == PRODUCTS:
        products = tuple(int(p) for p in row.product_ids or ())
    return Rule(
        id=row.id, kind=row.kind, widget=row.widget, factor=float(row.factor or 1.0), brand=brand,
        categories=categories, products=products, positions=tuple(int(p) for p in row.positions or ()),
        starts_at=starts, ends_at=ends, active=bool(row.is_active),
    )


class RulesCache:
    """One per app: the resolved rules as of a catalog version."""

    def __init__(self) -> None:
        # (catalog version, rules): one attribute, swapped whole (no lock needed to read)
        self._known: tuple[int, tuple[Rule, ...]] | None = None
        self._lock = threading.Lock()

    def rules(self, catalog: CatalogSnapshot) -> tuple[Rule, ...]:
        known = self._known
        if known is not None and known[0] == catalog.version:
            return known[1]
        rows = db.session.scalars(
            select(MerchandisingRule).where(
                MerchandisingRule.is_active.is_(True),
                # an ended rule never comes back without a write (which moves the version)
                or_(MerchandisingRule.ends_at.is_(None), MerchandisingRule.ends_at > utcnow()),
            ).order_by(MerchandisingRule.id)
        ).all()
        found = tuple(rule for rule in (resolve(row, catalog) for row in rows) if rule is not None)
        with self._lock:
            self._known = (catalog.version, found)
        return found


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = RulesCache()


def rules_for(catalog: CatalogSnapshot) -> tuple[Rule, ...]:
    """Every rule a widget may apply as of ``catalog``'s version (``apply.in_force`` picks a
    widget's, at a moment)."""
    cache = current_app.extensions.get(EXTENSION)
    return cache.rules(catalog) if cache is not None else ()


# -- one widget's fill -------------------------------------------------------------------------

PINNED = "pinned"  # the source (and, alone, the strategy) of a pinned item
FEATURED = Reason("featured", "Featured by the shop")


class Steering:
    """The rules of one widget for one fill (``widgets.fill``): in force now, with the pinned
    products the business rules allow (the caller's ``skip`` holds them: cart, bought, the
    page's product, the page's earlier widgets; the snapshot's eligible set the rest). The
    filler reserves the pins' slots, re-ranks each step's proposal (``rerank``), places the
    pins last (``place``) and hands the impression ``record()``."""

    def __init__(self, widget: str, catalog: CatalogSnapshot, skip: Collection[int],
                 allowed: Callable[[Any], bool] | None = None, *, steerable: bool = True) -> None:
        self.rules = in_force(rules_for(catalog), widget, utcnow()) if steerable else []
        self.pins = pins_of(self.rules, max_pins())
        eligible = load_in_order(catalog, [pin.product_id for pin in self.pins], skip) if self.pins else []
        self.pinnable = {card.id: card for card in eligible if allowed is None or allowed(card)}
        # which pins will show (an exclusion may still drop one), to leave them their slots
        self.pinned_ids = frozenset(card.id for card in place_pins([], self.pins, self.pinnable, self.rules).products)
        self.touched: dict[int, tuple[int, ...]] = {}
        self.removed: dict[int, tuple[int, ...]] = {}

    def room(self, n: int) -> int:
        return n - len(self.pinned_ids)

    def rerank(self, products: list) -> list:
        if not self.rules:
            return products
        applied = rerank(products, self.rules)
        self.touched.update(applied.touched)
        self.removed.update(applied.removed)
        return applied.products

    def place(self, chosen: list, sources: list[str], reasons: list) -> tuple[list, list[str], list]:
        """``chosen`` with the pins at their positions, and ``sources`` and ``reasons`` in step."""
        if not self.pins:
            return chosen, sources, reasons
        placed = place_pins(chosen, self.pins, self.pinnable, self.rules)
        self.touched.update(placed.touched)
        self.removed.update(placed.removed)
        source_of = {card.id: source for card, source in zip(chosen, sources)}
        reason_of = {card.id: reason for card, reason in zip(chosen, reasons)}
        pinned = {card.id for card in placed.products} & self.pinned_ids
        return (placed.products,
                [PINNED if c.id in pinned else source_of[c.id] for c in placed.products],
                [FEATURED if c.id in pinned else reason_of[c.id] for c in placed.products])

    def record(self, products: list) -> dict[str, list[int]] | None:
        return record_of(products, self.touched, self.removed)

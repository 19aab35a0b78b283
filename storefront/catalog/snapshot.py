"""The catalog in a web worker's memory, per catalog version (issue 15).

Every page used to ask the database for the same things: the department menu (twice), the
category of a slug and its descendants, the eligible products of each widget step, the live
campaigns. None of them changes between two requests unless the catalog does, so a worker keeps
them in a ``CatalogSnapshot`` and rebuilds it when the catalog's version moves
(``storefront.models.catalog_version``: database triggers move it on every change a shopper
could see).

- The category tree: ``CategoryNode``s with parent and children, by id and by slug.
- The eligible products (active and in stock) as numpy arrays in the two orders the fallbacks
  need (most popular first, newest first), with their category: a fallback is a mask and a
  slice, not a query.
- Product cards (``ProductCard``: what a card, a widget and the API show), loaded on first need
  in one query for the missing ones and kept for the version (bounded: ``MAX_CARDS``).
- The active campaigns (``CampaignCard``) with their structured offers, which the cart prices
  (``storefront.orders.promotions``); whether one is live is decided per request.
- Each product's card picture (the first stored ``ProductImage``, or none: the category's drawn
  placeholder), loaded with the cards, or for a page's products at once (:meth:`card_images`);
  a product page's gallery and feed facts (:meth:`product_details`).

The version is asked at most every ``CATALOG_CHECK_INTERVAL`` seconds per worker, and at most
once per request (the snapshot is remembered in the request context's memo). Within that
interval a change made by another worker is not seen yet: a product sold out a second ago may
still be offered by a widget, never sold (the cart and checkout read stock from the database).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from flask import Flask, current_app
from sqlalchemy import select

from storefront.catalog import images
from storefront.extensions import db
from storefront.models import Campaign, CatalogState, Category, Product
from storefront.models.campaigns import CampaignValues
from storefront.models.catalog import StockRules
from storefront.models.common import utcnow

log = logging.getLogger(__name__)

MEMO_KEY = "catalog_snapshot"
MAX_CARDS = 20_000  # cards kept per version; past it the cache starts over (a big catalog's long tail)
POPULAR, NEWEST = "popular", "newest"


@dataclass(eq=False)
class CategoryNode:
    """A category as the pages show it (the menu, breadcrumbs, a card's image)."""

    id: int
    name: str
    slug: str
    description: str | None
    parent_id: int | None
    parent: CategoryNode | None = None
    children: list[CategoryNode] = field(default_factory=list)

    @property
    def is_department(self) -> bool:
        return self.parent_id is None


@dataclass(frozen=True)
class ProductCard(StockRules):
    """What a product card, a widget and the API show of a product (no description)."""

    id: int
    sku: str
    name: str
    brand: str
    price: Decimal
    stock: int
    active: bool
    category_id: int
    popularity: float
    created_at: datetime
    category: CategoryNode


@dataclass(frozen=True)
class CampaignCard(CampaignValues):
    """An active campaign as the banner needs it (the admin's values, plus id and target)."""

    id: int = 0
    target_category: CategoryNode | None = None

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.is_active and self.starts_at <= now < self.ends_at


class CatalogSnapshot:
    """The catalog of one version; read-only except for the card cache it fills."""

    def __init__(self, version: int, categories: list[Category], eligible_rows, campaigns: list[Campaign]):
        self.version = version
        self.categories: dict[int, CategoryNode] = {
            c.id: CategoryNode(c.id, c.name, c.slug, c.description, c.parent_id) for c in categories
        }
        for node in sorted(self.categories.values(), key=lambda n: n.name):
            parent = self.categories.get(node.parent_id) if node.parent_id is not None else None
            if parent is not None:
                node.parent = parent
                parent.children.append(node)
        self.by_slug = {node.slug: node for node in self.categories.values()}
        self.departments = sorted((n for n in self.categories.values() if n.parent_id is None), key=lambda n: n.name)
        self._orders = _orders(eligible_rows)
        ids, category_ids, _ = self._orders[POPULAR]
        self._category_of: dict[int, int] = dict(zip(ids.tolist(), category_ids.tolist()))
        self.eligible = self._category_of.keys()  # a set view: membership without a copy
        self.campaigns = tuple(
            CampaignCard(c.name, c.target_category_id, c.target_brand, c.offer, c.offer_kind, c.headline,
                         c.body or "", c.starts_at, c.ends_at, c.is_active,
                         promo_type=c.promo_type, promo_value=c.promo_value, promo_buy=c.promo_buy,
                         target_product_ids=tuple(c.target_product_ids or ()),
                         id=c.id, target_category=self.categories.get(c.target_category_id))
            for c in campaigns
        )
        self._cards: dict[int, ProductCard] = {}
        self._images: dict[int, str | None] = {}  # product id -> its card picture's file name
        self._details: dict[int, Any] = {}  # product id -> its page's gallery and feed facts
        self._descendants: dict[int, frozenset[int]] = {}
        self._fragments: dict[Any, Any] = {}  # rendered pieces of pages (a product card's face)

    # -- categories ---------------------------------------------------------------------------

    def category_by_slug(self, slug: str) -> CategoryNode | None:
        return self.by_slug.get(slug)

    def descendants(self, category_id: int) -> frozenset[int]:
        """The category and every category below it."""
        found = self._descendants.get(category_id)
        if found is None:
            ids, frontier = [category_id], [self.categories[category_id]] if category_id in self.categories else []
            while frontier:
                frontier = [child for node in frontier for child in node.children]
                ids.extend(node.id for node in frontier)
            found = self._descendants[category_id] = frozenset(ids)
        return found

    # -- eligible products --------------------------------------------------------------------

    def ranked(self, limit: int, skip: Collection[int], *, categories: Collection[int] | None = None,
               popular_only: bool = False, order: str = POPULAR) -> list[int]:
        """Up to ``limit`` eligible product ids, best first by ``order``, in ``categories`` (if
        given), with some popularity (if ``popular_only``), not in ``skip``."""
        if limit <= 0:
            return []
        ids, category_ids, popularity = self._orders[order]
        mask = np.ones(len(ids), dtype=bool)
        if categories is not None:
            mask &= np.isin(category_ids, np.fromiter(categories, dtype=np.int64))
        if popular_only:
            mask &= popularity > 0
        if skip:
            mask &= ~np.isin(ids, np.fromiter(skip, dtype=np.int64))
        return ids[np.flatnonzero(mask)[:limit]].tolist()

    def category_of(self, product_id: int) -> int | None:
        """The category of an eligible product (None for one no widget may show)."""
        return self._category_of.get(product_id)

    def eligible_in_order(self, product_ids: Iterable[int], skip: Collection[int],
                          categories: Collection[int] | None = None) -> list[int]:
        """The eligible ones of ``product_ids`` (a model's ranking), in its order, deduplicated."""
        wanted = []
        for pid in dict.fromkeys(product_ids):
            if pid in self.eligible and pid not in skip:
                if categories is None or self._category_of[pid] in categories:
                    wanted.append(pid)
        return wanted

    # -- cards --------------------------------------------------------------------------------

    def cards(self, product_ids: Iterable[int]) -> list[ProductCard]:
        """The cards of ``product_ids`` in their order (ids the database no longer has are left
        out); the missing ones are loaded in one query."""
        ids = list(product_ids)
        missing = [pid for pid in ids if pid not in self._cards]
        if missing:
            if len(self._cards) + len(missing) > MAX_CARDS:
                self._cards = {}
            for row in db.session.execute(select(*_CARD_COLUMNS).where(Product.id.in_(missing))):
                category = self.categories.get(row.category_id)
                if category is not None:
                    self._cards[row.id] = ProductCard(**row._asdict(), category=category)
            self.card_images(missing)
        return [self._cards[pid] for pid in ids if pid in self._cards]

    def card_images(self, product_ids: Iterable[int]) -> dict[int, str | None]:
        """product id -> the file name of its card picture (None: it has none), the unknown ones
        loaded in one query (a listing asks for its page's products before drawing them)."""
        ids = list(dict.fromkeys(product_ids))
        known = {pid: self._images[pid] for pid in ids if pid in self._images}
        missing = [pid for pid in ids if pid not in known]
        if missing:
            found = images.card_files(missing)
            if len(self._images) + len(missing) > MAX_CARDS:
                self._images = {}
            fresh = {pid: found.get(pid) for pid in missing}
            self._images.update(fresh)
            known.update(fresh)
        return {pid: known[pid] for pid in ids}

    def product_details(self, product_id: int, load: Callable[[], Any]) -> Any:
        """A product page's pictures and feed facts (``storefront.catalog.product_details``),
        ``load()``-ed once per version: their tables move the version like the cards' do."""
        return _kept(self._details, product_id, load)

    def fragment(self, key: Any, build: Callable[[], Any]) -> Any:
        """What ``build()`` made for ``key`` in this version (a product card's rendered face):
        valid as long as the version, since whatever a card shows moves the version."""
        return _kept(self._fragments, key, build)


def _kept(store: dict, key: Any, build: Callable[[], Any]) -> Any:
    """``store[key]``, built on first use; at most ``MAX_CARDS`` entries (then it starts over)."""
    found = store.get(key)
    if found is None:
        if len(store) >= MAX_CARDS:
            store.clear()
        found = store[key] = build()
    return found


_CARD_COLUMNS = (Product.id, Product.sku, Product.name, Product.brand, Product.price, Product.stock,
                 Product.active, Product.category_id, Product.popularity, Product.created_at)


def _orders(rows) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ids, category ids, popularity) of the eligible products, most popular first and newest first."""
    rows = list(rows)
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    categories = np.array([r[1] for r in rows], dtype=np.int64)
    popularity = np.array([r[2] or 0.0 for r in rows], dtype=np.float64)
    created = np.array([r[3].timestamp() if r[3] else 0.0 for r in rows], dtype=np.float64)
    # np.lexsort sorts by the last key first: popularity desc, then newest, then id
    popular = np.lexsort((ids, -created, -popularity)) if len(rows) else np.array([], dtype=np.int64)
    newest = np.lexsort((-ids, -created)) if len(rows) else np.array([], dtype=np.int64)
    return {
        POPULAR: (ids[popular], categories[popular], popularity[popular]),
        NEWEST: (ids[newest], categories[newest], popularity[newest]),
    }


def _read_version() -> int:
    return int(db.session.scalar(select(CatalogState.version).where(CatalogState.id == 1)) or 0)


def _build(version: int) -> CatalogSnapshot:
    categories = list(db.session.scalars(select(Category)))
    eligible = db.session.execute(
        select(Product.id, Product.category_id, Product.popularity, Product.created_at)
        .where(Product.active.is_(True), Product.stock > 0)
    )
    campaigns = list(db.session.scalars(select(Campaign).where(Campaign.is_active.is_(True))
                                        .order_by(Campaign.starts_at.desc(), Campaign.id)))
    return CatalogSnapshot(version, categories, eligible, campaigns)


class CatalogCache:
    """One per app: the current snapshot, rebuilt when the version moves."""

    def __init__(self, check_interval: float):
        self.check_interval = check_interval
        self._snapshot: CatalogSnapshot | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def snapshot(self) -> CatalogSnapshot:
        now = time.monotonic()
        current = self._snapshot
        if current is not None and now - self._checked_at < self.check_interval:
            return current
        version = _read_version()
        if current is None or current.version != version:
            with self._lock:
                current = self._snapshot
                if current is None or current.version != version:
                    current = self._snapshot = _build(version)
        self._checked_at = now
        return current


def init_app(app: Flask) -> None:
    app.extensions["catalog_cache"] = CatalogCache(float(app.config["CATALOG_CHECK_INTERVAL"]))


def current(memo: MutableMapping[str, Any] | None = None) -> CatalogSnapshot:
    """The snapshot for this request (``memo``: its context's memo, so one request sees one
    version and asks for it once), or for this moment (outside a request)."""
    if memo is not None:
        found = memo.get(MEMO_KEY)
        if found is not None:
            return found
    snap = current_app.extensions["catalog_cache"].snapshot()
    if memo is not None:
        memo[MEMO_KEY] = snap
    return snap

"""``flask catalog import``: a merchant's product feed (DATA_FORMATS.md, section 6) into the shop.

The file is read whole by the strict reader :func:`ml.datasets.merchant_feed.read_feed` first: a
bad row stops the import before anything is written (every bad row reported by line, or item in
XML). Then, in the caller's transaction:

- the category tree from each ``product_type`` path (``Home > Kitchen > Cookware``): a level is
  found by its name under its parent (case-insensitive), so a department of the demo shop or an
  earlier feed is reused and the same name under two parents stays two categories; a product
  without a path goes to "Imported";
- products upserted by the merchant's id, kept verbatim as ``Product.sku`` (ids are strings:
  ``A-12``, ``0042``): a re-import updates name, description, brand, price, stock and category
  and never adds a second product;
- one ``ProductFeedEntry`` per product (regular price, sale and its dates, GTIN, MPN, link,
  variants, details), and its pictures' URLs as ``ProductImage`` rows, in the feed's order
  (URLs the feed no longer lists are removed; uploads are kept). Downloading them is
  :mod:`storefront.imports.image_fetch`, after the commit, when asked.

Price charged: the sale price while the sale's dates (if any) include the import's time, else the
price. Stock: a ``quantity`` column wins; otherwise ``out_of_stock``, ``preorder`` and ``backorder``
are 0 (the shop sells only what it holds) and ``in_stock`` keeps the shop's own count while it
is above zero (sales since the last import are not undone), else becomes ``in_stock_quantity``.

Ledger: the file's sha256 in ``data_imports`` (source ``catalog-feed``): the same bytes again
import nothing unless ``force`` (a sale starting later than the last import). The triggers of
``storefront.models.catalog_version`` move the catalog version on every product, category or
picture written, so the web workers' snapshots refresh within seconds.
"""
from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from ml.datasets.merchant_feed import FeedItem, read_feed
from storefront.extensions import db
from storefront.imports.logs import IMPORTED_NAME, file_sha256
from storefront.models import Category, DataImport, Product
from storefront.models.common import utcnow
from storefront.models.product_details import FROM_FEED, ProductFeedEntry, ProductImage

SOURCE = "catalog-feed"
CHUNK = 500  # ids per IN (...) lookup
Progress = Callable[[str, int], None]


@dataclass
class CatalogReport:
    file: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    categories: int = 0
    not_for_sale: int = 0  # preorder / backorder without a quantity: listed, stock 0
    images_added: int = 0
    images_removed: int = 0
    deactivated: int = 0
    reactivated: int = 0
    seconds: float = 0.0
    already_imported: bool = False
    removed_files: list[tuple[str, str]] = field(default_factory=list)  # to prune after the commit

    def summary(self) -> str:
        if self.already_imported:
            return f"{self.file} was already imported (same content): nothing to do (--force applies it again)."
        parts = [f"{self.rows:,} products: {self.created:,} new, {self.updated:,} updated, "
                 f"{self.unchanged:,} unchanged; {self.categories:,} new categories; "
                 f"{self.images_added:,} picture URLs added, {self.images_removed:,} removed"]
        if self.not_for_sale:
            parts.append(f"{self.not_for_sale:,} on preorder or backorder are listed with no stock (not sold)")
        if self.deactivated or self.reactivated:
            parts.append(f"{self.deactivated:,} products missing from the feed switched off, "
                         f"{self.reactivated:,} back in it switched on")
        return "; ".join(parts) + "."


class CategoryTree:
    """Categories by (parent id, lower-cased name); creates the levels a path lacks."""

    def __init__(self, report: CatalogReport) -> None:
        self.report = report
        rows = db.session.execute(select(Category.id, Category.parent_id, Category.name, Category.slug)).all()
        self.by_name = {(parent, name.casefold()): cid for cid, parent, name, _ in rows}
        self.slugs = {slug: cid for cid, _, _, slug in rows}
        self.slug_of = {cid: slug for cid, _, _, slug in rows}

    def _slug(self, name: str, parent: int | None) -> str:
        base = slugify(name)
        candidates = [base]
        if parent is not None:
            candidates.append(f"{self.slug_of[parent]}-{base}"[:130].strip("-"))
        for candidate in candidates:
            if candidate not in self.slugs:
                return candidate
        n = 2
        while f"{candidates[-1]}-{n}" in self.slugs:
            n += 1
        return f"{candidates[-1]}-{n}"

    def leaf(self, path: Sequence[str]) -> int:
        parent: int | None = None
        for name in path or (IMPORTED_NAME,):
            found = self.by_name.get((parent, name.casefold()))
            if found is None:
                slug = self._slug(name, parent)
                node = Category(name=name, slug=slug, parent_id=parent,
                                description="Imported from the merchant's product feed.")
                db.session.add(node)
                db.session.flush()
                found = self.by_name[(parent, name.casefold())] = node.id
                self.slugs[slug], self.slug_of[node.id] = node.id, slug
                self.report.categories += 1
            parent = found
        assert parent is not None
        return parent


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:120] or "category"


def _stock(item: FeedItem, product: Product | None, in_stock_quantity: int) -> int:
    if item.quantity is not None:
        return item.quantity
    if item.availability != "in_stock":
        return 0
    if product is not None and product.stock > 0:
        return product.stock
    return in_stock_quantity


def _by_sku(skus: list[str]) -> dict[str, Product]:
    found: dict[str, Product] = {}
    for start in range(0, len(skus), CHUNK):
        found.update((p.sku, p) for p in db.session.scalars(select(Product).where(Product.sku.in_(skus[start:start + CHUNK]))))
    return found


def _rows_of(model, column, ids: list[int], *criteria) -> list:
    rows = []
    for start in range(0, len(ids), CHUNK):
        rows.extend(db.session.scalars(select(model).where(column.in_(ids[start:start + CHUNK]), *criteria)))
    return rows


def _claim(path: Path, force: bool, report: CatalogReport) -> DataImport | None:
    digest = file_sha256(path)
    entry = db.session.scalar(select(DataImport).where(DataImport.source == SOURCE, DataImport.sha256 == digest))
    if entry is not None and not force:
        report.already_imported = True
        return None
    if entry is None:
        entry = DataImport(source=SOURCE, file_name=path.name[:255], sha256=digest, size_bytes=path.stat().st_size,
                           rows=0, events=0, seconds=0.0)
        db.session.add(entry)
    entry.imported_at = utcnow()
    db.session.flush()
    return entry


def _product_state(product: Product) -> tuple:
    return (product.name, product.description, product.brand, product.price, product.stock, product.category_id,
            product.active)


def _entry_values(item: FeedItem) -> dict:
    return {"availability": item.availability, "currency": item.currency, "regular_price": item.price,
            "sale_price": item.sale_price, "sale_starts_at": item.sale_start, "sale_ends_at": item.sale_end,
            "link": item.link, "gtin": item.gtin, "mpn": item.mpn, "condition": item.condition,
            "google_product_category": item.google_product_category, "item_group_id": item.item_group_id,
            "details": item.extra or None}


def _sync_images(item: FeedItem, product_id: int, current: list[ProductImage], report: CatalogReport) -> bool:
    """The product's feed pictures become the item's URLs, in order; whether anything changed."""
    by_url = {row.source_url: row for row in current}
    changed = False
    for position, url in enumerate(item.image_links):
        row = by_url.pop(url, None)
        if row is None:
            db.session.add(ProductImage(product_id=product_id, position=position, source=FROM_FEED, source_url=url,
                                        created_at=utcnow()))
            report.images_added += 1
            changed = True
        elif row.position != position:
            row.position = position
            changed = True
    for row in by_url.values():
        if row.file_key and row.file_ext:
            report.removed_files.append((row.file_key, row.file_ext))
        db.session.delete(row)
        report.images_removed += 1
        changed = True
    return changed


def import_catalog(path: str | Path, *, currency: str | None = "USD", in_stock_quantity: int = 100,
                   deactivate_missing: bool = False, force: bool = False, now: datetime | None = None,
                   progress: Progress | None = None) -> CatalogReport:
    """Import the feed at ``path`` (see the module doc); flushes, the caller commits.

    Raises :class:`~ml.data.DataFormatError` (every bad row) before writing anything.
    """
    progress = progress or (lambda stage, rows: None)
    started = time.perf_counter()
    path = Path(path)
    progress("reading", 0)
    items = read_feed(path, currency)
    report = CatalogReport(file=path.name, rows=len(items))
    ledger = _claim(path, force, report)
    if ledger is None:
        return report
    now = now or utcnow()
    tree = CategoryTree(report)
    existing = _by_sku([item.id for item in items])
    before = {sku: _product_state(product) for sku, product in existing.items()}
    entries = {e.product_id: e for e in _rows_of(ProductFeedEntry, ProductFeedEntry.product_id,
                                                 [p.id for p in existing.values()])}
    progress("products", 0)
    products: list[tuple[FeedItem, Product]] = []
    for item in items:
        product = existing.get(item.id)
        values = {"name": item.title, "description": item.description, "brand": item.brand,
                  "price": item.price_at(now), "stock": _stock(item, product, in_stock_quantity),
                  "category_id": tree.leaf(item.category_path)}
        if product is None:
            product = Product(sku=item.id, active=True, created_at=now, popularity=0.0, **values)
            db.session.add(product)
        else:
            for name, value in values.items():
                setattr(product, name, value)
        if item.quantity is None and item.availability in ("preorder", "backorder"):
            report.not_for_sale += 1
        products.append((item, product))
        progress("products", 1)
    db.session.flush()  # ids of the new products
    ids = [product.id for _, product in products]
    feed_images: dict[int, list[ProductImage]] = {}
    for row in _rows_of(ProductImage, ProductImage.product_id, ids, ProductImage.source == FROM_FEED):
        feed_images.setdefault(row.product_id, []).append(row)
    for item, product in products:
        entry = entries.get(product.id)
        changed = entry is None
        if entry is None:
            entry = ProductFeedEntry(product_id=product.id, **_entry_values(item))
            db.session.add(entry)
        else:
            for name, value in _entry_values(item).items():
                if getattr(entry, name) != value:
                    setattr(entry, name, value)
                    changed = True
            if entry.deactivated_by_import:
                entry.deactivated_by_import, product.active = False, True
                report.reactivated += 1
                changed = True
        if changed:
            entry.updated_at = now  # only then: an unchanged row is not rewritten (nor the catalog version moved)
        changed = _sync_images(item, product.id, feed_images.get(product.id, []), report) or changed
        if item.id not in before:
            report.created += 1
        elif changed or before[item.id] != _product_state(product):
            report.updated += 1
        else:
            report.unchanged += 1
    if deactivate_missing:
        _deactivate_missing({item.id for item in items}, report)
    db.session.flush()
    report.seconds = time.perf_counter() - started
    ledger.file_name = path.name[:255]
    ledger.rows, ledger.events, ledger.seconds = report.rows, report.created + report.updated, round(report.seconds, 3)
    db.session.flush()
    return report


def _deactivate_missing(listed: set[str], report: CatalogReport) -> None:
    """Switch off the active products of earlier feeds that this one no longer lists."""
    query = (select(Product, ProductFeedEntry).join(ProductFeedEntry, ProductFeedEntry.product_id == Product.id)
             .where(Product.active.is_(True)))
    for product, entry in db.session.execute(query):
        if product.sku not in listed:
            product.active, entry.deactivated_by_import = False, True
            report.deactivated += 1

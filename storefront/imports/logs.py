"""``flask data import``: public e-commerce logs (DATA_FORMATS.md, sections 1 and 2) into the shop.

The shared machinery is here: the ledger that makes imports idempotent, the mapping of external
ids to database ids, and :class:`EventLoader`, which turns validated chunks (from the streaming
readers of :mod:`ml.datasets`) into visitors, products, orders and events. The format specifics
are in :mod:`storefront.imports.retailrocket` and :mod:`storefront.imports.yoochoose`.

All or nothing: everything happens in the caller's transaction, and a reader raises
:class:`~ml.data.DataFormatError` (every bad line, by number) at the end of a file with a bad
line, so the caller's rollback leaves the database exactly as it was. Rows that cannot be
attributed to anyone (visitor or session id ``None`` or empty) are not malformed: they are left
out and listed in the report (:meth:`ImportReport.skipping`), or errors with ``strict``.

Idempotent, two rules:

- a file is recorded in ``data_imports`` by source and sha256: the same bytes again, under any
  name, import nothing ("already imported");
- a different file that overlaps an earlier one (a longer export of the same log): for visitors
  that existed before the import, an event equal to one already stored (same visitor, product,
  type and time) is skipped. Orders are keyed by their external id (``RR<transactionid>``,
  ``YC<session>``): an order already present gets no new lines.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select, text

from ml.datasets.tables import SkippedRows
from storefront.database import refresh_statistics, suspend_foreign_keys
from storefront.extensions import db
from storefront.models import Category, DataImport
from storefront.models.common import utcnow
from storefront.imports.bulk import BulkWriter

Progress = Callable[[str, int], None]  # (stage, rows done in this call)
IMPORTED_SLUG, IMPORTED_NAME = "imported", "Imported"
_DENSE_LIMIT = 50_000_000  # external ids below this are mapped through an array, others a dict
_IN_BATCH = 500


class AlreadyImported(Exception):
    """Not an error: the file was imported before (same source, same sha256)."""


@dataclass
class ImportReport:
    source: str
    file: str
    rows: int = 0
    events: int = 0
    duplicates: int = 0
    visitors: int = 0
    products: int = 0
    categories: int = 0
    orders: int = 0
    order_lines: int = 0
    seconds: float = 0.0
    already_imported: bool = False
    notes: list[str] = field(default_factory=list)
    # (file name, its rows left out): a merged report covers two files with their own line numbers
    skipped: list[tuple[str, SkippedRows]] = field(default_factory=list)

    def skipping(self, path: Path, strict: bool) -> SkippedRows | None:
        """Where the reader of ``path`` lists the rows it leaves out; None (``strict``): it
        refuses them instead, so the import fails."""
        if strict:
            return None
        rows = SkippedRows()
        self.skipped.append((path.name, rows))
        return rows

    def summary(self) -> str:
        if self.already_imported:
            return f"{self.file} was already imported ({self.source}): nothing to do."
        rate = self.rows / self.seconds if self.seconds else 0.0
        skipped = "".join(f" {name}: {rows.describe()}." for name, rows in self.skipped if rows)
        return (f"{self.rows:,} rows in {self.seconds:.1f} s ({rate:,.0f} rows/s): {self.events:,} events "
                f"({self.duplicates:,} already present), {self.visitors:,} new visitors, {self.products:,} new "
                f"products, {self.categories:,} new categories, {self.orders:,} new orders "
                f"({self.order_lines:,} lines).{skipped}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def claim_file(source: str, path: Path) -> DataImport:
    """Record ``path`` in the ledger (first write of the import: on SQLite it takes the write
    lock, so the max(id)+1 keys that follow are safe) or raise :class:`AlreadyImported`."""
    digest = file_sha256(path)
    if db.session.scalar(select(DataImport.id).where(DataImport.source == source, DataImport.sha256 == digest)):
        raise AlreadyImported(path.name)
    entry = DataImport(source=source, file_name=path.name[:255], sha256=digest, size_bytes=path.stat().st_size,
                       rows=0, events=0, seconds=0.0, imported_at=utcnow())
    db.session.add(entry)
    db.session.flush()
    return entry


class KeyMap:
    """External integer id -> database id (-1 when unknown), vectorised."""

    def __init__(self) -> None:
        self.dense = np.full(0, -1, dtype=np.int64)
        self.sparse: dict[int, int] = {}

    def get(self, keys: np.ndarray) -> np.ndarray:
        ids = np.full(len(keys), -1, dtype=np.int64)
        near = (keys >= 0) & (keys < len(self.dense))
        ids[near] = self.dense[keys[near]]
        far = np.flatnonzero((keys < 0) | (keys >= _DENSE_LIMIT))
        if len(far) and self.sparse:
            ids[far] = [self.sparse.get(int(k), -1) for k in keys[far]]
        return ids

    def set(self, keys: np.ndarray, ids: np.ndarray) -> None:
        small = (keys >= 0) & (keys < _DENSE_LIMIT)
        if small.any():
            top = int(keys[small].max()) + 1
            if top > len(self.dense):
                grown = np.full(max(top, len(self.dense) * 5 // 4), -1, dtype=np.int64)
                grown[: len(self.dense)] = self.dense
                self.dense = grown
            self.dense[keys[small]] = ids[small]
        self.sparse.update(zip(keys[~small].tolist(), ids[~small].tolist()))


def load_keys(column, prefix: str, id_column) -> KeyMap:
    """A KeyMap of the rows whose ``column`` is ``prefix<integer>`` (tokens, SKUs, references)."""
    keys = KeyMap()
    rows = db.session.execute(select(column, id_column).where(column.startswith(prefix, autoescape=True))).all()
    external, ids = [], []
    for value, row_id in rows:
        tail = value[len(prefix):]
        if tail.isdigit():
            external.append(int(tail))
            ids.append(row_id)
    if external:
        keys.set(np.asarray(external, dtype=np.int64), np.asarray(ids, dtype=np.int64))
    return keys


def ensure_categories(writer: BulkWriter, wanted: dict[str, tuple[str, str | None]]) -> tuple[dict[str, int], int]:
    """Categories by slug: ``wanted`` maps slug -> (name, parent slug or None); creates the
    missing ones (parents linked afterwards, so the order of the tree file does not matter).
    Returns slug -> id for every existing category and the number created."""
    existing = dict(db.session.execute(select(Category.slug, Category.id)).all())
    new = [slug for slug in wanted if slug not in existing]
    if new:
        ids = writer.allocate("categories", len(new))
        frame = pd.DataFrame({"id": ids, "name": [wanted[s][0] for s in new], "slug": new,
                              "description": "Imported category."})
        writer.insert("categories", frame)
        existing.update(zip(new, ids.tolist()))
        links = [(existing[wanted[s][1]], existing[s]) for s in new if wanted[s][1] in existing and wanted[s][1] != s]
        writer.update_many("UPDATE categories SET parent_id = ? WHERE id = ?", links)
    return existing, len(new)


ProductRows = Callable[[np.ndarray, np.ndarray], pd.DataFrame]  # (item keys, first seen) -> columns


@dataclass
class EventBatch:
    visitors: np.ndarray  # int64 external visitor ids
    items: np.ndarray  # int64 external item ids
    types: np.ndarray  # str
    times: np.ndarray  # datetime64[ms], naive UTC
    orders: np.ndarray  # int64 external order keys, -1 for none
    sessions: np.ndarray | None = None  # str session ids (YOOCHOOSE)
    prices: np.ndarray | None = None  # float unit prices of purchases (YOOCHOOSE buys)
    quantities: np.ndarray | None = None


class EventLoader:
    """Writes event batches: new visitors, products and orders first (ids assigned here), then
    the events; remembers every transaction row of a new order for the order lines."""

    def __init__(self, writer: BulkWriter, report: ImportReport, visitor_prefix: str, sku_prefix: str,
                 order_prefix: str, product_rows: ProductRows, device: str = "unknown") -> None:
        from storefront.models import Order, Product, Visitor

        self.writer, self.report, self.device = writer, report, device
        self.visitor_prefix, self.sku_prefix, self.order_prefix = visitor_prefix, sku_prefix, order_prefix
        self.product_rows = product_rows
        self.visitor_ids = load_keys(Visitor.token, visitor_prefix, Visitor.id)
        self.product_ids = load_keys(Product.sku, sku_prefix, Product.id)
        self.order_ids = load_keys(Order.reference, order_prefix, Order.id)
        self.old_visitors = set(self.visitor_ids.sparse.values()) | set(self.visitor_ids.dense[self.visitor_ids.dense >= 0].tolist())
        self.new_order_ids: list[np.ndarray] = []
        self.purchases: list[pd.DataFrame] = []  # order_id, product_id, item, time of new orders

    def _ensure(self, keys: KeyMap, table: str, external: np.ndarray, times: np.ndarray,
                build: Callable[[np.ndarray, np.ndarray, np.ndarray], pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
        ids = keys.get(external)
        missing = ids < 0
        if not missing.any():
            return ids, np.zeros(0, dtype=np.int64)
        first = pd.Series(times[missing]).groupby(external[missing]).min()
        new_keys = first.index.to_numpy(dtype=np.int64)
        new_ids = self.writer.allocate(table, len(new_keys))
        self.writer.insert(table, build(new_keys, new_ids, first.to_numpy()))
        keys.set(new_keys, new_ids)
        return keys.get(external), new_ids

    def _visitors(self, keys, ids, first):
        return pd.DataFrame({"id": ids, "token": [f"{self.visitor_prefix}{k}" for k in keys.tolist()], "created_at": first})

    def _products(self, keys, ids, first):
        frame = self.product_rows(keys, first)
        frame.insert(0, "id", ids)
        frame.insert(1, "sku", [f"{self.sku_prefix}{k}" for k in keys.tolist()])
        return frame

    def add(self, batch: EventBatch, visitor_of_order: Callable[[np.ndarray], np.ndarray] | None = None) -> int:
        visitor_ids, new_visitors = self._ensure(self.visitor_ids, "visitors", batch.visitors, batch.times, self._visitors)
        product_ids, new_products = self._ensure(self.product_ids, "products", batch.items, batch.times, self._products)
        self.report.visitors += len(new_visitors)
        self.report.products += len(new_products)
        order_ids = np.full(len(batch.orders), -1, dtype=np.int64)
        bought = batch.orders >= 0
        if bought.any():
            by_order = pd.DataFrame({"key": batch.orders[bought], "visitor": visitor_ids[bought], "time": batch.times[bought]})
            first = by_order.groupby("key").first()

            def build(keys, ids, created):
                visitors = first.loc[keys, "visitor"].to_numpy()
                return pd.DataFrame({
                    "id": ids, "reference": [f"{self.order_prefix}{k}" for k in keys.tolist()], "visitor_id": visitors,
                    "email": [f"visitor-{v}@import.invalid" for v in visitors.tolist()], "name": "Imported visitor",
                    "address_line": "", "city": "", "postcode": "", "country": "", "status": "paid",
                    "payment_last4": "", "total": 0.0, "created_at": created})

            ids, new_orders = self._ensure(self.order_ids, "orders", batch.orders[bought], batch.times[bought], build)
            order_ids[bought] = ids
            self.report.orders += len(new_orders)
            if len(new_orders):
                self.new_order_ids.append(new_orders)
                fresh = np.isin(ids, new_orders)
                purchases = pd.DataFrame({
                    "order_id": ids[fresh], "product_id": product_ids[bought][fresh],
                    "item": batch.items[bought][fresh], "time": batch.times[bought][fresh]})
                if batch.prices is not None and batch.quantities is not None:
                    purchases["price"] = batch.prices[bought][fresh]
                    purchases["quantity"] = batch.quantities[bought][fresh]
                self.purchases.append(purchases)
        frame = pd.DataFrame({
            "visitor_id": visitor_ids, "product_id": product_ids,
            "order_id": pd.array(np.where(order_ids >= 0, order_ids, 0), dtype="Int64"),
            "type": batch.types, "occurred_at": batch.times,
            "session_id": batch.sessions if batch.sessions is not None else "", "device": self.device})
        frame.loc[order_ids < 0, "order_id"] = pd.NA
        # In time order: the time-leading events indexes then grow at their end (data_import_bulk).
        frame = self._drop_known(frame).sort_values("occurred_at", kind="stable")
        self.writer.insert("events", frame)
        self.report.events += len(frame)
        self.report.rows += len(batch.visitors)
        return len(batch.visitors)

    def _drop_known(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Events of visitors that existed before this import, equal to one stored: skipped."""
        if not self.old_visitors:
            return frame
        old = frame["visitor_id"].isin(self.old_visitors).to_numpy()
        if not old.any():
            return frame
        visitors = sorted(set(frame.loc[old, "visitor_id"].tolist()))
        stored = set()
        for start in range(0, len(visitors), _IN_BATCH):
            rows = db.session.execute(text(
                "SELECT visitor_id, product_id, type, occurred_at FROM events WHERE visitor_id IN "
                f"({', '.join(str(int(v)) for v in visitors[start:start + _IN_BATCH])})")).all()
            stored.update((v, p, t, pd.Timestamp(o).value // 1000) for v, p, t, o in rows)
        times = frame["occurred_at"].to_numpy().astype("datetime64[us]").astype(np.int64)
        keep = np.ones(len(frame), dtype=bool)
        for i in np.flatnonzero(old):
            key = (int(frame.iat[i, 0]), int(frame.iat[i, 1]), frame.iat[i, 3], int(times[i]))
            keep[i] = key not in stored
        self.report.duplicates += int((~keep).sum())
        return frame[keep]

    def finish_orders(self, lines: pd.DataFrame) -> None:
        """Insert order lines (order_id, product_id, product_name, unit_price, quantity) and set
        the totals of the orders created by this import."""
        if lines.empty:
            return
        ids = self.writer.allocate("order_lines", len(lines))
        lines = lines.assign(id=ids)[["id", "order_id", "product_id", "product_name", "unit_price", "quantity"]]
        self.writer.insert("order_lines", lines)
        self.report.order_lines += len(lines)
        totals = (lines["unit_price"] * lines["quantity"]).groupby(lines["order_id"]).sum().round(2)
        self.writer.update_many("UPDATE orders SET total = ? WHERE id = ?",
                                list(zip(totals.tolist(), totals.index.astype(int).tolist())))


def finish_import(writer: BulkWriter, entry: DataImport, report: ImportReport, started: float,
                  progress: Progress) -> ImportReport:
    from storefront.catalog.listings import refresh_popularity

    progress("indexes", 0)
    writer.finish()
    progress("popularity", 0)
    refresh_popularity()
    progress("statistics", 0)
    refresh_statistics(writer.connection)  # after refresh_popularity's flush: every row is written
    report.seconds = time.perf_counter() - started
    entry.rows, entry.events, entry.seconds = report.rows, report.events, round(report.seconds, 3)
    db.session.flush()
    return report


def run_import(source: str, path: Path, body: Callable[[BulkWriter, ImportReport, Progress], None],
               progress: Progress | None = None, keep_indexes: bool = False) -> ImportReport:
    """Claim the file, run the format's ``body`` with a writer, finish; the caller commits."""
    progress = progress or (lambda stage, rows: None)
    started = time.perf_counter()
    report = ImportReport(source=source, file=path.name)
    connection = db.session.connection()
    suspend_foreign_keys(connection)  # SQLite, before the first write; every id is assigned here
    try:
        entry = claim_file(source, path)
    except AlreadyImported:
        report.already_imported = True
        return report
    writer = BulkWriter(connection, keep_indexes=keep_indexes)
    try:
        body(writer, report, progress)
        return finish_import(writer, entry, report, started, progress)
    except BaseException:
        writer.abandon()
        raise


def imported_category(writer: BulkWriter, report: ImportReport) -> int:
    slugs, created = ensure_categories(writer, {IMPORTED_SLUG: (IMPORTED_NAME, None)})
    report.categories += created
    return slugs[IMPORTED_SLUG]


def as_paths(paths: Sequence[str | Path]) -> list[Path]:
    return [Path(p) for p in paths]

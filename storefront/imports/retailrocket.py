"""The Retailrocket dataset (DATA_FORMATS.md, section 1) into the shop.

- visitors: ``visitorid`` -> token ``rr:<visitorid>``;
- products: ``itemid`` -> SKU ``rr-<itemid>``, named "Item <itemid>". From the property files
  (optional), the item's latest snapshot gives its category (``categoryid``), availability
  (``available``) and price: property ``790`` is widely taken to be the price (a scaled one: the
  dataset hides it in plain sight), so its number (``n5040.000`` -> 5040.00) is the price.
  An item with no known price gets 0.00 and no stock: it is listed and viewable but never sold
  at an invented price nor recommended (out of stock); so import the property files to get a
  shop that sells. Availability ``0`` -> stock 0, ``1`` or unknown -> stock 100;
- categories: ``category_tree.csv`` -> "Category <id>" (slug ``rr-category-<id>``) with their
  parents; an item whose category is unknown goes to "Imported";
- events: one per line, type as in the file, the line's UTC time, device "unknown";
- orders: each ``transactionid`` becomes one order ``RR<transactionid>`` of its visitor, at the
  time of its first line, with one line per item (quantity = the item's transaction lines); a
  line's unit price is the ``790`` snapshot that held at the purchase (latest at or before it),
  else the item's price.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ml.datasets.retailrocket import iter_events, item_snapshots, latest_state, read_category_tree
from storefront.imports.logs import (
    EventBatch, EventLoader, ImportReport, Progress, as_paths, ensure_categories, imported_category, run_import,
)
from storefront.imports.bulk import BulkWriter

SOURCE = "retailrocket-events"
IN_STOCK = 100
MAX_PRICE = 99_999_999.99  # Numeric(10, 2)


def category_slug(category: int) -> str:
    return f"rr-category-{category}"


def _categories(writer: BulkWriter, report: ImportReport, tree: pd.DataFrame | None,
                state: pd.DataFrame) -> dict[int, int]:
    wanted: dict[str, tuple[str, str | None]] = {}
    if tree is not None:
        for category, parent in zip(tree["categoryid"].tolist(), tree["parentid"].tolist()):
            wanted[category_slug(category)] = (f"Category {category}", None if pd.isna(parent) else category_slug(int(parent)))
    for category in state["categoryid"].dropna().astype(np.int64).unique().tolist():
        wanted.setdefault(category_slug(category), (f"Category {category}", None))
    for slug, (_, parent) in list(wanted.items()):
        if parent is not None and parent not in wanted:  # a parent missing from the tree: a root
            wanted[parent] = (f"Category {parent.rsplit('-', 1)[1]}", None)
    slugs, created = ensure_categories(writer, wanted)
    report.categories += created
    return {int(slug.rsplit("-", 1)[1]): cid for slug, cid in slugs.items() if slug.startswith("rr-category-")}


def _product_rows(state: pd.DataFrame, category_ids: dict[int, int], fallback: int):
    def rows(items: np.ndarray, first_seen: np.ndarray) -> pd.DataFrame:
        known = state.reindex(items)
        price = known["790"].clip(upper=MAX_PRICE).round(2)
        category = known["categoryid"].map(lambda c: category_ids.get(int(c), fallback) if pd.notna(c) else fallback)
        stock = np.where(price.isna() | (known["available"] == 0), 0, IN_STOCK)
        return pd.DataFrame({
            "name": [f"Item {i}" for i in items.tolist()], "description": "", "brand": "",
            "price": price.fillna(0.0).to_numpy(), "stock": stock, "active": True,
            "category_id": category.to_numpy(dtype=np.int64), "created_at": first_seen, "popularity": 0.0,
        })
    return rows


def _order_lines(loader: EventLoader, snapshots: pd.DataFrame, state: pd.DataFrame) -> pd.DataFrame:
    if not loader.purchases:
        return pd.DataFrame()
    bought = pd.concat(loader.purchases, ignore_index=True)
    lines = (bought.groupby(["order_id", "product_id", "item"], sort=True)
             .agg(quantity=("time", "size"), time=("time", "min")).reset_index())
    prices = snapshots[snapshots["property"] == "790"]
    lines["ms"] = lines["time"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    if len(prices):
        held = pd.merge_asof(lines.sort_values("ms"), prices[["timestamp", "itemid", "value"]].sort_values("timestamp"),
                             left_on="ms", right_on="timestamp", left_by="item", right_by="itemid", direction="backward")
        lines = held.sort_values(["order_id", "product_id"]).reset_index(drop=True)
    else:
        lines["value"] = np.nan
    fallback = state["790"].reindex(lines["item"]).to_numpy() if len(state) else np.full(len(lines), np.nan)
    unit = lines["value"].fillna(pd.Series(fallback, index=lines.index)).fillna(0.0).clip(upper=MAX_PRICE).round(2)
    return pd.DataFrame({"order_id": lines["order_id"], "product_id": lines["product_id"],
                         "product_name": [f"Item {i}" for i in lines["item"].tolist()], "unit_price": unit,
                         "quantity": lines["quantity"].astype(np.int64)})


def import_retailrocket(events_path: str | Path, properties: Sequence[str | Path] = (),
                        categories: str | Path | None = None, progress: Progress | None = None,
                        chunk_rows: int = 250_000, keep_indexes: bool = False, *,
                        strict: bool = False) -> ImportReport:
    """Import ``events.csv`` (+ property files, + category tree); flushes, the caller commits.

    Raises :class:`~ml.data.DataFormatError` (file, line numbers) when any file is malformed,
    after which the caller's rollback leaves the database as it was. Returns a report with
    ``already_imported`` set, having written nothing, when this events file was imported before.
    ``keep_indexes``: never drop the events indexes (see :mod:`data_import_bulk`). Events whose
    ``visitorid`` is ``None`` or empty are skipped and listed by line in the report; ``strict``
    makes them errors instead.
    """
    events_path = Path(events_path)

    def body(writer: BulkWriter, report: ImportReport, progress: Progress) -> None:
        # Small files first: a bad tree or property line stops the import before any event.
        progress("categories and properties", 0)
        tree = read_category_tree(categories) if categories else None
        snapshots = item_snapshots(as_paths(properties))
        state = latest_state(snapshots)
        category_ids = _categories(writer, report, tree, state)
        fallback = imported_category(writer, report)
        loader = EventLoader(writer, report, "rr:", "rr-", "RR", _product_rows(state, category_ids, fallback))
        writer.maybe_drop_event_indexes(events_path.stat().st_size // 32)  # ~32 bytes a line
        for chunk in iter_events(events_path, chunk_rows, report.skipping(events_path, strict)):
            batch = EventBatch(
                visitors=chunk["visitorid"].to_numpy(), items=chunk["itemid"].to_numpy(),
                types=chunk["event"].to_numpy(dtype=object),
                times=chunk["timestamp"].to_numpy().astype("datetime64[ms]"),
                orders=chunk["transactionid"].to_numpy())
            progress("events", loader.add(batch))
        progress("orders", 0)
        loader.finish_orders(_order_lines(loader, snapshots, state))

    return run_import(SOURCE, events_path, body, progress, keep_indexes)

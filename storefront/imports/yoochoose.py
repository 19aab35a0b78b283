"""The RecSys Challenge 2015 (YOOCHOOSE) files (DATA_FORMATS.md, section 2) into the shop.

- visitors: a session is the visitor (the data has no user ids): token ``yc:<session>``;
- products: ``item_id`` -> SKU ``yc-<item_id>``, "Item <item_id>". The click's category column
  describes the item in that click's context; an item takes it from its first chunk of clicks:
  ``1``-``12`` -> category "YOOCHOOSE <n>", else ``S`` -> "Special offers", else "Imported";
  an 8-10 digit brand id becomes the product's ``brand``; ``0`` (unknown) says nothing;
- clicks -> ``view`` events, buys -> ``transaction`` events (``session_id`` = the session);
- orders: a session's buys form one order ``YC<session>`` at its first buy, one line per item:
  quantity = the sum of its buy lines' quantities, a quantity of 0 (unknown in the challenge
  data) counting as 1; unit price = the highest price seen for it in that session (0 stays 0,
  the data does not say);
- prices: a product takes the latest non-zero price of the buys file; products without one keep
  price 0 and no stock, as for Retailrocket (never sold at an invented price).

A row whose ``session_id`` is ``None`` or empty has no visitor: it is skipped and listed by line
in the report (each file's own line numbers), or, with ``strict``, fails the import.

Each file is recorded in the ledger on its own (``yoochoose-clicks``, ``yoochoose-buys``), so
adding the buys file to an earlier clicks-only import imports just the buys.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.datasets.yoochoose import iter_buys, iter_clicks
from storefront.extensions import db
from storefront.imports.logs import (
    EventBatch, EventLoader, ImportReport, Progress, ensure_categories, imported_category, run_import,
)
from storefront.imports.bulk import BulkWriter

IN_STOCK = 100
SPECIAL = "S"
_SPECIAL_SLUG = "yc-special-offers"


def _category_slugs(writer: BulkWriter, report: ImportReport) -> dict[str, int]:
    wanted = {f"yc-category-{n}": (f"YOOCHOOSE {n}", None) for n in range(1, 13)}
    wanted[_SPECIAL_SLUG] = ("Special offers", None)
    slugs, created = ensure_categories(writer, wanted)
    report.categories += created
    return slugs


def _product_rows(categories: dict[int, int], fallback: int, context: dict[str, pd.Series]):
    """Products of new items, described by the clicks of the chunk being loaded (``context``)."""
    def rows(items: np.ndarray, first_seen: np.ndarray) -> pd.DataFrame:
        labels = context.get("category", pd.Series(dtype=str))
        numbered = labels[labels.str.len() <= 2]
        numbered = numbered[numbered.isin([str(n) for n in range(1, 13)])]
        category = numbered.groupby(level=0).first().astype(int).map(categories).reindex(items)
        special = labels[labels == SPECIAL].groupby(level=0).size().reindex(items).notna()
        category = category.fillna(pd.Series(np.where(special, categories[0], fallback), index=items))
        brands = labels[labels.str.len() >= 8].groupby(level=0).first().reindex(items).fillna("")
        return pd.DataFrame({
            "name": [f"Item {i}" for i in items.tolist()], "description": "", "brand": brands.to_numpy(),
            "price": 0.0, "stock": 0, "active": True, "category_id": category.to_numpy(dtype=np.int64),
            "created_at": first_seen, "popularity": 0.0})
    return rows


def _loader(writer: BulkWriter, report: ImportReport, context: dict) -> EventLoader:
    slugs = _category_slugs(writer, report)
    categories = {n: slugs[f"yc-category-{n}"] for n in range(1, 13)}
    categories[0] = slugs[_SPECIAL_SLUG]
    return EventLoader(writer, report, "yc:", "yc-", "YC", _product_rows(categories, imported_category(writer, report), context))


def _clicks_body(path: Path, chunk_rows: int, strict: bool):
    def body(writer: BulkWriter, report: ImportReport, progress: Progress) -> None:
        context: dict[str, pd.Series] = {}
        loader = _loader(writer, report, context)
        writer.maybe_drop_event_indexes(path.stat().st_size // 45)  # ~45 bytes a line
        for chunk in iter_clicks(path, chunk_rows, report.skipping(path, strict)):
            context["category"] = pd.Series(chunk["category"].to_numpy(), index=chunk["item_id"].to_numpy())
            sessions = chunk["session_id"].to_numpy()
            progress("clicks", loader.add(EventBatch(
                visitors=sessions, items=chunk["item_id"].to_numpy(), types=np.full(len(chunk), "view", dtype=object),
                times=chunk["timestamp"].to_numpy(), orders=np.full(len(chunk), -1, dtype=np.int64),
                sessions=sessions.astype(str).astype(object))))
    return body


def _buys_body(path: Path, chunk_rows: int, strict: bool):
    def body(writer: BulkWriter, report: ImportReport, progress: Progress) -> None:
        loader = _loader(writer, report, {})
        prices = []
        for chunk in iter_buys(path, chunk_rows, report.skipping(path, strict)):
            sessions = chunk["session_id"].to_numpy()
            batch = EventBatch(
                visitors=sessions, items=chunk["item_id"].to_numpy(),
                types=np.full(len(chunk), "transaction", dtype=object), times=chunk["timestamp"].to_numpy(),
                orders=sessions, sessions=sessions.astype(str).astype(object),
                prices=chunk["price"].to_numpy(), quantities=chunk["quantity"].to_numpy())
            progress("buys", loader.add(batch))
            prices.append(chunk.loc[chunk["price"] > 0, ["item_id", "timestamp", "price"]])
        progress("orders", 0)
        _set_prices(loader, writer, prices)
        loader.finish_orders(_order_lines(loader))
    return body


def _set_prices(loader: EventLoader, writer: BulkWriter, prices: list[pd.DataFrame]) -> None:
    if not prices:
        return
    latest = pd.concat(prices).sort_values("timestamp", kind="stable").drop_duplicates("item_id", keep="last")
    ids = loader.product_ids.get(latest["item_id"].to_numpy())
    params = [(round(float(p), 2), IN_STOCK, int(i)) for p, i in zip(latest["price"].tolist(), ids.tolist()) if i >= 0]
    writer.update_many("UPDATE products SET price = ?, stock = ? WHERE id = ?", params)


def _order_lines(loader: EventLoader) -> pd.DataFrame:
    if not loader.purchases:
        return pd.DataFrame()
    bought = pd.concat(loader.purchases, ignore_index=True)
    bought["quantity"] = np.maximum(bought["quantity"], 1)
    lines = (bought.groupby(["order_id", "product_id", "item"], sort=True)
             .agg(quantity=("quantity", "sum"), unit_price=("price", "max")).reset_index())
    return pd.DataFrame({"order_id": lines["order_id"], "product_id": lines["product_id"],
                         "product_name": [f"Item {i}" for i in lines["item"].tolist()],
                         "unit_price": lines["unit_price"].round(2), "quantity": lines["quantity"].astype(np.int64)})


def import_yoochoose(clicks_path: str | Path, buys_path: str | Path | None = None,
                     progress: Progress | None = None, chunk_rows: int = 250_000,
                     keep_indexes: bool = False, *, strict: bool = False) -> ImportReport:
    """Import a clicks file and optionally a buys file, in the caller's transaction (it commits).
    Raises :class:`~ml.data.DataFormatError` on a bad line of either file. ``keep_indexes``:
    never drop the events indexes (see :mod:`data_import_bulk`). Rows without a session are
    skipped and listed by line in the report; ``strict`` makes them errors instead."""
    clicks_path = Path(clicks_path)
    report = run_import("yoochoose-clicks", clicks_path, _clicks_body(clicks_path, chunk_rows, strict), progress,
                        keep_indexes)
    if buys_path is None:
        return report
    buys_path = Path(buys_path)
    buys = run_import("yoochoose-buys", buys_path, _buys_body(buys_path, chunk_rows, strict), progress, keep_indexes)
    return merge_reports(report, buys)


def merge_reports(first: ImportReport, second: ImportReport) -> ImportReport:
    if first.already_imported:
        return second if not second.already_imported else first
    if second.already_imported:
        first.notes.append(f"{second.file} was already imported")
        return first
    merged = ImportReport(source="yoochoose", file=f"{first.file} + {second.file}",
                          skipped=first.skipped + second.skipped)
    for name in ("rows", "events", "duplicates", "visitors", "products", "categories", "orders", "order_lines", "seconds"):
        setattr(merged, name, getattr(first, name) + getattr(second, name))
    db.session.flush()
    return merged

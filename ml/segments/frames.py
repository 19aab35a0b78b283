"""The DataFrames the segmentation code reads, their column names and their normalisation.

The storefront builds these tables from its database (the synthetic shop via
:func:`frames_from_synth`); every module of :mod:`ml.segments` reads them through the
``prepare_*`` functions so ids are always strings and times always UTC (one interpretation of
"an id" and "a time" for the whole package, as in :mod:`ml.data.timeutil`).

- orders: ``customer_id, order_id, created_at`` and optionally ``total`` (computed from the
  lines when absent);
- lines: ``order_id, product_id, quantity, unit_price``, in basket order (the order of the rows
  within an order is kept: it is the order of the "sentence" Customer2Vec learns from);
- products: ``product_id, category, department``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.data.timeutil import to_utc_series

CUSTOMER_COL = "customer_id"
ORDER_COL = "order_id"
CREATED_COL = "created_at"
TOTAL_COL = "total"
PRODUCT_COL = "product_id"
QUANTITY_COL = "quantity"
PRICE_COL = "unit_price"
CATEGORY_COL = "category"
DEPARTMENT_COL = "department"

__all__ = [
    "CATEGORY_COL",
    "CREATED_COL",
    "CUSTOMER_COL",
    "DEPARTMENT_COL",
    "ORDER_COL",
    "PRICE_COL",
    "PRODUCT_COL",
    "QUANTITY_COL",
    "TOTAL_COL",
    "frames_from_synth",
    "join_lines",
    "prepare_lines",
    "prepare_orders",
    "prepare_products",
]


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} are missing the column(s): {', '.join(missing)}")


def _ids(values: pd.Series) -> pd.Series:
    if values.isna().any():
        raise ValueError(f"column {values.name!r} contains missing ids")
    return values.astype(str)


def prepare_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Order lines with string ids, a numeric quantity (default 1) and price (default 0)."""
    _require(lines, (ORDER_COL, PRODUCT_COL), "order lines")
    frame = pd.DataFrame({ORDER_COL: _ids(lines[ORDER_COL]), PRODUCT_COL: _ids(lines[PRODUCT_COL])})
    frame[QUANTITY_COL] = (
        pd.to_numeric(lines[QUANTITY_COL]).to_numpy(np.float64) if QUANTITY_COL in lines else 1.0
    )
    frame[PRICE_COL] = (
        pd.to_numeric(lines[PRICE_COL]).to_numpy(np.float64) if PRICE_COL in lines else 0.0
    )
    return frame.reset_index(drop=True)


def prepare_orders(orders: pd.DataFrame, lines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Orders with string ids, UTC times and a ``total``, sorted by (time, order id).

    Without a ``total`` column the total is ``sum(quantity * unit_price)`` over ``lines``
    (orders without lines then total 0). Sorting makes everything downstream independent of
    the row order the caller happened to use.
    """
    _require(orders, (CUSTOMER_COL, ORDER_COL, CREATED_COL), "orders")
    frame = pd.DataFrame(
        {
            CUSTOMER_COL: _ids(orders[CUSTOMER_COL]),
            ORDER_COL: _ids(orders[ORDER_COL]),
            CREATED_COL: to_utc_series(orders[CREATED_COL].reset_index(drop=True)).array,
        }
    )
    if frame[ORDER_COL].duplicated().any():
        raise ValueError("order ids must be unique")
    if TOTAL_COL in orders.columns:
        frame[TOTAL_COL] = pd.to_numeric(orders[TOTAL_COL]).to_numpy(np.float64)
    elif lines is not None:
        prepared = prepare_lines(lines)
        spend = (prepared[QUANTITY_COL] * prepared[PRICE_COL]).groupby(prepared[ORDER_COL]).sum()
        frame[TOTAL_COL] = frame[ORDER_COL].map(spend).fillna(0.0).to_numpy(np.float64)
    else:
        raise ValueError("orders have no 'total' column and no lines to compute it from")
    return frame.sort_values([CREATED_COL, ORDER_COL], kind="stable").reset_index(drop=True)


def prepare_products(products: pd.DataFrame) -> pd.DataFrame:
    """``product_id, category, department`` as strings (a missing department = the category)."""
    _require(products, (PRODUCT_COL, CATEGORY_COL), "products")
    frame = pd.DataFrame(
        {PRODUCT_COL: _ids(products[PRODUCT_COL]), CATEGORY_COL: _ids(products[CATEGORY_COL])}
    )
    if DEPARTMENT_COL in products.columns:
        department = products[DEPARTMENT_COL].reset_index(drop=True)
        filled = department.where(department.notna(), frame[CATEGORY_COL])
        frame[DEPARTMENT_COL] = filled.astype(str)
    else:
        frame[DEPARTMENT_COL] = frame[CATEGORY_COL]
    return frame.drop_duplicates(PRODUCT_COL).reset_index(drop=True)


def join_lines(orders: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Lines of the known orders with ``customer_id`` and ``created_at``, chronological.

    Orders are sorted by (time, order id); lines keep their given (basket) order within an
    order. Lines of unknown orders are dropped.
    """
    prepared = prepare_lines(lines)
    prepared["_pos"] = np.arange(len(prepared))
    head = orders[[CUSTOMER_COL, ORDER_COL, CREATED_COL]]
    joined = prepared.merge(head, on=ORDER_COL, how="inner")
    return joined.sort_values([CREATED_COL, ORDER_COL, "_pos"], kind="stable").drop(
        columns="_pos"
    ).reset_index(drop=True)


def frames_from_synth(shop: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(orders, lines, products) in this package's columns from a :class:`ml.synth.shop.SyntheticShop`.

    The synthetic category tree is two levels deep: a leaf's ``parent_key`` is its department.
    """
    orders = shop.orders.rename(
        columns={"order_key": ORDER_COL, "shopper_key": CUSTOMER_COL}
    )[[CUSTOMER_COL, ORDER_COL, CREATED_COL]]
    lines = shop.order_lines.rename(columns={"order_key": ORDER_COL, "sku": PRODUCT_COL})[
        [ORDER_COL, PRODUCT_COL, QUANTITY_COL, PRICE_COL]
    ]
    parent = shop.categories.set_index("key")["parent_key"]
    products = pd.DataFrame(
        {
            PRODUCT_COL: shop.products["sku"].to_numpy(),
            CATEGORY_COL: shop.products["category_key"].to_numpy(),
            DEPARTMENT_COL: shop.products["category_key"].map(parent).to_numpy(),
        }
    )
    return orders, lines, products

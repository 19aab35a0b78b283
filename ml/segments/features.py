"""The baseline customer representation that k-means segments: what share of their spend went
to each category and department, plus their RFM values, standardised.

Why these features: spend shares describe *what* a customer buys independently of how much,
RFM describes *how* they buy; together they are the classic, explainable segmentation input
that Customer2Vec has to beat. Standardising alone would let the many share columns drown the
three RFM columns, so each block (categories, departments, RFM) is scaled by
``1 / sqrt(block width)`` after the z-score: every block then carries the same total variance.
RFM values enter as ``log1p`` because spend and order counts are long-tailed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.segments.frames import (
    CATEGORY_COL,
    CUSTOMER_COL,
    DEPARTMENT_COL,
    PRICE_COL,
    PRODUCT_COL,
    QUANTITY_COL,
)

__all__ = ["CustomerFeatures", "build_features", "spend_shares", "standardise_blocks"]

#: RFM columns (of :func:`ml.segments.rfm.compute_rfm`) used as features, log1p-transformed.
RFM_FEATURES: tuple[str, ...] = ("recency_days", "frequency", "monetary")


@dataclass(frozen=True)
class CustomerFeatures:
    """``matrix[i]`` (standardised) describes ``customer_ids[i]``; ``columns`` names each
    column (``category:<key>``, ``department:<key>``, ``rfm:<name>``)."""

    customer_ids: np.ndarray
    matrix: np.ndarray
    columns: tuple[str, ...]


def spend_shares(order_lines: pd.DataFrame, products: pd.DataFrame, level: str) -> pd.DataFrame:
    """Customers x groups (``level`` = ``category`` or ``department``) share of spend; rows sum
    to 1. Lines of unknown products fall in group ``"unknown"``; a customer whose lines are all
    free is described by quantities instead of spend, so every row still sums to 1."""
    group = order_lines[PRODUCT_COL].map(products.set_index(PRODUCT_COL)[level]).fillna("unknown")
    spend = order_lines[QUANTITY_COL] * order_lines[PRICE_COL]
    frame = pd.DataFrame(
        {CUSTOMER_COL: order_lines[CUSTOMER_COL], "group": group, "spend": spend,
         "quantity": order_lines[QUANTITY_COL]}
    )
    table = frame.pivot_table(
        index=CUSTOMER_COL, columns="group", values=["spend", "quantity"], aggfunc="sum",
        fill_value=0.0, sort=True,
    )
    spend_t, qty_t = table["spend"], table["quantity"]
    totals = spend_t.sum(axis=1)
    weights = spend_t.where(totals > 0, qty_t, axis=0)
    denominators = weights.sum(axis=1).replace(0.0, 1.0)
    return weights.div(denominators, axis=0)


def standardise_blocks(blocks: list[np.ndarray]) -> np.ndarray:
    """z-score every column (constant columns become 0), scale each block by
    ``1/sqrt(width)`` and put the blocks side by side."""
    scaled = []
    for block in blocks:
        block = np.asarray(block, dtype=np.float64)
        if block.shape[1] == 0:
            continue
        std = block.std(axis=0)
        z = (block - block.mean(axis=0)) / np.where(std > 0, std, 1.0)
        scaled.append(z / np.sqrt(block.shape[1]))
    return np.hstack(scaled) if scaled else np.zeros((0, 0))


def build_features(
    order_lines: pd.DataFrame, products: pd.DataFrame, rfm: pd.DataFrame
) -> CustomerFeatures:
    """Features of every customer in ``rfm`` (sorted ids) from their ``order_lines`` (joined
    lines with ``customer_id``) and the ``products`` table (category, department)."""
    ids = rfm.index.astype(str)
    lines = order_lines[order_lines[CUSTOMER_COL].isin(ids)]
    categories = spend_shares(lines, products, CATEGORY_COL).reindex(ids, fill_value=0.0)
    departments = spend_shares(lines, products, DEPARTMENT_COL).reindex(ids, fill_value=0.0)
    rfm_values = np.log1p(rfm[list(RFM_FEATURES)].to_numpy(np.float64).clip(min=0.0))
    matrix = standardise_blocks([categories.to_numpy(), departments.to_numpy(), rfm_values])
    columns = (
        tuple(f"category:{c}" for c in categories.columns)
        + tuple(f"department:{d}" for d in departments.columns)
        + tuple(f"rfm:{r}" for r in RFM_FEATURES)
    )
    return CustomerFeatures(np.asarray(ids).astype(str), matrix, columns)

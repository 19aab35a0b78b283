"""Customer segments in the training job: the shop's customer orders, read from the database,
go through :func:`ml.segments.train_segments` (RFM segments, k-means segments, Customer2Vec
neighbours, the 2-D map, the offline comparison) and are published in the model version as the
``segments`` extra (see :mod:`storefront.training.extras`).

Only orders of registered customers count (``orders.customer_id`` set): a guest order has no
person to segment or to recommend to later. RFM is "as of" the newest order, not the wall
clock, so a demo shop seeded in the past still has a spread of recency scores and the same data
always gives the same segments.

What the admin page needs to show without loading arrays (segment table, silhouettes, the
comparison, timings) goes into the run's record through the builder's ``summary``.

Settings (app config, optional): ``SEGMENTS_ENABLED`` (default True) switches the extra off;
``SEGMENTS_CUSTOMER2VEC`` (a dict, e.g. ``{"epochs": 20}``) overrides Doc2Vec parameters of
:class:`ml.segments.Customer2VecParams`.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import select

from ml.registry import ExtraWriter
from ml.segments.customer2vec import Customer2VecParams
from ml.segments.result import SegmentsResult
from ml.segments.rfm import SEGMENTS
from ml.segments.storage import save
from ml.segments.frames import (
    CATEGORY_COL, CREATED_COL, CUSTOMER_COL, DEPARTMENT_COL, ORDER_COL, PRICE_COL, PRODUCT_COL,
    QUANTITY_COL, TOTAL_COL,
)
from storefront.extensions import db
from storefront.models import Category, Order, OrderLine, Product
from storefront.tracking.visitors import ml_item_id
from storefront.segments.serving import SEGMENTS_EXTRA
from storefront.tracking.visitors import customer_key
from storefront.training.extras import ExtraContext, SkipExtra

__all__ = ["SEGMENTS_EXTRA", "build_extra", "load_segment_frames", "segment_table", "summarise"]

log = logging.getLogger(__name__)


def load_segment_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(orders, lines, products) in the columns of :mod:`ml.segments.frames`, three plain
    SELECTs (no ORM objects). Lines keep their insertion order within an order: the basket
    order Customer2Vec reads as a sentence. Departments are the roots of the category tree,
    found with a recursive CTE so any depth works."""
    orders = db.session.execute(
        select(Order.customer_id, Order.id, Order.created_at, Order.total)
        .where(Order.customer_id.is_not(None))
        .order_by(Order.created_at, Order.id)
    ).all()
    lines = db.session.execute(
        select(OrderLine.order_id, OrderLine.product_id, OrderLine.quantity, OrderLine.unit_price)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id.is_not(None))
        .order_by(OrderLine.order_id, OrderLine.id)
    ).all()
    roots = (
        select(Category.id.label("id"), Category.slug.label("root"))
        .where(Category.parent_id.is_(None))
        .cte("category_roots", recursive=True)
    )
    roots = roots.union_all(
        select(Category.id, roots.c.root).join(roots, Category.parent_id == roots.c.id)
    )
    products = db.session.execute(
        select(Product.id, Category.slug, roots.c.root)
        .join(Category, Category.id == Product.category_id)
        .outerjoin(roots, roots.c.id == Product.category_id)
    ).all()
    return (
        pd.DataFrame({
            CUSTOMER_COL: [customer_key(r[0]) for r in orders],
            ORDER_COL: [str(r[1]) for r in orders],
            CREATED_COL: pd.to_datetime(pd.Series([r[2] for r in orders], dtype=object)),
            TOTAL_COL: np.array([float(r[3]) for r in orders], dtype=np.float64),
        }),
        pd.DataFrame({
            ORDER_COL: [str(r[0]) for r in lines],
            PRODUCT_COL: [ml_item_id(r[1]) for r in lines],
            QUANTITY_COL: np.array([r[2] for r in lines], dtype=np.float64),
            PRICE_COL: np.array([float(r[3]) for r in lines], dtype=np.float64),
        }),
        pd.DataFrame({
            PRODUCT_COL: [ml_item_id(r[0]) for r in products],
            CATEGORY_COL: [r[1] for r in products],
            DEPARTMENT_COL: [r[2] or r[1] for r in products],
        }),
    )


def segments_config():
    """The job's settings: the defaults of :mod:`ml.segments` (chosen there, with
    measurements) plus any ``SEGMENTS_CUSTOMER2VEC`` overrides."""
    from ml.segments.pipeline import SegmentsConfig  # training only: keeps scikit-learn out of web workers

    overrides = dict(current_app.config.get("SEGMENTS_CUSTOMER2VEC") or {})
    return SegmentsConfig(customer2vec=replace(Customer2VecParams(), **overrides))


def segment_table(rfm: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per RFM segment (best first, empty ones left out): customers, their share,
    revenue, orders, average order value and average recency in days."""
    total = max(len(rfm), 1)
    rows = []
    for name in SEGMENTS:
        members = rfm[rfm["segment"] == name]
        if members.empty:
            continue
        revenue, orders = float(members["monetary"].sum()), int(members["frequency"].sum())
        rows.append({
            "segment": name, "customers": len(members), "share": len(members) / total,
            "revenue": round(revenue, 2), "orders": orders,
            "average_order_value": round(revenue / orders, 2) if orders else None,
            "average_recency_days": round(float(members["recency_days"].mean()), 1),
        })
    return rows


def summarise(result: SegmentsResult) -> dict[str, Any]:
    """What the run records: the artifact's own summary (sizes, silhouettes, comparison,
    timings, config) plus the segment table."""
    return {**result.summary(), "table": segment_table(result.rfm)}


def build_extra(context: ExtraContext) -> ExtraWriter:
    """The training job's ``segments`` builder (registered in ``storefront.training.job``)."""
    if not current_app.config.get("SEGMENTS_ENABLED", True):
        raise SkipExtra("switched off (SEGMENTS_ENABLED)")
    orders, lines, products = load_segment_frames()
    if orders.empty:
        raise SkipExtra("no orders of registered customers yet")
    from ml.segments.pipeline import train_segments  # training only (scikit-learn, gensim)

    result = train_segments(orders, lines, products, reference_time=orders[CREATED_COL].max(),
                            config=segments_config())
    context.summary.update(summarise(result))
    log.info("segments: %d customers in %.1f s", len(result.rfm), result.timings.get("total", 0.0))
    return lambda directory: save(result, directory)

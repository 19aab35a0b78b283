"""Revenue by RFM segment, when the active model version carries customer segments.

The training job publishes the segments as the ``segments`` extra of a model version
(``segments.npz``, see :mod:`ml.segments.storage`); the labels are a snapshot taken at training
time. The dashboard sums the period's revenue per customer in SQL and labels each customer with
their segment from that snapshot: customers registered since the training run are
"Not yet scored", orders without a customer are "Guests".

Only two arrays are read (``rfm_customer_ids``, ``rfm_segment``), with numpy and
``allow_pickle=False``; :mod:`ml.segments` itself is not imported because it pulls in
scikit-learn, which a web worker does not need. The labels are cached per version directory, so
the file is read once per worker and model version (only the active version's labels are kept).
"""
from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import func, select

from ml.artifacts import MANIFEST_FILE, read_active
from storefront.models import Order
from storefront.analytics.period import Period
from storefront.analytics.sales import money, paid_in

log = logging.getLogger(__name__)

SEGMENTS_EXTRA = "segments"  # the extra's name in the manifest (storefront.segments.training.SEGMENTS_EXTRA)
ARRAYS_FILE = "segments.npz"  # ml.segments.storage.ARRAYS_FILE
GUESTS = "Guests"
UNSCORED = "Not yet scored"

_cache: dict[Path, dict[int, str]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class SegmentLabels:
    version: str | None
    labels: dict[int, str] | None  # customer id -> segment; None when there are none to use
    note: str | None  # why there are none, for the page


def _arrays_path(version_dir: Path) -> Path:
    """Where the version keeps ``segments.npz``: as listed under the manifest's extras (the
    writer may have used a sub-folder), else at the top of the version directory."""
    try:
        manifest = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        for name in (manifest.get("extras") or {}).get(SEGMENTS_EXTRA) or []:
            if Path(name).name == ARRAYS_FILE:
                return version_dir / name
    except (OSError, ValueError, AttributeError):
        pass
    return version_dir / ARRAYS_FILE


def _read_labels(path: Path) -> dict[int, str]:
    with np.load(path, allow_pickle=False) as arrays:
        ids, segments = arrays["rfm_customer_ids"], arrays["rfm_segment"]
    return {int(customer): str(segment) for customer, segment in zip(ids.tolist(), segments.tolist())}


def active_labels() -> SegmentLabels:
    """The segment of each customer in the active model version, or a note saying why not."""
    model_dir = Path(current_app.config["MODEL_DIR"])
    try:
        version = read_active(model_dir)
    except OSError:
        version = None
    if version is None:
        return SegmentLabels(None, None, "No model version is active yet, so there are no customer segments.")
    path = _arrays_path(model_dir / version)
    with _cache_lock:
        if path in _cache:
            return SegmentLabels(version, _cache[path], None)
    if not path.is_file():
        return SegmentLabels(version, None, f"The active model version ({version}) has no customer segments.")
    try:
        labels = _read_labels(path)
    except (OSError, KeyError, ValueError) as error:
        log.warning("cannot read the segments of version %s: %s", version, error)
        return SegmentLabels(version, None, f"The segments of the active model version cannot be read ({error}).")
    with _cache_lock:
        _cache.clear()
        _cache[path] = labels
    return SegmentLabels(version, labels, None)


def revenue_per_customer(conn, period: Period) -> list[tuple[int | None, int, Decimal]]:
    """(customer id or None for guests, orders, revenue) per customer who paid in the period:
    a GROUP BY in SQL, a few thousand rows at most."""
    rows = conn.execute(
        select(Order.customer_id, func.count(), func.sum(Order.total))
        .where(*paid_in(period))
        .group_by(Order.customer_id)
    ).all()
    return [(customer_id, int(count), money(total)) for customer_id, count, total in rows]


def revenue_by_segment(per_customer: list[tuple[int | None, int, Decimal]], labels: dict[int, str]) -> list[dict]:
    """Customers, orders and revenue per segment, most revenue first; the labelling is a dict
    lookup per customer row of :func:`revenue_per_customer`."""
    customers: dict[str, int] = defaultdict(int)
    orders: dict[str, int] = defaultdict(int)
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for customer_id, count, total in per_customer:
        segment = GUESTS if customer_id is None else labels.get(int(customer_id), UNSCORED)
        customers[segment] += 0 if customer_id is None else 1
        orders[segment] += count
        revenue[segment] += total
    return [
        {"segment": name, "customers": customers[name], "orders": orders[name], "revenue": revenue[name]}
        for name in sorted(revenue, key=lambda n: (-revenue[n], n))
    ]

"""The shop's implicit feedback as the events DataFrame that ``ml.training`` expects, and the
offline comparison of the models on such a frame (``flask ml evaluate``).

Training reads events with one plain SELECT fetched in chunks as driver tuples (no ORM objects,
no per-row type processing: the Retailrocket log has 2.76M events). User and
item ids come from :mod:`storefront.tracking.visitors`, the same functions serving uses, so a
model trained here scores the very ids the widgets ask about.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import select

from ml.constants import DEFAULT_EVENT_WEIGHTS, WEIGHT_COL
from ml.data.dwell import DwellCurve
from ml.training import TrainingConfig
from ml.training.protocol import Protocol, ProtocolResult, evaluate_protocol

from storefront.extensions import db
from storefront.models import ADD_TO_CART, REMOVE_FROM_CART, TRANSACTION, VIEW, Product
from storefront.models.order_history import CANCEL, RETURN
from storefront.tracking.visitors import ml_item_id, ml_user_id

log = logging.getLogger(__name__)

#: Product events that carry taste; clicks on recommendations are measured, not learnt from
#: (learning from them would let a model reinforce its own suggestions). Cancelled and returned
#: order lines (written by Admin -> Orders) are negative feedback: see :func:`event_weights`.
TRAINING_EVENT_TYPES = (VIEW, ADD_TO_CART, REMOVE_FROM_CART, TRANSACTION, CANCEL, RETURN)
#: config key -> event type of the negative feedback weights
NEGATIVE_FEEDBACK = {"CANCEL_EVENT_WEIGHT": CANCEL, "RETURN_EVENT_WEIGHT": RETURN}
COLUMNS = ("user_id", "item_id", "event", "timestamp", "basket_id", "session_id")
FETCH_ROWS = 50_000
#: Below this many events a holdout has almost nobody in it and every metric is noise.
MIN_TRAINING_EVENTS = 100


class NotEnoughFeedback(ValueError):
    """The shop has too little feedback for a meaningful training run."""


def event_weights() -> dict[str, float]:
    """The training event weights: ``ml``'s defaults, with the cancel and return weights of the
    app config (``CANCEL_EVENT_WEIGHT``, ``RETURN_EVENT_WEIGHT``: how much strength each takes
    back, so a positive number; its sign is ignored; 0 switches it off) as negative weights."""
    weights = dict(DEFAULT_EVENT_WEIGHTS)
    for key, kind in NEGATIVE_FEEDBACK.items():
        value = float(current_app.config.get(key, -DEFAULT_EVENT_WEIGHTS[kind]))
        if not math.isfinite(value):
            raise ValueError(f"{key} must be a finite number, not {value}")
        weights[kind] = -abs(value)
    return weights


def load_events_frame() -> pd.DataFrame:
    """Every product event of the shop, oldest first, with the columns of ``COLUMNS``, but those
    of flagged visitors (scripted-looking, see ``storefront.tracking.screening``); with
    ``DWELL_WEIGHTING`` set, also a ``weight`` column from each view's dwell time.

    ``basket_id`` is the order id (as text) of purchase events, else None; ``session_id`` is
    None where tracking recorded none, so basket grouping falls back to the visitor's day.

    Rows come through the driver as plain tuples and are converted per column (ids named by
    :mod:`storefront.tracking.visitors` once per distinct user and product): building them row
    by row through SQLAlchemy's result took 66 s for the 2.76M events of the Retailrocket log.
    """
    kinds = ", ".join(f"'{kind}'" for kind in TRAINING_EVENT_TYPES)  # constants, not input
    raw = ("visitor_id", "customer_id", "product_id", "type", "occurred_at", "order_id", "session_id", "dwell_ms")
    cursor = db.session.connection().connection.cursor()  # the DB-API cursor: rows are plain tuples
    parts = []
    try:
        # Visitors flagged by the screening (storefront.tracking.screening) are left out.
        cursor.execute(f"SELECT {', '.join('e.' + column for column in raw)} FROM events e "
                       "JOIN visitors v ON v.id = e.visitor_id "
                       f"WHERE e.type IN ({kinds}) AND e.product_id IS NOT NULL AND v.flagged_at IS NULL "
                       "ORDER BY e.occurred_at, e.id")
        while rows := cursor.fetchmany(FETCH_ROWS):
            parts.append(pd.DataFrame.from_records(rows, columns=raw, coerce_float=False))
    finally:
        cursor.close()
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=raw)
    frame = pd.DataFrame({
        "user_id": _user_ids(table["visitor_id"], table["customer_id"]),
        "item_id": _names(table["product_id"].to_numpy(dtype=np.int64), ml_item_id),
        "event": pd.Series(table["type"].to_numpy(dtype=object), dtype=object),
        # Stored times are naive UTC (see models.common.utcnow); say so explicitly.
        "timestamp": pd.to_datetime(table["occurred_at"], format="ISO8601").dt.tz_localize("UTC"),
        "basket_id": pd.Series([None if pd.isna(o) else str(int(o)) for o in table["order_id"]], dtype=object),
        "session_id": pd.Series([s or None for s in table["session_id"]], dtype=object),
    }, columns=list(COLUMNS))
    curve_setting = str(current_app.config.get("DWELL_WEIGHTING") or "").strip()
    if curve_setting:
        # Views weighed by how long they were looked at (ml.data.dwell); other events, and views
        # without a dwell report, keep the weight 1.
        dwell = np.array(pd.to_numeric(table["dwell_ms"], errors="coerce"), dtype=np.float64)
        dwell[frame["event"].to_numpy() != VIEW] = np.nan
        frame[WEIGHT_COL] = DwellCurve.parse(curve_setting).multiplier(dwell)
    log.info("loaded %d events of %d users on %d items", len(frame),
             frame["user_id"].nunique(), frame["item_id"].nunique())
    return frame


def load_items_frame() -> pd.DataFrame:
    """The catalogue as training's optional items frame: ``item_id`` (the id serving uses),
    ``category`` (the product's own category id as text: the leaf in the demo tree), ``brand``
    (None when blank) and ``price``. "Frequently bought together" uses it to tell substitutes
    (same category, similar price) from complements (``ml.training.complements``)."""
    rows = db.session.execute(select(Product.id, Product.category_id, Product.brand, Product.price)).all()
    return pd.DataFrame({
        "item_id": pd.Series([ml_item_id(r.id) for r in rows], dtype=object),
        "category": pd.Series([str(r.category_id) for r in rows], dtype=object),
        "brand": pd.Series([(r.brand or "").strip() or None for r in rows], dtype=object),
        "price": pd.Series([float(r.price) if r.price is not None else np.nan for r in rows], dtype=np.float64),
    }, columns=["item_id", "category", "brand", "price"])


def _names(keys: np.ndarray, name: Callable[[int], str]) -> pd.Series:
    """``name(key)`` for every key, computed once per distinct key."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    names = np.array([name(int(key)) for key in distinct], dtype=object)
    return pd.Series(names[inverse.ravel()], dtype=object)


def _user_ids(visitors: pd.Series, customers: pd.Series) -> pd.Series:
    # A customer's events are theirs whatever the visitor; others belong to the visitor. One
    # integer key per user: the customer id, or -(visitor id) - 1.
    known = customers.notna().to_numpy()
    keys = np.where(known, customers.fillna(0).to_numpy(dtype=np.int64), -visitors.to_numpy(dtype=np.int64) - 1)
    return _names(keys, lambda key: ml_user_id(None, key) if key >= 0 else ml_user_id(-key - 1, None))


def check_enough_feedback(events: pd.DataFrame, minimum: int = MIN_TRAINING_EVENTS) -> None:
    """Refuse to train on a (nearly) empty shop with a message an admin can act on."""
    if len(events) >= minimum and events["user_id"].nunique() >= 2 and events["item_id"].nunique() >= 2:
        return
    raise NotEnoughFeedback(
        f"not enough feedback to train: {len(events)} events from {events['user_id'].nunique()} "
        f"visitors on {events['item_id'].nunique()} products (at least {minimum} events from two "
        "visitors on two products are needed); the shop keeps serving its popularity fallbacks"
    )


def evaluate_events(events: pd.DataFrame, protocol: Protocol, candidates: Sequence[str] | None = None,
                    progress: Callable[[str, dict], None] | None = None) -> ProtocolResult:
    """The candidates (default: all) under ``protocol`` (``ml.training.protocol``), with the
    shop's thread setting. Nothing is published; this answers "which model suits this data"
    without touching what is served."""
    config = TrainingConfig(num_threads=int(current_app.config.get("TRAINING_THREADS", 0)))  # 0: all cores
    return evaluate_protocol(events, protocol, config, candidates, progress)
"""The shop's implicit feedback as the events DataFrame that ``ml.training`` expects, and the
offline comparison of the models on such a frame (``flask ml evaluate``).

Training reads events with one plain SELECT streamed in chunks (no ORM objects: the demo shop
has 200k+ events and the ORM would spend most of a run building objects nobody needs). User and
item ids come from :mod:`storefront.services.identity`, the same functions serving uses, so a
model trained here scores the very ids the widgets ask about.
"""
from __future__ import annotations

import logging

from collections.abc import Callable

import pandas as pd
from flask import current_app
from sqlalchemy import select

from ml.training import TrainingConfig, evaluate_frame

from storefront.extensions import db
from storefront.models import ADD_TO_CART, REMOVE_FROM_CART, TRANSACTION, VIEW, Event
from storefront.services.identity import ml_item_id, ml_user_id

log = logging.getLogger(__name__)

#: Product events that carry taste; clicks on recommendations are measured, not learnt from
#: (learning from them would let a model reinforce its own suggestions).
TRAINING_EVENT_TYPES = (VIEW, ADD_TO_CART, REMOVE_FROM_CART, TRANSACTION)
COLUMNS = ("user_id", "item_id", "event", "timestamp", "basket_id", "session_id")
FETCH_ROWS = 50_000
#: Below this many events a holdout has almost nobody in it and every metric is noise.
MIN_TRAINING_EVENTS = 100


class NotEnoughFeedback(ValueError):
    """The shop has too little feedback for a meaningful training run."""


def load_events_frame() -> pd.DataFrame:
    """Every product event of the shop, oldest first, with the columns of ``COLUMNS``.

    ``basket_id`` is the order id (as text) of purchase events, else None; ``session_id`` is
    None where tracking recorded none, so basket grouping falls back to the visitor's day.
    """
    query = (
        select(
            Event.visitor_id, Event.customer_id, Event.product_id, Event.type,
            Event.occurred_at, Event.order_id, Event.session_id,
        )
        .where(Event.type.in_(TRAINING_EVENT_TYPES), Event.product_id.is_not(None))
        .order_by(Event.occurred_at, Event.id)
    )
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    users: dict[tuple[int, int | None], str] = {}
    result = db.session.execute(query, execution_options={"yield_per": FETCH_ROWS})
    for rows in result.partitions():
        for visitor_id, customer_id, product_id, kind, occurred_at, order_id, session_id in rows:
            key = (visitor_id, customer_id)
            user = users.get(key)
            if user is None:
                user = users[key] = ml_user_id(visitor_id, customer_id)
            columns["user_id"].append(user)
            columns["item_id"].append(ml_item_id(product_id))
            columns["event"].append(kind)
            columns["timestamp"].append(occurred_at)
            columns["basket_id"].append(str(order_id) if order_id is not None else None)
            columns["session_id"].append(session_id or None)
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})
    # Stored times are naive UTC (see models.common.utcnow); say so explicitly.
    frame["timestamp"] = pd.to_datetime(pd.Series(columns["timestamp"], dtype=object)).dt.tz_localize("UTC")
    log.info("loaded %d events of %d users on %d items", len(frame),
             frame["user_id"].nunique(), frame["item_id"].nunique())
    return frame


def check_enough_feedback(events: pd.DataFrame, minimum: int = MIN_TRAINING_EVENTS) -> None:
    """Refuse to train on a (nearly) empty shop with a message an admin can act on."""
    if len(events) >= minimum and events["user_id"].nunique() >= 2 and events["item_id"].nunique() >= 2:
        return
    raise NotEnoughFeedback(
        f"not enough feedback to train: {len(events)} events from {events['user_id'].nunique()} "
        f"visitors on {events['item_id'].nunique()} products (at least {minimum} events from two "
        "visitors on two products are needed); the shop keeps serving its popularity fallbacks"
    )


def evaluate_events(events: pd.DataFrame, split: str = "time", k: int = 10,
                    progress: Callable[[str, dict], None] | None = None) -> pd.DataFrame:
    """Every candidate at its default parameters on one holdout of ``events``: one row per
    model with each metric at ``k``, ``fit_seconds``, ``status`` and ``error``. Nothing is
    published; this answers "which model suits this data" without touching what is served."""
    config = TrainingConfig(search=False, num_threads=int(current_app.config.get("TRAINING_THREADS", 0)))  # 0: all cores
    return evaluate_frame(events, split=split, k=k, config=config, progress=progress)

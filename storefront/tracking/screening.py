"""Screening: flag the visitors that look scripted, before popularity and training count them.

The rate limits (:mod:`storefront.tracking.integrity`) bound what one visitor or address can log
per minute; screening looks at what got through, after the fact, with two rules:

- **rate**: more than ``SCREEN_MAX_ACTIONS_PER_MINUTE`` tracked actions within any 60 seconds
  (a person reading product pages does not open 20 a minute; a script replaying a list does);
- **cohort**: at least ``SCREEN_COHORT_MIN_VISITORS`` new visitors touching the same product
  within ``SCREEN_COHORT_WINDOW_MINUTES`` of each other's creation, from so few client addresses
  (``visitors.address_key``, a keyed hash) that they average ``SCREEN_COHORT_VISITORS_PER_ADDRESS``
  or more per address: scripted sessions pushing one item from one machine or a handful. A real
  surge (a product shared on social media) brings new visitors from about as many addresses.
  The visitors of such a window are flagged.

A visitor who bought something is never flagged (an order is real money), nor one already
flagged. Flagged visitors keep their rows and events (the record stays), log nothing more, and
are left out of popularity (:func:`storefront.catalog.listings.refresh_popularity`), trending
and training (:func:`storefront.training.data.load_events_frame`). The training job runs the
screening first and reports what it flagged with the run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import select, update

from storefront.extensions import db
from storefront.models import ADD_TO_CART, ASSET_VIEW, CLICK, REMOVE_FROM_CART, TRANSACTION, VIEW, Event, Visitor
from storefront.models.common import utcnow

log = logging.getLogger(__name__)

RATE = "rate"
COHORT = "cohort"
LOOKBACK_DAYS = 2  # screening runs with every training run (hourly by default): two days overlap
TRACKED_ACTIONS = (VIEW, ADD_TO_CART, REMOVE_FROM_CART, CLICK, ASSET_VIEW)


@dataclass
class ScreeningReport:
    """What one screening flagged, per rule (visitor ids)."""

    flagged: dict[str, list[int]] = field(default_factory=lambda: {RATE: [], COHORT: []})

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.flagged.values())

    def summary(self) -> dict[str, int]:
        return {reason: len(ids) for reason, ids in self.flagged.items()}


def screen_visitors(now: datetime | None = None) -> ScreeningReport:
    """Flag the scripted-looking visitors active in the last ``LOOKBACK_DAYS`` (flushes; the
    caller commits)."""
    now = now or utcnow()
    since = now - timedelta(days=LOOKBACK_DAYS)
    config = current_app.config
    actions = _recent_actions(since)
    report = ScreeningReport()
    buyers = set(actions.loc[actions["type"] == TRANSACTION, "visitor_id"])
    actions = actions[~actions["visitor_id"].isin(buyers) & actions["type"].isin(TRACKED_ACTIONS)]
    report.flagged[RATE] = _too_fast(actions, int(config["SCREEN_MAX_ACTIONS_PER_MINUTE"]))
    cohorts = _cohorts(
        actions[~actions["visitor_id"].isin(report.flagged[RATE])], since,
        minimum=int(config["SCREEN_COHORT_MIN_VISITORS"]),
        window=timedelta(minutes=float(config["SCREEN_COHORT_WINDOW_MINUTES"])),
        per_address=float(config["SCREEN_COHORT_VISITORS_PER_ADDRESS"]),
    )
    report.flagged[COHORT] = [v for v in cohorts if v not in buyers]
    for reason, ids in report.flagged.items():
        if ids:
            db.session.execute(
                update(Visitor).where(Visitor.id.in_([int(i) for i in ids]), Visitor.flagged_at.is_(None))
                .values(flagged_at=now, flag_reason=reason)
            )
    db.session.flush()
    if report.total:
        log.info("screening flagged %d visitors: %s", report.total, report.summary())
    return report


def _recent_actions(since: datetime) -> pd.DataFrame:
    """Product and asset events of unflagged visitors since ``since``: visitor, type, time,
    product, and the visitor's address key and creation time."""
    rows = db.session.execute(
        select(Event.visitor_id, Event.type, Event.occurred_at, Event.product_id, Visitor.address_key,
               Visitor.created_at)
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Event.occurred_at >= since, Visitor.flagged_at.is_(None))
    ).all()
    return pd.DataFrame(rows, columns=["visitor_id", "type", "occurred_at", "product_id", "address_key", "created_at"])


def _too_fast(actions: pd.DataFrame, per_minute: int) -> list[int]:
    """Visitors with more than ``per_minute`` actions within some 60 seconds."""
    if actions.empty:
        return []
    frame = actions[["visitor_id", "occurred_at"]].sort_values(["visitor_id", "occurred_at"])
    visitors = frame["visitor_id"].to_numpy()
    seconds = (pd.to_datetime(frame["occurred_at"]).astype("int64") // 10**6).to_numpy() / 1000.0
    # One sorted key per (visitor, time): visitor rank x a span wider than the lookback + seconds,
    # so one searchsorted finds, for every action, the end of its visitor's next 60 seconds.
    rank = np.unique(visitors, return_inverse=True)[1].astype(np.float64)
    key = rank * (LOOKBACK_DAYS * 86400.0 * 4) + (seconds - seconds.min())
    ends = np.searchsorted(key, key + 60.0, side="left")
    in_minute = ends - np.arange(len(key))
    return sorted({int(v) for v in visitors[in_minute > per_minute]})


def _cohorts(actions: pd.DataFrame, since: datetime, *, minimum: int, window: timedelta,
             per_address: float) -> list[int]:
    """Visitors of the new-visitor cohorts described in the module docstring."""
    fresh = actions[actions["address_key"].notna() & (pd.to_datetime(actions["created_at"]) >= since)
                    & actions["product_id"].notna()]
    flagged: set[int] = set()
    for _, group in fresh.groupby("product_id"):
        touched = group.drop_duplicates("visitor_id").sort_values("created_at")
        if len(touched) < minimum:
            continue
        times = pd.to_datetime(touched["created_at"]).to_numpy()
        visitors, addresses = touched["visitor_id"].to_numpy(), touched["address_key"].to_numpy()
        # Each visitor's window: the visitors of this product created within ``window`` of it.
        lo = np.searchsorted(times, times - np.timedelta64(window), side="left")
        hi = np.searchsorted(times, times + np.timedelta64(window), side="right")
        for start, end in zip(lo, hi):
            size = end - start
            if size >= minimum and size >= per_address * len(set(addresses[start:end])):
                flagged.update(int(v) for v in visitors[start:end])
    return sorted(flagged)

"""Implicit feedback: one row per tracked action.

``type`` is a plain string, not a database enum, so later capabilities can add types
(form submissions, impressions, clicks) without a schema change; ``EVENT_TYPES`` lists the
ones the tracking service accepts.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import DDL, JSON, Date, DateTime, Float, ForeignKey, Index, Integer, String, event, text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import BigIntId, utcnow

VIEW = "view"
ADD_TO_CART = "addtocart"
REMOVE_FROM_CART = "removefromcart"
TRANSACTION = "transaction"
CLICK = "click"  # a click on a recommended item; impression_id says which widget render
# Gated B2B content: ``asset_id`` is set and ``product_id`` is null. A form submission's
# ``properties["count"]`` is how many submissions it stands for (1 from the web form, the
# export's ``form_submissions`` when imported), so strength = type weight x sum of counts.
FORM_SUBMISSION = "form_submission"
ASSET_VIEW = "asset_view"
# Search as feedback (storefront.search.analytics): a results page shown (``properties``: the
# query, how many results, the page and the ids it showed) and a click on one of its results
# (``product_id`` and ``properties``: the search event, the position). The click is measured, not
# learnt from: the product page's own ``view`` is the feedback (training reads views, not these).
SEARCH = "search"
SEARCH_CLICK = "search_click"
EVENT_TYPES = frozenset({VIEW, ADD_TO_CART, REMOVE_FROM_CART, TRANSACTION, CLICK, FORM_SUBMISSION, ASSET_VIEW,
                         SEARCH, SEARCH_CLICK})


def _where_set(name: str, column: str, *more: str) -> Index:
    """An index of the rows whose ``column`` is not NULL (SQLite and PostgreSQL partial index)."""
    predicate = f"{column} IS NOT NULL"
    return Index(name, column, *more, sqlite_where=text(predicate), postgresql_where=text(predicate))


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_visitor_time", "visitor_id", "occurred_at"),
        Index("ix_events_time_type", "occurred_at", "type"),
        # Covering indexes of the admin dashboard (services/analytics_*; migration 5dbcce0ebc3c).
        # (product_id, type) lookups use the prefix of ix_events_product_type_time.
        Index("ix_events_time_visitor", "occurred_at", "visitor_id", "type"),
        Index("ix_events_type_device_time", "type", "device", "occurred_at"),
        Index("ix_events_product_type_time", "product_id", "type", "occurred_at"),
        # Columns that are NULL on most events (a product view has no customer when anonymous, no
        # order, impression or asset): partial indexes hold only the rows that have a value, so a
        # bulk import of millions of views does not maintain four indexes of NULLs (migration
        # e81b5c0d2f47). ``col = ?`` and ``col IS NOT NULL`` both imply the predicate.
        _where_set("ix_events_customer_id", "customer_id"),
        _where_set("ix_events_order_id", "order_id"),
        _where_set("ix_events_impression_id", "impression_id"),
        _where_set("ix_events_asset_type", "asset_id", "type"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    impression_id: Mapped[int | None] = mapped_column(ForeignKey("impressions.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    session_id: Mapped[str] = mapped_column(String(64), default="")
    device: Mapped[str] = mapped_column(String(16), default="desktop")
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # How long a product page stayed visible, reported once by its dwell beacon (views only;
    # NULL when the browser never reported: no script, a crawler, a closed tab on an old browser).
    dwell_ms: Mapped[int | None] = mapped_column(Integer)


class RateBucket(db.Model):
    """One key's allowance in the database store of storefront.tracking.buckets (a visitor's
    tracked actions, an address's logins...), kept as GCRA's "theoretical arrival time": the key
    is over its limit while ``tat`` is more than the burst ahead of now. Redis holds the same
    value when ``RATELIMIT_STORAGE_URI`` names one."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    tat: Mapped[float] = mapped_column(Float, index=True)  # seconds since the epoch
    allowed_at: Mapped[float] = mapped_column(Float)  # the last request let through


# PostgreSQL: a request's buckets in one round trip (storefront.tracking.buckets), in order,
# stopping at the first refusal; the arithmetic of buckets._TAKE_SQL, one upsert per bucket.
# Returns the wait of each bucket taken (0 = allowed; the last one > 0 when refused). The
# migration 9d3f6b2a7c41 carries a frozen copy.
TAKE_BUCKETS_FUNCTION = """
CREATE OR REPLACE FUNCTION storefront_take_buckets(
    p_keys text[], p_intervals double precision[], p_bursts double precision[], p_now double precision
) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE
    waits double precision[] := '{}';
    new_tat double precision;
    allowed double precision;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        INSERT INTO rate_buckets AS b (key, tat, allowed_at) VALUES (p_keys[i], p_now + p_intervals[i], p_now)
        ON CONFLICT (key) DO UPDATE SET
            tat = CASE WHEN b.tat - p_bursts[i] <= p_now THEN GREATEST(b.tat, p_now) + p_intervals[i] ELSE b.tat END,
            allowed_at = CASE WHEN b.tat - p_bursts[i] <= p_now THEN p_now ELSE b.allowed_at END
        RETURNING b.tat, b.allowed_at INTO new_tat, allowed;
        IF allowed = p_now THEN
            waits := waits || 0.0::double precision;
        ELSE
            waits := waits || GREATEST(new_tat - p_bursts[i] - p_now, 0.001);
            EXIT;
        END IF;
    END LOOP;
    RETURN waits;
END $$
"""


@event.listens_for(RateBucket.__table__, "after_create")
def _create_take_function(_table, connection, **_kwargs) -> None:
    """``create_all`` (the tests' schema) gets the function the migration creates."""
    if connection.dialect.name == "postgresql":
        connection.execute(DDL(TAKE_BUCKETS_FUNCTION))


class DroppedEvents(db.Model):
    """How many tracked actions were not logged, per day and reason (the admin's "events dropped
    as suspicious today")."""

    __tablename__ = "dropped_events"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)

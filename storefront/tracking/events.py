"""The one way events enter the database.

Every view, cart change and purchase goes through ``track``; it skips crawlers, stamps the
device, the browsing session and the customer from the request context, and adds the row to the
unit of work (the caller commits). ``classify_user_agent`` (cached: the same few agents repeat
all day) is what the web boundary uses to tell the device.
"""
from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from flask import current_app
from sqlalchemy import insert, update
from user_agents import parse as parse_user_agent

from storefront.extensions import db
from storefront.models import ASSET_VIEW, EVENT_TYPES, VIEW, Customer, Event, Product, Visitor
from storefront.models.common import utcnow
from storefront.tracking import integrity
from storefront.tracking.visitors import RequestContext, visitor_of

_INSERT_EVENT = insert(Event.__table__)  # one statement, compiled once, parameters per call
_INSERT_EVENT_RETURNING_ID = insert(Event.__table__).returning(Event.__table__.c.id)


# HTTP libraries and command-line clients: not people browsing, so not feedback either.
_SCRIPTED_CLIENT = re.compile(
    r"^(curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp|"
    r"java/|apache-httpclient|libwww-perl|httpie|scrapy|node-fetch|axios)",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def classify_user_agent(user_agent: str) -> str:
    """``bot``, ``mobile``, ``tablet`` or ``desktop`` for a User-Agent header."""
    if not user_agent or _SCRIPTED_CLIENT.match(user_agent):
        return "bot"  # real browsers always send one; scripts and probes often do not
    parsed = parse_user_agent(user_agent)
    if parsed.is_bot:
        return "bot"
    if parsed.is_tablet:
        return "tablet"
    if parsed.is_mobile:
        return "mobile"
    return "desktop"


def track(
    ctx: RequestContext,
    event_type: str,
    product: Product | None = None,
    *,
    order_id: int | None = None,
    impression_id: int | None = None,
    asset_id: int | None = None,
    properties: dict[str, Any] | None = None,
) -> bool:
    """Record one event for the current visitor; ``False`` when nothing was logged (a bot, a
    first request whose cookie has not come back yet, a visitor over a limit or flagged: see
    :mod:`storefront.tracking.integrity`).

    ``impression_id`` ties a ``click`` to the widget render it came from (see
    ``storefront.tracking.impressions``), so click-through can be counted per widget and model version.
    ``asset_id`` names the gated asset of a ``form_submission`` or ``asset_view`` (their
    ``product`` is None).

    A prepared Core INSERT with bound parameters rather than ``session.add``: this runs on every
    product page, and skipping the ORM unit of work (and statement re-compilation) makes it
    several times cheaper. It still joins the request's transaction.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {event_type!r}; known: {sorted(EVENT_TYPES)}")
    if not ctx.confirmed and not ctx.is_bot and event_type in PENDING_TYPES:
        _remember_pending(ctx, event_type, product, asset_id)
        return False
    return _log(ctx, event_type, product, order_id=order_id, impression_id=impression_id, asset_id=asset_id,
                properties=properties) is not None


def track_returning_id(ctx: RequestContext, event_type: str, product: Product | None = None, *,
                       properties: dict[str, Any] | None = None) -> int | None:
    """``track`` for an event whose id the page needs (a search: its result links name it, so
    a click can be tied to it); the new event's id, or None when nothing was logged. Not for
    the types that wait for the cookie (``PENDING_TYPES``): those have no id yet."""
    if event_type not in EVENT_TYPES or event_type in PENDING_TYPES:
        raise ValueError(f"{event_type!r} cannot be tracked with its id")
    return _log(ctx, event_type, product, properties=properties, returning=True)


def _log(ctx: RequestContext, event_type: str, product: Product | None, *, returning: bool = False,
         **fields) -> int | None:
    """Insert the event unless this request logs nothing; its id when ``returning``, else 0."""
    if not integrity.may_track(ctx):
        return None  # crawlers, first requests, visitors over a limit or flagged: see integrity
    visitor = _visitor_to_log(ctx)
    if visitor is None:
        return None
    occurred_at = utcnow()
    if event_type == VIEW:  # the product page signs this time into its dwell token (tracking.dwell)
        ctx.memo["view_at"] = occurred_at.replace(tzinfo=timezone.utc).timestamp()
    return _insert_event(ctx, visitor, event_type, product.id if product is not None else None,
                         occurred_at=occurred_at, returning=returning, **fields)


def _visitor_to_log(ctx: RequestContext) -> Visitor | None:
    """The visitor row events go under, created on first need; None when the row was created
    just now already flagged (beyond its address's new-visitor limit): this request logs nothing.
    (A visitor flagged before this request was already refused by ``integrity.may_track``.)"""
    visitor = visitor_of(ctx, create=True)
    if visitor.flagged_at is not None:
        integrity.refuse_tracking(ctx, integrity.NEW_VISITOR_RATE)
        return None
    return visitor


def _insert_event(ctx: RequestContext, visitor: Visitor, event_type: str, product_id: int | None, *,
                  order_id: int | None = None, impression_id: int | None = None, asset_id: int | None = None,
                  properties: dict[str, Any] | None = None, occurred_at: datetime | None = None,
                  returning: bool = False) -> int:
    """Add the row (0, or its id when ``returning``: one statement either way)."""
    customer_id = ctx.customer_id if ctx.logged_in else visitor.customer_id
    inserted = db.session.execute(
        _INSERT_EVENT_RETURNING_ID if returning else _INSERT_EVENT,
        {
            "visitor_id": visitor.id,
            "customer_id": customer_id,
            "product_id": product_id,
            "order_id": order_id,
            "impression_id": impression_id,
            "asset_id": asset_id,
            "type": event_type,
            "occurred_at": occurred_at or utcnow(),
            "session_id": ctx.session_id,
            "device": ctx.device,
            "properties": properties or None,
        },
    )
    return int(inserted.scalar_one()) if returning else 0


# A first page's view waits in the browser's signed session until the cookies come back.
PENDING_TYPES = frozenset({VIEW, ASSET_VIEW})
PENDING_KEPT = 3  # a script that keeps the session but not the visitor cookie cannot grow it


def _remember_pending(ctx: RequestContext, event_type: str, product: Product | None, asset_id: int | None) -> None:
    pending = [p for p in ctx.browser_memory.get("pending") or [] if isinstance(p, list) and len(p) == 4]
    now = time.time()
    pending.append([event_type, product.id if product is not None else None, asset_id, now])
    if event_type == VIEW:
        ctx.memo["view_at"] = now
    ctx.browser_memory["pending"] = pending[-PENDING_KEPT:]


def record_pending(ctx: RequestContext) -> int:
    """Write the views a browser made before its cookie came back (with their own times), now
    that it has; how many. They take this request's token like any tracked action."""
    pending = ctx.browser_memory.pop("pending", None)
    if not pending or not ctx.confirmed or not isinstance(pending, list) or not integrity.may_track(ctx):
        return 0
    visitor = _visitor_to_log(ctx)
    if visitor is None:
        return 0
    written = 0
    for entry in pending:
        if not (isinstance(entry, list) and len(entry) == 4 and entry[0] in PENDING_TYPES):
            continue
        event_type, product_id, asset_id, at = entry
        occurred_at = datetime.fromtimestamp(float(at), timezone.utc).replace(tzinfo=None)
        _insert_event(ctx, visitor, event_type, product_id, asset_id=asset_id, occurred_at=occurred_at)
        written += 1
    return written


RECENT_VIEWS_KEPT = 20  # per slot: the browser memory is a cookie, so it stays small


def is_reload(ctx: RequestContext, slot: str, object_id: int) -> bool:
    """Whether this browser viewed ``object_id`` within VIEW_DEDUP_SECONDS; remembers this view.

    Every object viewed in that window counts, not just the last one: alternating two products
    is not a stream of new views. The views (``[id, time]`` pairs per ``slot``: products,
    assets...) are kept in the signed session cookie, not looked up in the events table: a
    reload comes from the same browser, and the query would cost more than the insert.
    """
    now = time.time()
    window = current_app.config["VIEW_DEDUP_SECONDS"]
    memory = ctx.browser_memory
    recent = [pair for pair in memory.get(slot) or [] if isinstance(pair, (list, tuple)) and len(pair) == 2
              and now - pair[1] < window]
    if any(pair[0] == object_id for pair in recent):
        return True
    memory[slot] = [*recent[-(RECENT_VIEWS_KEPT - 1):], [object_id, now]]
    return False


def track_view(ctx: RequestContext, product: Product) -> bool:
    """Log a product view unless this browser viewed the same product moments ago (a reload)."""
    if ctx.is_bot or is_reload(ctx, "recent_views", product.id):
        return False
    return track(ctx, VIEW, product)


def attach_visitor(visitor: Visitor, customer: Customer) -> None:
    """Give a customer this browser's history: the visitor and its anonymous events."""
    visitor.customer_id = customer.id
    db.session.execute(
        update(Event)
        .where(Event.visitor_id == visitor.id, Event.customer_id.is_(None))
        .values(customer_id=customer.id)
    )
    db.session.flush()

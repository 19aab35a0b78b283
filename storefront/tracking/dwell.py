"""Dwell time: how long a product page stayed visible, the "time spent viewing" signal.

The product page carries a signed token for its view (:func:`view_token`): the browser's visitor
token, the product and the view's own time, signed with the app's secret. ``static/js/dwell.js``
(same origin, no inline code: the CSP is unchanged) adds up the time the page was visible (Page
Visibility API) and sends it once, with the token, by ``navigator.sendBeacon`` on ``pagehide``.
:func:`record_dwell` stores it on that view's event, capped at ``DWELL_MAX_SECONDS``, once: a
token names one view, only the browser that made the view can use it (its visitor cookie must
match), and a view that already has a dwell time keeps it.

The beacon also brings the cookies back, so a one-page visit's pending first view
(:mod:`storefront.tracking.integrity`) is written by it before its dwell is.

Crawlers and browsers without the script send nothing: their views keep ``dwell_ms`` NULL and
training gives them the plain view weight (``storefront.training.data``).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update

from storefront.extensions import db
from storefront.models import VIEW, Event
from storefront.tracking.visitors import RequestContext, visitor_of

_SALT = "storefront.dwell"
MATCH_SECONDS = 2.0  # the token's time and the stored view's time are the same clock reading


class DwellError(ValueError):
    """A beacon that cannot be recorded (the message says why; the endpoint answers 400)."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def view_token(ctx: RequestContext, product_id: int) -> str | None:
    """The token of the view this request logged (or deferred) of ``product_id``; None when it
    logged none (a reload, a crawler, a visitor over a limit)."""
    view_at = ctx.memo.get("view_at")
    if view_at is None or ctx.visitor_token is None:
        return None
    return _serializer().dumps([ctx.visitor_token, product_id, view_at])


def _parse_ms(raw: str | None) -> int:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise DwellError("ms must be a whole number of milliseconds.")
    return int(raw)


def record_dwell(ctx: RequestContext, token: str | None, raw_ms: str | None) -> bool:
    """Store a beacon's dwell time on its view; whether a row took it (False: already recorded,
    or the view was not logged). Raises :class:`DwellError` for a bad or foreign token."""
    ms = _parse_ms(raw_ms)
    try:
        visitor_token, product_id, view_at = _serializer().loads(
            token or "", max_age=int(current_app.config["DWELL_TOKEN_MAX_AGE_SECONDS"]))
    except SignatureExpired:
        raise DwellError("This view's token has expired.") from None
    except (BadSignature, ValueError, TypeError):
        raise DwellError("This is not a view token of this shop.") from None
    if ctx.is_bot or visitor_token != ctx.visitor_token:
        raise DwellError("This view belongs to another browser.")
    visitor = visitor_of(ctx, create=False)
    if visitor is None:
        return False
    at = datetime.fromtimestamp(float(view_at), UTC).replace(tzinfo=None)
    capped = min(ms, int(current_app.config["DWELL_MAX_SECONDS"]) * 1000)
    window = timedelta(seconds=MATCH_SECONDS)
    result = db.session.execute(
        update(Event)
        .where(Event.visitor_id == visitor.id, Event.product_id == int(product_id), Event.type == VIEW,
               Event.occurred_at.between(at - window, at + window), Event.dwell_ms.is_(None))
        .values(dwell_ms=capped)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)

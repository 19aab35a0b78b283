"""Who counts as a real visitor, and how much one visitor or one address may log.

The recommenders learn from what this shop logs, so whoever can write events can steer them.
The rules (README, "What counts as a real visitor"):

1. **The cookie must come back.** A browser's first request mints a signed visitor cookie and
   logs nothing: no visitor row, no event, no impression. Its first page view waits in the
   signed session cookie (``PENDING`` below) and is written, with its own time, when a request
   brings the cookies back: the next page, or the dwell beacon a product page sends when it is
   hidden (``static/js/dwell.js``). A client that never keeps cookies (most scripts) writes
   nothing, however many requests it sends.
2. **Rate limits on tracked actions**, per visitor and per client address, and on *new visitors*
   per address: token buckets in the shared store (:mod:`storefront.tracking.buckets`). One
   request takes one token, whatever it logs (a view, its click, its widgets' impressions).
   Beyond a limit the request still gets its page; nothing of it is logged, and the drop is
   counted per day and reason (``dropped_events``, shown on the admin dashboard). A visitor
   created beyond the new-visitor limit gets its row (a cart needs one) already flagged.
3. **Flagged visitors log nothing** more, and :mod:`storefront.tracking.screening` flags the
   ones that look scripted after the fact (rate, cohorts from one address); popularity,
   trending and training leave their events out.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import date
from functools import lru_cache

from flask import current_app
from sqlalchemy import func, select, text

from storefront.extensions import db
from storefront.models import DroppedEvents
from storefront.models.common import utcnow
from storefront.tracking.buckets import Buckets, Rate, parse_rates
from storefront.tracking.visitors import RequestContext, visitor_of

VISITOR_RATE = "visitor rate"
ADDRESS_RATE = "address rate"
NEW_VISITOR_RATE = "new-visitor rate"
FLAGGED = "flagged visitor"
DROP_REASONS = (VISITOR_RATE, ADDRESS_RATE, NEW_VISITOR_RATE, FLAGGED)


def address_key(address: str) -> str:
    """A keyed hash of a client address: enough to group the visitors one address created,
    without storing the address (nor letting anyone without the secret key test a guess)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, address.encode(errors="replace"), hashlib.sha256).hexdigest()[:16]


@lru_cache(maxsize=32)
def _rates(setting: str, value: str) -> tuple[Rate, ...]:
    return tuple(parse_rates(setting, value))


def _limits(setting: str) -> tuple[Rate, ...]:
    return _rates(setting, current_app.config[setting])


def _buckets() -> Buckets:
    return current_app.extensions["buckets"]


def may_track(ctx: RequestContext) -> bool:
    """Whether this request's tracked actions are logged; decided (and a token taken) once per
    request, on its first tracked action."""
    decided = ctx.memo.get("may_track")
    if decided is None:
        decided = _decide(ctx)
        ctx.memo["may_track"] = decided
    return decided


def refuse_tracking(ctx: RequestContext, reason: str) -> bool:
    """Stop logging this request (a visitor found flagged on creation); always False."""
    if ctx.memo.get("may_track") is not False:
        count_drop(reason)
    ctx.memo["may_track"] = False
    return False


def _decide(ctx: RequestContext) -> bool:
    if ctx.is_bot or ctx.visitor_token is None or not ctx.confirmed:
        return False  # rule 1: nothing before the cookie comes back (and never for crawlers)
    if current_app.config["TRACKING_LIMITS_ENABLED"]:
        checks = [
            *((f"track:visitor:{rate.text}:{ctx.visitor_token}", rate) for rate in _limits("TRACKING_VISITOR_LIMIT")),
            *((f"track:address:{rate.text}:{ctx.address}", rate) for rate in _limits("TRACKING_ADDRESS_LIMIT")),
        ]
        refusal = _buckets().take(checks)
        if refusal is not None:
            count_drop(VISITOR_RATE if refusal.key.startswith("track:visitor:") else ADDRESS_RATE)
            return False
    visitor = visitor_of(ctx, create=False)
    if visitor is not None and visitor.flagged_at is not None:
        count_drop(FLAGGED)
        return False
    return True


def new_visitor_allowed(ctx: RequestContext) -> bool:
    """Take a token of this address's new-visitor allowance (always True with limits off)."""
    if not current_app.config["TRACKING_LIMITS_ENABLED"]:
        return True
    checks = [(f"new-visitor:{rate.text}:{ctx.address}", rate) for rate in _limits("NEW_VISITOR_LIMIT")]
    return _buckets().take(checks) is None


_COUNT_DROP = text(
    "INSERT INTO dropped_events (day, reason, count) VALUES (:day, :reason, 1) "
    "ON CONFLICT (day, reason) DO UPDATE SET count = dropped_events.count + 1"
)


def count_drop(reason: str) -> None:
    """One more tracked action not logged today for ``reason``."""
    db.session.execute(_COUNT_DROP, {"day": utcnow().date(), "reason": reason})


def dropped_on(day: date | None = None) -> dict[str, int]:
    """reason -> actions not logged on ``day`` (today, UTC, by default); every reason listed."""
    day = day or utcnow().date()
    rows = db.session.execute(
        select(DroppedEvents.reason, func.sum(DroppedEvents.count)).where(DroppedEvents.day == day)
        .group_by(DroppedEvents.reason)
    ).all()
    counts = {reason: 0 for reason in DROP_REASONS}
    counts.update({reason: int(count) for reason, count in rows})
    return counts

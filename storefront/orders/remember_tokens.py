""""Keep me logged in" tokens: random, stored hashed, revocable, rotated on every use.

A browser's cookie holds ``<selector>:<validator>``. The selector finds the row; the row keeps
only the SHA-256 of the validator, so a copy of the database logs nobody in, and the comparison
runs in constant time. Every use writes a new validator, so a copied cookie works once at most:
whichever of the owner and the thief comes second presents a validator that no longer matches
a live selector, which is how a theft shows. Then every session and token of the customer ends
(the thief may already hold a session opened with the cookie).

The web side (cookies, logging in) is ``storefront.web.remember``; this module takes the cookie
value as an argument and flushes.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storefront.extensions import db
from storefront.models import Customer, RememberToken
from storefront.models.common import utcnow
from storefront.orders import accounts

log = logging.getLogger("storefront.orders.remember_tokens")

SELECTOR_BYTES = 12  # 16 URL-safe characters, well inside the 32 of the column
VALIDATOR_BYTES = 32  # 256 random bits: the secret half
MAX_COOKIE_LENGTH = 200  # anything longer is not ours; refused before any query
# A page opened with several requests at once (tabs restored at start-up) sends the same cookie
# in each: the first rotates it, the others then present the previous validator (or lose the
# compare-and-swap in redeem, when they read it at the same moment). Within this
# many seconds of a rotation a mismatch is taken for that race (the request stays anonymous and
# its cookie untouched), not for a theft that would log the customer out everywhere.
ROTATION_GRACE_SECONDS = 30


@dataclass(frozen=True)
class Redeemed:
    """What a cookie turned out to be. ``customer`` and ``cookie`` (the rotated value) when it
    is valid; ``keep_cookie`` when the browser should keep what it has (the rotation race)."""

    customer: Customer | None = None
    cookie: str | None = None
    max_age: int = 0
    keep_cookie: bool = False


def _hash(validator: str) -> str:
    return hashlib.sha256(validator.encode()).hexdigest()


def _parse(value: str | None) -> tuple[str, str] | None:
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return None
    selector, sep, validator = value.partition(":")
    if not sep or not selector or not validator or len(selector) > 32:
        return None
    return selector, validator


def _find(selector: str) -> RememberToken | None:
    return db.session.scalar(select(RememberToken).where(RememberToken.selector == selector))


def _seconds_left(token: RememberToken, now: datetime) -> int:
    return max(0, int((token.expires_at - now).total_seconds()))


def issue(customer: Customer, lifetime: timedelta) -> tuple[str, int]:
    """A new token for one browser of ``customer``: the cookie value and its max age (flushes).
    The customer's expired tokens go at the same time: browsers that never came back would
    otherwise leave their rows for ever."""
    now = utcnow()
    db.session.execute(
        delete(RememberToken).where(RememberToken.customer_id == customer.id, RememberToken.expires_at <= now)
    )
    validator = secrets.token_urlsafe(VALIDATOR_BYTES)
    token = RememberToken(
        customer_id=customer.id,
        selector=secrets.token_urlsafe(SELECTOR_BYTES),
        validator_hash=_hash(validator),
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetime,
    )
    db.session.add(token)
    db.session.flush()
    return f"{token.selector}:{validator}", _seconds_left(token, now)


def redeem(value: str | None) -> Redeemed:
    """Check a cookie and, when valid, rotate its validator (flushes). Expired tokens are
    deleted; a wrong validator for a live selector is a theft (see the module docstring)."""
    parsed = _parse(value)
    token = _find(parsed[0]) if parsed else None
    if token is None:
        return Redeemed()
    now = utcnow()
    if token.expires_at <= now:  # nothing it could open any more, whatever the validator
        db.session.delete(token)
        db.session.flush()
        return Redeemed()
    if not hmac.compare_digest(token.validator_hash, _hash(parsed[1])):
        if now - token.last_used_at < timedelta(seconds=ROTATION_GRACE_SECONDS):
            return Redeemed(keep_cookie=True)
        customer = db.session.get(Customer, token.customer_id)
        log.warning("remember-me token %s of customer %s presented with a stale validator: possible cookie "
                    "theft; every session and remember-me token of the customer is revoked",
                    token.selector, token.customer_id)
        if customer is not None:
            accounts.revoke_sessions(customer)  # deletes this token with the others
        return Redeemed()
    validator = secrets.token_urlsafe(VALIDATOR_BYTES)
    # Compare-and-swap: two requests that read the same validator at once must not both rotate
    # it (the browser would keep whichever cookie came back last, maybe the one that lost, and
    # its next use would look like a theft). The second one finds no row and is the race above.
    swapped = db.session.execute(
        update(RememberToken)
        .where(RememberToken.id == token.id, RememberToken.validator_hash == token.validator_hash)
        .values(validator_hash=_hash(validator), last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if swapped.rowcount != 1:
        return Redeemed(keep_cookie=True)
    customer = db.session.get(Customer, token.customer_id)
    return Redeemed(customer=customer, cookie=f"{token.selector}:{validator}", max_age=_seconds_left(token, now))


def forget(value: str | None) -> None:
    """Delete the token behind a cookie (logout of this browser), if the cookie is genuine:
    knowing a selector alone deletes nothing (flushes)."""
    parsed = _parse(value)
    token = _find(parsed[0]) if parsed else None
    if token is not None and hmac.compare_digest(token.validator_hash, _hash(parsed[1])):
        db.session.delete(token)
        db.session.flush()

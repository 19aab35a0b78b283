"""Rate limits on the login and registration forms (password guessing, account enumeration).

Token buckets in the store every worker shares (:mod:`storefront.tracking.buckets`: the
database by default, Redis when ``RATELIMIT_STORAGE_URI`` names one), checked before the form
is: the shop wants the form shown again with a message, not an exception before the view. Each
app gets its own ``AuthLimiter`` in ``app.extensions["auth_limiter"]`` (the suite builds
hundreds of apps).

Three limits, each configurable in the ``limits`` notation ("5/minute,30/hour"):
``LOGIN_RATE_LIMIT`` per client address *and* email, ``LOGIN_IP_RATE_LIMIT`` per client address
whatever the email (one address trying many accounts), and ``LOGIN_ACCOUNT_RATE_LIMIT`` per email
whatever the address (many addresses, a botnet, guessing one account's password). Every POST
counts, valid or not, so parallel guesses cannot slip through between a check and a count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from flask import Flask, current_app, request

from storefront.extensions import db
from storefront.orders.accounts import normalise_email
from storefront.tracking.buckets import Buckets, Rate, parse_rates


@dataclass(frozen=True)
class Blocked:
    """A refused attempt: which limit and when to come back."""

    limit: str
    retry_after: int  # seconds
    per_account: bool = False  # the account's own limit (attempts from anywhere), not this address's

    def message(self, what: str) -> str:
        wait = f"{self.retry_after} seconds" if self.retry_after < 120 else f"{math.ceil(self.retry_after / 60)} minutes"
        where = "for this account" if self.per_account else "from here"
        return f"Too many {what} attempts {where}. Please wait {wait} and try again."


class AuthLimiter:
    def __init__(self, buckets: Buckets, per_email: str, per_address: str, enabled: bool = True,
                 per_account: str = "") -> None:
        self.enabled = enabled
        self.buckets = buckets
        self.per_email = parse_rates("LOGIN_RATE_LIMIT", per_email)
        self.per_address = parse_rates("LOGIN_IP_RATE_LIMIT", per_address)
        self.per_account = parse_rates("LOGIN_ACCOUNT_RATE_LIMIT", per_account) if per_account else []

    @classmethod
    def from_config(cls, config, buckets: Buckets) -> AuthLimiter:
        return cls(
            buckets,
            per_email=config["LOGIN_RATE_LIMIT"],
            per_address=config["LOGIN_IP_RATE_LIMIT"],
            enabled=bool(config.get("RATELIMIT_ENABLED", True)),
            per_account=config.get("LOGIN_ACCOUNT_RATE_LIMIT") or "",
        )

    def hit(self, scope: str, address: str, email: str | None) -> Blocked | None:
        """Count one attempt on ``scope`` (``login``, ``register``); a ``Blocked`` when over a
        limit (the attempt must then be refused without checking anything)."""
        if not self.enabled:
            return None
        email = normalise_email(email or "")[:254]
        checks: list[tuple[str, Rate]] = [
            *((f"{scope}:address+email:{rate.text}:{address}:{email}", rate) for rate in self.per_email),
            *((f"{scope}:address:{rate.text}:{address}", rate) for rate in self.per_address),
            *((f"{scope}:account:{rate.text}:{email}", rate) for rate in (self.per_account if email else ())),
        ]
        refusal = self.buckets.take(checks)
        if refusal is None:
            return None
        return Blocked(refusal.rate.text, refusal.retry_after, refusal.key.startswith(f"{scope}:account:"))

    def reset(self) -> None:
        self.buckets.reset()


def init_app(app: Flask) -> None:
    """The app's buckets (shared with tracking, ``app.extensions["buckets"]``) and login limits."""
    buckets = Buckets(app.config.get("RATELIMIT_STORAGE_URI") or "database")
    app.extensions["buckets"] = buckets
    app.extensions["auth_limiter"] = AuthLimiter.from_config(app.config, buckets)


def auth_limiter() -> AuthLimiter:
    return current_app.extensions["auth_limiter"]


def hit_auth_limit(scope: str, email: str | None) -> Blocked | None:
    """Count this request's attempt on ``scope`` for its client address (after ProxyFix) and
    ``email``."""
    blocked = auth_limiter().hit(scope, request.remote_addr or "unknown", email)
    db.session.commit()  # the count stands even when the attempt then fails
    return blocked

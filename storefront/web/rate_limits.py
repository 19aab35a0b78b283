"""Rate limits on the login and registration forms (password guessing, account enumeration).

Built on ``limits`` (the engine behind Flask-Limiter) rather than on Flask-Limiter itself:
Flask-Limiter keeps its storage, switches and error policy on one module-level ``Limiter`` that
the first ``init_app`` configures, which does not fit an app factory that builds many apps
(the test suite builds hundreds), and it answers a breach with an exception before the view,
where the shop wants the form shown again with a message. Here each app gets its own
``AuthLimiter`` in ``app.extensions["auth_limiter"]``.

Three limits, each configurable in the ``limits`` notation ("5/minute,30/hour"):
``LOGIN_RATE_LIMIT`` per client address *and* email, ``LOGIN_IP_RATE_LIMIT`` per client address
whatever the email (one address trying many accounts), and ``LOGIN_ACCOUNT_RATE_LIMIT`` per email
whatever the address (many addresses, a botnet, guessing one account's password). Every POST counts, valid or not, so
parallel guesses cannot slip through between a check and a count.

Storage: ``RATELIMIT_STORAGE_URI``. ``memory://`` counts per process, so with N gunicorn
workers a client gets up to N times the limit; ``redis://127.0.0.1:6379/0`` shares the counts
between every worker (and host). When the shared store fails, the limiter logs it and counts in
memory for ``FALLBACK_SECONDS`` before trying the store again: a Redis outage never locks
customers out, nor turns the limit off.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import STRATEGIES, RateLimiter

from storefront.orders.accounts import normalise_email

log = logging.getLogger(__name__)

FALLBACK_SECONDS = 30.0
STORAGE_TIMEOUT_SECONDS = 0.5  # a slow Redis must not hold a login request for long


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
    def __init__(self, storage_uri: str, strategy: str, per_email: str, per_address: str, enabled: bool = True,
                 per_account: str = "") -> None:
        if strategy not in STRATEGIES:
            raise RuntimeError(f"RATELIMIT_STRATEGY must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        self.enabled = enabled
        self.storage_uri = storage_uri
        self.per_email = _parse("LOGIN_RATE_LIMIT", per_email)
        self.per_address = _parse("LOGIN_IP_RATE_LIMIT", per_address)
        self.per_account = _parse("LOGIN_ACCOUNT_RATE_LIMIT", per_account) if per_account else []
        self._strategy = STRATEGIES[strategy]
        options = {}
        if storage_uri.startswith(("redis", "valkey")):
            options = {"socket_timeout": STORAGE_TIMEOUT_SECONDS, "socket_connect_timeout": STORAGE_TIMEOUT_SECONDS}
        self._primary: RateLimiter = self._strategy(storage_from_string(storage_uri, **options))
        self._fallback: RateLimiter = self._strategy(MemoryStorage())
        self._fallback_until = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config) -> AuthLimiter:
        return cls(
            storage_uri=config.get("RATELIMIT_STORAGE_URI") or "memory://",
            strategy=config.get("RATELIMIT_STRATEGY") or "moving-window",
            per_email=config["LOGIN_RATE_LIMIT"],
            per_address=config["LOGIN_IP_RATE_LIMIT"],
            enabled=bool(config.get("RATELIMIT_ENABLED", True)),
            per_account=config.get("LOGIN_ACCOUNT_RATE_LIMIT") or "",
        )

    @property
    def storage(self) -> Storage:
        return self._primary.storage

    def hit(self, scope: str, address: str, email: str | None) -> Blocked | None:
        """Count one attempt on ``scope`` (``login``, ``register``); a ``Blocked`` when over a
        limit (the attempt must then be refused without checking anything)."""
        if not self.enabled:
            return None
        email = normalise_email(email or "")[:254]
        checks: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            *((item, (scope, "address+email", address, email)) for item in self.per_email),
            *((item, (scope, "address", address)) for item in self.per_address),
            *((item, (scope, "account", email)) for item in (self.per_account if email else ())),
        ]
        limiter = self._limiter()
        try:
            return self._hit_all(limiter, checks)
        except Exception:  # noqa: BLE001 - any storage failure: count in memory for a while
            if limiter is self._fallback:
                raise
            self._fall_back()
            return self._hit_all(self._fallback, checks)

    def reset(self) -> None:
        for limiter in (self._primary, self._fallback):
            limiter.storage.reset()

    def _hit_all(self, limiter: RateLimiter, checks) -> Blocked | None:
        for item, identifiers in checks:
            if not limiter.hit(item, *identifiers):
                reset_at = limiter.get_window_stats(item, *identifiers).reset_time
                return Blocked(str(item), max(1, math.ceil(reset_at - time.time())), identifiers[1] == "account")
        return None

    def _limiter(self) -> RateLimiter:
        return self._fallback if time.monotonic() < self._fallback_until else self._primary

    def _fall_back(self) -> None:
        with self._lock:
            if time.monotonic() >= self._fallback_until:
                log.warning("rate-limit storage %s failed; counting in this process for %.0f s",
                            _redacted(self.storage_uri), FALLBACK_SECONDS, exc_info=True)
            self._fallback_until = time.monotonic() + FALLBACK_SECONDS


def _parse(setting: str, value: str) -> list[RateLimitItem]:
    try:
        return parse_many(value)
    except ValueError:
        raise RuntimeError(f'{setting}={value!r} is not a rate limit: write e.g. "5/minute,30/hour"') from None


def _redacted(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def init_app(app: Flask) -> None:
    app.extensions["auth_limiter"] = AuthLimiter.from_config(app.config)


def auth_limiter() -> AuthLimiter:
    return current_app.extensions["auth_limiter"]


def hit_auth_limit(scope: str, email: str | None) -> Blocked | None:
    """Count this request's attempt on ``scope`` for its client address (after ProxyFix) and
    ``email``."""
    return auth_limiter().hit(scope, request.remote_addr or "unknown", email)

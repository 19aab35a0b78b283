"""Rate limits every worker shares: token buckets in the database or in Redis.

One algorithm, three stores. A limit such as ``30/minute`` is a bucket of 30 tokens refilled at
30 per minute: a burst of 30 goes through, then one request every 2 seconds. It is kept as
GCRA's single number per key (the generic cell rate algorithm, as in ATM networks and
redis-cell): the *theoretical arrival time* ``tat``. A request at ``now`` is allowed when
``tat - burst <= now``, and then moves ``tat`` one interval later; a refused request changes
nothing, so a client over its limit gets exactly the refill rate, no less.

Stores, chosen by ``RATELIMIT_STORAGE_URI``:

- ``database`` (the default): one row per key in ``rate_buckets``, updated by one
  ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` (SQLite >= 3.35 and PostgreSQL). On
  PostgreSQL a request's checks are one call of a server-side function that runs those upserts
  in order, in autocommit on a connection of its own, so a hot key (one busy address) is never
  locked for the rest of a request and all the buckets cost one round trip; on SQLite, where
  there is one writer anyway, it joins the request's transaction (a second connection would
  wait for the first one's write lock);
- ``redis://...``: the same arithmetic in a Lua script, atomic on the server;
- ``memory://``: per process. Fine for one process (tests, a laptop); with N gunicorn workers a
  client gets N times every limit, so production refuses it with more than one worker
  (``storefront.config.check_production`` and ``gunicorn.conf.py``).

When the shared store fails, :class:`Buckets` logs it and counts in memory for
``FALLBACK_SECONDS`` before trying again: an outage of the store neither locks customers out
nor turns the limits off.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

from limits import parse_many
from sqlalchemy import delete

from storefront.extensions import db
from storefront.models import RateBucket

log = logging.getLogger(__name__)

FALLBACK_SECONDS = 30.0
STORE_TIMEOUT_SECONDS = 0.5  # a slow Redis must not hold a request for long
DATABASE = "database"
MEMORY = "memory://"


@dataclass(frozen=True)
class Rate:
    """``amount`` requests per ``seconds``, as a bucket of ``amount`` tokens."""

    amount: int
    seconds: float
    text: str

    @property
    def interval(self) -> float:
        return self.seconds / self.amount

    @property
    def burst(self) -> float:
        """How far ahead of now ``tat`` may be for a request to pass."""
        return self.seconds - self.interval


def parse_rates(setting: str, value: str) -> list[Rate]:
    """``"5/minute, 30/hour"`` (the ``limits`` notation, "," or ";" between) as rates; a
    malformed value stops the app at start-up with the setting's name."""
    try:
        items = parse_many(value)
    except ValueError:
        raise RuntimeError(f'{setting}={value!r} is not a rate limit: write e.g. "5/minute,30/hour"') from None
    return [Rate(item.amount, float(item.get_expiry()), str(item)) for item in items]


class Store(Protocol):
    def take(self, key: str, rate: Rate, now: float) -> float:
        """Take one token of ``key``'s bucket: 0.0 when allowed, else seconds until one is free."""

    def take_all(self, checks: list[tuple[str, Rate]], now: float) -> list[float]:
        """``take`` for each check in order, stopping at the first refusal: the waits so far."""

    def reset(self) -> None:
        """Forget every bucket (tests, ``flask shop`` maintenance)."""


def take_in_order(take: Callable[[str, Rate, float], float], checks: list[tuple[str, Rate]],
                  now: float) -> list[float]:
    """The waits of ``take`` over ``checks`` in order, up to and including the first refusal (the
    buckets after it are not charged)."""
    waits = []
    for key, rate in checks:
        waits.append(take(key, rate, now))
        if waits[-1] > 0:
            break
    return waits


def _gcra(tat: float | None, rate: Rate, now: float) -> tuple[float, float]:
    """(new tat, wait): the algorithm the three stores share (the SQL and Lua spell it again)."""
    tat = now if tat is None or tat < now else tat
    if tat - rate.burst > now:
        return tat, tat - rate.burst - now
    return tat + rate.interval, 0.0


class MemoryStore:
    def __init__(self) -> None:
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate: Rate, now: float) -> float:
        with self._lock:
            self._tats[key], wait = _gcra(self._tats.get(key), rate, now)
            if len(self._tats) > 100_000:  # full buckets carry no state: forget them
                self._tats = {k: t for k, t in self._tats.items() if t > now}
            return wait

    def take_all(self, checks: list[tuple[str, Rate]], now: float) -> list[float]:
        return take_in_order(self.take, checks, now)

    def reset(self) -> None:
        with self._lock:
            self._tats.clear()


# Both engines evaluate every SET expression on the row as it was, so ``rate_buckets.tat`` below
# is the old value throughout; ``allowed_at = now`` comes back only when this request passed.
# Sent with ``exec_driver_sql`` (the driver's own parameter style, no statement compilation):
# this runs on every tracked request, and through the ORM session it cost four times as much.
_TAKE_SQL = """
INSERT INTO rate_buckets (key, tat, allowed_at) VALUES ({key}, {now} + {interval}, {now})
ON CONFLICT (key) DO UPDATE SET
  tat = CASE WHEN rate_buckets.tat - {burst} <= {now}
             THEN (CASE WHEN rate_buckets.tat > {now} THEN rate_buckets.tat ELSE {now} END) + {interval}
             ELSE rate_buckets.tat END,
  allowed_at = CASE WHEN rate_buckets.tat - {burst} <= {now} THEN {now} ELSE rate_buckets.allowed_at END
RETURNING tat, allowed_at
"""
_NAMES = ("key", "now", "interval", "burst")
_TAKE_SQLITE = _TAKE_SQL.format(**{n: f":{n}" for n in _NAMES})  # sqlite3 takes named parameters
# PostgreSQL: the same upserts in order in one call (the function is in storefront.models.events)
_TAKE_ALL_POSTGRESQL = ("SELECT storefront_take_buckets(%(keys)s::text[], %(intervals)s::float8[], "
                        "%(bursts)s::float8[], %(now)s::float8)")


def _take_sqlite(connection, key: str, rate: Rate, now: float) -> float:
    params = {"key": key[:200], "now": now, "interval": rate.interval, "burst": rate.burst}
    tat, allowed_at = connection.exec_driver_sql(_TAKE_SQLITE, params).one()
    return 0.0 if allowed_at == now else max(tat - rate.burst - now, 0.001)


class DatabaseStore:
    def take(self, key: str, rate: Rate, now: float) -> float:
        return self.take_all([(key, rate)], now)[0]

    def take_all(self, checks: list[tuple[str, Rate]], now: float) -> list[float]:
        """``take`` for each check in order, stopping at the first refusal (the waits so far).

        On PostgreSQL one call of ``storefront_take_buckets`` (``storefront.models.events``)
        runs the upserts server-side, in autocommit: the statement commits as it ends, so no
        row stays locked for the rest of the request, and a tracked request costs one round
        trip for all its buckets (a transaction per bucket was a pool checkout, BEGIN, the
        upsert and COMMIT each). SQLite runs them in the request's transaction."""
        if db.engine.dialect.name == "sqlite":
            connection = db.session.connection()
            return take_in_order(lambda key, rate, at: _take_sqlite(connection, key, rate, at), checks, now)
        params = {"keys": [key[:200] for key, _ in checks], "intervals": [rate.interval for _, rate in checks],
                  "bursts": [rate.burst for _, rate in checks], "now": now}
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            return list(connection.exec_driver_sql(_TAKE_ALL_POSTGRESQL, params).scalar_one())

    def reset(self) -> None:
        db.session.execute(delete(RateBucket))
        db.session.commit()


# KEYS[1]: the bucket; ARGV: now, interval, burst. Returns the wait as a string (Lua numbers
# are truncated to integers on the way back).
_TAKE_LUA = """
local now, interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if tat - burst > now then return tostring(tat - burst - now) end
tat = tat + interval
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
return '0'
"""


class RedisStore:
    PREFIX = "storefront:bucket:"

    def __init__(self, uri: str) -> None:
        import redis  # installed with limits[redis]; only needed when a Redis is configured

        self._client = redis.Redis.from_url(uri, socket_timeout=STORE_TIMEOUT_SECONDS,
                                            socket_connect_timeout=STORE_TIMEOUT_SECONDS)
        self._take = self._client.register_script(_TAKE_LUA)

    def take(self, key: str, rate: Rate, now: float) -> float:
        return float(self._take(keys=[self.PREFIX + key], args=[repr(now), repr(rate.interval), repr(rate.burst)]))

    def take_all(self, checks: list[tuple[str, Rate]], now: float) -> list[float]:
        return take_in_order(self.take, checks, now)

    def reset(self) -> None:
        for key in self._client.scan_iter(self.PREFIX + "*"):
            self._client.delete(key)


def store_from_uri(uri: str) -> Store:
    if uri == DATABASE:
        return DatabaseStore()
    if uri.startswith(("redis://", "rediss://", "unix://")):
        return RedisStore(uri)
    if uri.startswith("memory"):
        return MemoryStore()
    raise RuntimeError(f'RATELIMIT_STORAGE_URI={uri!r}: use "database", "redis://host:6379/0" or "memory://"')


@dataclass(frozen=True)
class Refusal:
    """The first limit a request ran into."""

    key: str
    rate: Rate
    retry_after: int  # whole seconds, at least 1


class Buckets:
    """The app's buckets (``app.extensions["buckets"]``): the configured store, with a memory
    fallback while it fails."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._primary = store_from_uri(uri)
        self._fallback = MemoryStore()
        self._fallback_until = 0.0
        self._lock = threading.Lock()

    @property
    def shared(self) -> bool:
        return not isinstance(self._primary, MemoryStore)

    def take(self, checks: list[tuple[str, Rate]], now: float | None = None) -> Refusal | None:
        """One token from each bucket in order, stopping at the first that is empty."""
        now = time.time() if now is None else now
        store = self._fallback if time.monotonic() < self._fallback_until else self._primary
        try:
            return self._take_all(store, checks, now)
        except Exception:  # noqa: BLE001 - any failure of the store: count in this process a while
            if store is self._fallback:
                raise
            if isinstance(self._primary, DatabaseStore) and db.engine.dialect.name == "sqlite":
                raise  # the request's own transaction failed: the caller's error handling applies
            self._fall_back()
            return self._take_all(self._fallback, checks, now)

    def reset(self) -> None:
        for store in (self._primary, self._fallback):
            store.reset()

    def prune(self, now: float | None = None) -> int:
        """Delete the database rows of full buckets (they carry no state); the number deleted."""
        if not isinstance(self._primary, DatabaseStore):
            return 0
        now = time.time() if now is None else now
        return db.session.execute(delete(RateBucket).where(RateBucket.tat < now)).rowcount or 0

    @staticmethod
    def _take_all(store: Store, checks: list[tuple[str, Rate]], now: float) -> Refusal | None:
        for (key, rate), wait in zip(checks, store.take_all(checks, now)):
            if wait > 0:
                return Refusal(key, rate, max(1, math.ceil(wait)))
        return None

    def _fall_back(self) -> None:
        with self._lock:
            if time.monotonic() >= self._fallback_until:
                log.warning("rate-limit storage %s failed; counting in this process for %.0f s",
                            _redacted(self.uri), FALLBACK_SECONDS, exc_info=True)
            self._fallback_until = time.monotonic() + FALLBACK_SECONDS


def _redacted(uri: str) -> str:
    scheme, _, rest = uri.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if rest else uri

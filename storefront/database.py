"""Engine setup that SQLAlchemy cannot express in a URL.

Several gunicorn workers write events at once; on SQLite that needs WAL (readers do not block
the writer), a busy timeout (a writer waits for the lock instead of failing at once) and
``synchronous=NORMAL`` (safe with WAL, far fewer fsyncs). PRAGMAs are per connection, so they
are set on every new connection.
"""
from __future__ import annotations

import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine

from storefront.extensions import db


def normalise_database_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def sqlite_url_for(instance_path: str) -> str:
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(instance_path) / "storefront.db")


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Register the per-connection PRAGMAs on a SQLite engine (no-op for other dialects)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection, _record):  # noqa: ANN001 - DB-API connection
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "checkin")
    def _restore_foreign_keys(dbapi_connection, record):  # noqa: ANN001 - DB-API connection
        # After the commit or rollback of a bulk import that turned them off (see below).
        if record.info.pop(_FOREIGN_KEYS_OFF, False) and dbapi_connection is not None:
            dbapi_connection.execute("PRAGMA foreign_keys=ON")


_FOREIGN_KEYS_OFF = "storefront.foreign_keys_off"
_RETURNED_AT = "storefront.returned_at"


def configure_pool_ping(engine: Engine, after_idle_seconds: float) -> None:
    """A server database's pooled connection is tested before use only when it sat idle in the
    pool for ``after_idle_seconds`` (no-op for SQLite, a file that cannot drop a connection).

    ``pool_pre_ping`` pings on every checkout: on PostgreSQL one round trip of the seven a page
    made, to a server that shares the workers' CPUs. A connection handed back a moment ago by
    the previous request is as alive as the server; one that waited long enough for a restart,
    a failover or an idle timeout to have closed it is tested, and replaced when the test fails
    (SQLAlchemy retries the checkout on ``DisconnectionError``). A connection that dies between
    two busy requests fails that request's statement, and SQLAlchemy then invalidates the whole
    pool, so the next requests get fresh connections. 0 tests on every checkout.
    """
    if engine.dialect.name == "sqlite":
        return

    @event.listens_for(engine, "checkin")
    def _remember_return(_dbapi_connection, record):  # noqa: ANN001 - pool record
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):  # noqa: ANN001 - DB-API connection
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < after_idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError(f"a pooled connection failed its test: {error}") from error
        if not alive:
            raise exc.DisconnectionError("a pooled connection failed its test")


def refresh_statistics(connection: Connection) -> bool:
    """PostgreSQL: ``ANALYZE`` after a bulk load (seed, import), in the caller's transaction.

    Until autovacuum gets to it, the planner believes a freshly loaded table is empty: on a
    new demo shop it read the "recent events" of a visitor by a bitmap AND with all 218k views
    (19.6 ms instead of 0.35 ms) and the home page took 104 ms instead of 55. SQLite keeps
    its heuristics (its plans were tuned without statistics). Returns whether it ran.
    """
    if connection.dialect.name != "postgresql":
        return False
    connection.exec_driver_sql("ANALYZE")
    return True


def suspend_foreign_keys(connection: Connection) -> bool:
    """SQLite: skip the per-row foreign key checks for the rest of this connection's transaction.

    For bulk imports that assign every referenced id themselves while holding SQLite's only
    write lock (nobody can delete a parent meanwhile): the checks cost half of the insert time
    (2.76M events: 14.5 s -> 7.8 s). SQLite ignores the PRAGMA inside a transaction, so it must
    run before the first write; the checks come back when the connection returns to the pool
    (after the commit or rollback). Returns whether they are off; PostgreSQL keeps them.
    """
    if connection.dialect.name != "sqlite" or connection.connection.dbapi_connection.in_transaction:
        return False
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    connection.connection.info[_FOREIGN_KEYS_OFF] = True
    return True


def init_database(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        configure_pool_ping(db.engine, float(app.config["POOL_PING_AFTER_IDLE_SECONDS"]))

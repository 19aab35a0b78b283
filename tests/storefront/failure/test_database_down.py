"""The database unavailable for a moment: a clean 503, then recovery without a restart.

- SQLite: another process holds the write lock longer than the busy timeout (a long
  maintenance transaction, a backup): requests that write get 503 + Retry-After instead of a
  500 with "database is locked", pages that only read still answer, and once the lock is gone
  the next request works.
- PostgreSQL: the database refuses connections and every open one is terminated (what a
  restart or failover looks like to the app): every page answers 503 (HTML; JSON under /api),
  /healthz stays 200, /readyz says 503, and when connections are allowed again the very next
  request succeeds: the pool's pre-ping replaces the dead connections.

No answer may carry a traceback or the driver's error text.
"""
from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests import factories
from tests.helpers import BOT_UA, browser_client, reset_postgres_schema
from storefront import create_app
from storefront.database import normalise_database_url
from storefront.extensions import db
from tests.storefront.support.shop import ctx, login, new_customer

LEAKS = ("Traceback", "OperationalError", "sqlalchemy", "psycopg", "sqlite3", "database is locked",
         "ALLOW_CONNECTIONS", "terminating connection")


def _shop(app) -> int:
    with ctx(app):
        category = factories.category("Lamps")
        return factories.product(category, name="Desk lamp", stock=20).id


def _assert_clean_503(response, *, json: bool = False) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, (response.status_code, body[:500])
    assert response.headers.get("Retry-After", "").isdigit()
    for leak in LEAKS:
        assert leak not in body, f"{leak!r} leaked into the 503 answer"
    if json:
        assert response.is_json and response.get_json()["status"] == 503
    else:
        assert response.mimetype == "text/html"
        assert "Temporarily unavailable" in body


# -- SQLite: a writer holds the lock longer than busy_timeout ---------------------------------------


@contextmanager
def held_write_lock(path: Path):
    """Another process's view of the database: a write transaction left open."""
    holder = sqlite3.connect(path, timeout=1, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_sqlite_locked_longer_than_busy_timeout_is_a_503(tmp_path):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the SQLite variant needs its own file")  # the PostgreSQL variant runs instead
    path = tmp_path / "locked.db"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "MODEL_DIR": str(tmp_path / "models"), "SQLITE_BUSY_TIMEOUT_MS": 150})
    with app.app_context():
        db.create_all()
    product_id = _shop(app)
    client = browser_client(app)
    assert client.get(f"/products/{product_id}").status_code == 200
    with held_write_lock(path):
        # Each of these writes (a view event, widget impressions, a visitor row).
        _assert_clean_503(browser_client(app).get(f"/products/{product_id}"))  # a new visitor's view
        _assert_clean_503(browser_client(app).get("/"))
        _assert_clean_503(browser_client(app).get("/api/v1/recommendations/user"), json=True)
        assert client.get("/healthz").status_code == 200
        _assert_clean_503(browser_client(app).get("/search?q=lamp"))  # a shopper's search logs its event
        crawler = app.test_client()
        crawler.environ_base["HTTP_USER_AGENT"] = BOT_UA
        assert crawler.get("/search?q=lamp").status_code == 200  # reading still works in WAL mode
    response = client.get("/")
    assert response.status_code == 200  # the lock is gone: no restart needed
    assert browser_client(app).get(f"/products/{product_id}").status_code == 200
    with app.app_context():
        db.engine.dispose()


# -- PostgreSQL: connections refused and terminated ---------------------------------------------------


def _server_url() -> str | None:
    """A PostgreSQL server we may create a scratch database on, or None."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url and not url.startswith("postgres"):
        return None
    url = url or os.environ.get("FAULT_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    return normalise_database_url(url)


@pytest.fixture
def scratch_postgres():
    """A database of its own (the fault must not hit the shared test database), dropped after."""
    server = _server_url()
    if server is None:
        pytest.skip("TEST_DATABASE_URL is not PostgreSQL")
    admin_url = make_url(server).set(database="postgres")
    name = f"sf_fault_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001 - unreachable or not allowed: nothing to test on
        admin.dispose()
        pytest.skip(f"no PostgreSQL to create a scratch database on: {type(error).__name__}")
    try:
        yield admin, make_url(server).set(database=name).render_as_string(hide_password=False), name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _refuse_connections(admin, name: str, refuse: bool) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if refuse else "true"}'))
        if refuse:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})


def _database_ready(client) -> bool:
    return client.get("/readyz").get_json()["checks"]["database"]["ok"]


def test_postgres_outage_answers_503_and_recovers_by_itself(tmp_path, scratch_postgres):
    admin, url, name = scratch_postgres
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "MODEL_DIR": str(tmp_path / "models")})
    with app.app_context():
        reset_postgres_schema()
        db.create_all()
    product_id = _shop(app)
    new_customer(app, "ada@example.com")
    shopper, customer = browser_client(app), browser_client(app)
    assert login(customer, "ada@example.com").status_code == 302
    pages = ["/", f"/products/{product_id}", "/cart", "/search?q=lamp", "/account/orders"]
    for page in pages:
        assert shopper.get(page).status_code in (200, 302)
        assert customer.get(page).status_code == 200
    assert _database_ready(shopper)  # (create_all, not migrations: only the database check counts)

    _refuse_connections(admin, name, refuse=True)
    try:
        for page in pages[:4]:
            _assert_clean_503(shopper.get(page))
            _assert_clean_503(customer.get(page))  # the layout needs the customer too: still clean
        _assert_clean_503(shopper.get("/api/v1/recommendations/user"), json=True)
        _assert_clean_503(shopper.get(f"/api/v1/recommendations/item/{product_id}"), json=True)
        _assert_clean_503(shopper.post(f"/cart/add/{product_id}", data={"quantity": "1"}))
        assert shopper.get("/healthz").status_code == 200  # the process is fine: no restart
        ready = shopper.get("/readyz")
        assert ready.status_code == 503 and not _database_ready(shopper)  # but it is not ready
    finally:
        _refuse_connections(admin, name, refuse=False)

    # The very next request works: dead pooled connections are replaced, nothing restarted.
    for page in pages:
        assert shopper.get(page).status_code in (200, 302), page
        assert customer.get(page).status_code == 200, page
    assert shopper.post(f"/cart/add/{product_id}", data={"quantity": "1"}).status_code == 302
    assert _database_ready(shopper)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _warnings(caplog) -> list[logging.LogRecord]:
    """Warnings and errors, less the access log's one line per request (``storefront.request``)."""
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name != "storefront.request"]


def test_an_outage_logs_one_warning_per_interval_with_a_count_and_no_traceback(tmp_path, caplog):
    """Every 503 used to log a line, and the layout a full traceback: megabytes per minute of
    outage. Now: one warning per ``OUTAGE_LOG_INTERVAL_SECONDS`` with the count of 503s since."""
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("the SQLite variant needs its own file")
    path = tmp_path / "locked.db"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "MODEL_DIR": str(tmp_path / "models"), "SQLITE_BUSY_TIMEOUT_MS": 100,
                      "OUTAGE_LOG_INTERVAL_SECONDS": 1.0})
    with app.app_context():
        db.create_all()
    product_id = _shop(app)
    caplog.set_level(logging.DEBUG)
    with held_write_lock(path):
        caplog.clear()
        for _ in range(6):
            assert browser_client(app).get(f"/products/{product_id}").status_code == 503
        first = _warnings(caplog)
        time.sleep(1.1)
        assert browser_client(app).get(f"/products/{product_id}").status_code == 503
    warnings = _warnings(caplog)
    assert len(first) == 1 and "Database unavailable" in first[0].getMessage()
    assert len(warnings) == 2 and "5 more 503s since the last report" in warnings[1].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
    with app.app_context():
        db.engine.dispose()

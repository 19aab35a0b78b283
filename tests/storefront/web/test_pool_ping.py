"""PostgreSQL connections are tested after idling in the pool, not on every request
(storefront.database.configure_pool_ping): a real server, a real pool, a backend killed for real."""
from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from storefront.database import configure_pool_ping, normalise_database_url

URL = os.environ.get("TEST_DATABASE_URL", "")
if not URL.startswith("postgres"):
    URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture()
def engine():
    engine = create_engine(normalise_database_url(URL), pool_size=1, max_overflow=0,
                           connect_args={"connect_timeout": 3})
    try:
        engine.connect().close()
    except OperationalError as error:
        engine.dispose()
        pytest.skip(f"needs PostgreSQL at {URL} ({str(error).splitlines()[0]})")
    yield engine
    engine.dispose()


def _count_pings(engine) -> list[int]:
    pings = [0]
    real = engine.dialect.do_ping

    def counting(dbapi_connection):
        pings[0] += 1
        return real(dbapi_connection)

    engine.dialect.do_ping = counting
    return pings


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_returned_a_moment_ago_is_not_pinged(engine):
    configure_pool_ping(engine, after_idle_seconds=60)
    pings = _count_pings(engine)
    first = _backend_pid(engine)  # a new connection has never been in the pool: tested once
    assert [_backend_pid(engine) for _ in range(5)] == [first] * 5
    assert pings[0] == 1


def test_an_idle_connection_is_tested_and_a_dead_one_replaced(engine):
    configure_pool_ping(engine, after_idle_seconds=0.2)
    pings = _count_pings(engine)
    doomed = _backend_pid(engine)
    killer = create_engine(normalise_database_url(URL), isolation_level="AUTOCOMMIT")
    try:
        with killer.connect() as connection:
            assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": doomed}).scalar_one()
    finally:
        killer.dispose()
    time.sleep(0.3)
    replacement = _backend_pid(engine)  # no error: the test failed and the pool reconnected
    assert replacement != doomed
    assert pings[0] >= 2


def test_zero_tests_on_every_checkout(engine):
    configure_pool_ping(engine, after_idle_seconds=0)
    pings = _count_pings(engine)
    for _ in range(3):
        _backend_pid(engine)
    assert pings[0] == 3


def test_sqlite_is_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    configure_pool_ping(engine, after_idle_seconds=0)
    pings = _count_pings(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    assert pings[0] == 0
    engine.dispose()

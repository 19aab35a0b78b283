"""Concurrent event ingestion through a real gunicorn with several workers.

8 browsers (threads, each with its own cookies and a browser User-Agent) view products and add
them to their carts with the product form's real CSRF token, against 3 sync workers on the
test database (SQLite in WAL mode, or PostgreSQL with TEST_DATABASE_URL). Every action the
server acknowledged must be a row in ``events``; no 5xx; no "database is locked" in the log.
The long version (>= 20,000 actions, SQLite and PostgreSQL) is ``bench/concurrent_ingestion.py``.
"""
from __future__ import annotations

import pytest

from bench.concurrent_ingestion import describe, reset_postgres, run_load
from tests.helpers import database_url

pytestmark = pytest.mark.slow  # ~45 s: migrate + seed + 2,400 requests on two cores


def test_every_acknowledged_action_is_stored(tmp_path):
    url = database_url(tmp_path)
    if url.startswith("postgres"):
        reset_postgres(url)  # migrations build the schema here, not create_all
    try:
        result = run_load(url, tmp_path / "models", workers=3, clients=8, actions=2400, visitor_every=50,
                          log_path=tmp_path / "gunicorn.log")
    finally:
        if url.startswith("postgres"):
            reset_postgres(url)
    print(describe(result))
    assert result["transport_errors"] == 0, result["first_errors"]
    assert result["server_errors"] == 0, (result["statuses"], result["log_tail"])
    assert result["locked"] == 0, result["log_tail"]
    assert result["adds"] > 200 and result["views"] > 1500  # both kinds of action really happened
    assert result["stored"] == result["acknowledged"] == result["requests"] - result["refused_adds"]

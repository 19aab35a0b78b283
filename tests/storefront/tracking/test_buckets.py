"""The token buckets every limit uses, on each store: a burst, then the refill rate."""
from __future__ import annotations

import runpy
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from storefront.config import check_production
from tests.helpers import redis_up
from storefront.tracking.buckets import Buckets, parse_rates


STORES = ["memory://", "database",
          pytest.param("redis://127.0.0.1:6379/0", marks=pytest.mark.skipif(not redis_up(), reason="no Redis"))]


@pytest.mark.parametrize("uri", STORES)
def test_a_burst_then_one_token_per_interval(app_ctx, uri):
    buckets = Buckets(uri)
    (rate,) = parse_rates("TEST", "3/minute")
    key = f"test:{uuid.uuid4().hex}"  # a shared Redis: keys unique to this run
    t0 = 1_000_000.0
    assert [buckets.take([(key, rate)], t0 + i * 0.01) for i in range(3)] == [None] * 3
    refused = buckets.take([(key, rate)], t0 + 0.05)
    assert refused is not None and 19 <= refused.retry_after <= 20  # one token back every 20 s
    assert buckets.take([(key, rate)], t0 + 10) is not None  # refusals do not consume: still waiting
    assert buckets.take([(key, rate)], t0 + 20.1) is None
    assert buckets.take([(key, rate)], t0 + 20.2) is not None
    assert buckets.take([(f"{key}:other", rate)], t0 + 20.2) is None  # keys are independent


@pytest.mark.parametrize("uri", STORES)
def test_several_limits_stop_at_the_first_refusal(app_ctx, uri):
    # the database store takes them on one connection (PostgreSQL: autocommit, one round trip
    # each); every store charges the buckets before the refusal and none after it
    buckets = Buckets(uri)
    (one,) = parse_rates("TEST", "1/minute")
    (five,) = parse_rates("TEST", "5/minute")
    key = f"test:{uuid.uuid4().hex}"
    first, second, third = (f"{key}:first", five), (f"{key}:tight", one), (f"{key}:last", five)
    t0 = 2_000_000.0
    assert buckets.take([first, second, third], t0) is None
    for i in range(1, 4):  # refused by the tight bucket: the first is charged, the last is not
        refused = buckets.take([first, second, third], t0 + i * 0.01)
        assert refused is not None and refused.key == f"{key}:tight" and 59 <= refused.retry_after <= 60
    assert buckets.take([first], t0 + 0.05) is None  # its fifth token
    assert buckets.take([first], t0 + 0.06) is not None  # 1 + 3 + 1 taken: empty
    assert [buckets.take([third], t0 + 0.07 + i * 0.01) for i in range(4)] == [None] * 4  # 1 + 4: never charged


def test_the_database_store_prunes_full_buckets(app_ctx):
    buckets = Buckets("database")
    (rate,) = parse_rates("TEST", "2/second")
    buckets.take([("a", rate)], 100.0)
    buckets.take([("b", rate)], 200.0)
    assert buckets.prune(now=150.0) == 1  # "a" is full again by 150, "b" still has state


def test_a_malformed_limit_names_its_setting():
    with pytest.raises(RuntimeError, match="TRACKING_VISITOR_LIMIT='lots' is not a rate limit"):
        parse_rates("TRACKING_VISITOR_LIMIT", "lots")


PRODUCTION = {"ENV_NAME": "production", "SECRET_KEY": "k" * 20 + "abcdefghijklmnop",
              "SQLALCHEMY_DATABASE_URI": "postgresql://x/y"}


def test_production_refuses_per_process_counts_with_several_workers(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    with pytest.raises(RuntimeError, match="memory:// counts per process, and 3 workers"):
        check_production({**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://"})
    check_production({**PRODUCTION, "RATELIMIT_STORAGE_URI": "database"})
    monkeypatch.setenv("WEB_CONCURRENCY", "1")
    check_production({**PRODUCTION, "RATELIMIT_STORAGE_URI": "memory://"})  # one worker: its count is the count


def test_gunicorn_refuses_it_before_starting_workers(monkeypatch):
    config = runpy.run_path(str(Path(__file__).resolve().parents[3] / "gunicorn.conf.py"))
    for key, value in PRODUCTION.items():
        monkeypatch.setenv({"ENV_NAME": "STOREFRONT_CONFIG", "SQLALCHEMY_DATABASE_URI": "DATABASE_URL"}.get(key, key),
                           value)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("WEB_CONCURRENCY", "1")  # on_starting sets it: recorded here so the test undoes it
    monkeypatch.delenv("WEB_CONCURRENCY")
    with pytest.raises(RuntimeError, match="4 workers"):
        config["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=4)))
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    config["on_starting"](SimpleNamespace(cfg=SimpleNamespace(workers=4)))

"""Concurrent event ingestion: do several gunicorn workers lose or refuse any tracked action?

Starts a real gunicorn (``--workers``, production settings) on a migrated, seeded database and
drives ``--clients`` concurrent browsers (threads, each with its own cookie jar and a browser
User-Agent; every ``--visitor-every`` actions a client starts over as a new visitor). Each
action is a tracked one: a product page view (``GET /products/<id>``, never a product the same
visitor viewed before, so the reload de-duplication does not apply) or, for a quarter of them, an
add-to-cart POST carrying the CSRF token of the product page's form. Afterwards it compares the
actions the server acknowledged (200 view, 302 add) with the new rows in ``events``, and counts
5xx answers and "database is locked" in the server's log.

Run: ``make bench`` or::

    .venv/bin/python bench/concurrent_ingestion.py [--actions 20000] [--clients 8] [--workers 4]
        [--postgres postgresql://postgres@127.0.0.1:5432/sf_load_bench] [--record BENCHMARKS.md]

SQLite (WAL) is always measured, in a temporary directory; ``--postgres URL`` measures that
database too: **it is emptied first** (schema ``public`` dropped), so give it a scratch one.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.storefront.support.live_server import LiveServer, prepare_database, server_env  # noqa: E402
from storefront.database import normalise_database_url  # noqa: E402

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
)
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)" name="csrf_token"|'
                   r'name="csrf_token"[^>]*value="([^"]+)"')
LOCKED = "database is locked"
ADD_SHARE = 0.25


@dataclass
class ClientTally:
    views: int = 0  # product pages answered 200 (each one a view event)
    adds: int = 0  # add-to-cart POSTs answered 302 (each one an addtocart event)
    refused_adds: int = 0  # 4xx on an add (e.g. not enough stock): no event expected
    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transport errors (no HTTP answer)

    @property
    def acknowledged(self) -> int:
        return self.views + self.adds


def csrf_token(page: str) -> str | None:
    match = _CSRF.search(page)
    return next((group for group in match.groups() if group), None) if match else None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002 - keep the 302 as the answer
        return None


@dataclass
class Answer:
    status_code: int
    text: str


class Browser:
    """A cookie jar and a User-Agent (urllib only: the bench needs nothing outside the stdlib)."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)

    def request(self, method: str, url: str, data: dict | None = None, timeout: float = 60.0) -> Answer:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": self.user_agent})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                return Answer(response.status, response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx
            with error:
                return Answer(error.code, error.read().decode("utf-8", "replace"))


def _new_session(rng: random.Random) -> Browser:
    return Browser(rng.choice(USER_AGENTS))


def run_client(base_url: str, product_ids: list[int], actions: int, seed: int, visitor_every: int,
               tally: ClientTally, timeout: float = 60.0) -> None:
    """One browser: ``actions`` tracked requests, a fresh visitor every ``visitor_every``."""
    rng = random.Random(seed)
    session, sent = _new_session(rng), 0

    def request(method: str, url: str, **kwargs) -> Answer | None:
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except (OSError, ValueError) as error:  # URLError, reset, timeout: no HTTP answer
            tally.errors.append(f"{method} {url}: {error!r}")
            return None
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        return response

    viewed: set[int] = set()  # this visitor's products: a second view within seconds is a reload
    while sent < actions:
        if visitor_every and sent and sent % visitor_every == 0:
            session = _new_session(rng)
            viewed = set()
        if len(viewed) >= len(product_ids):
            viewed = set()  # (a catalog smaller than a visitor's views: the window has long passed)
        product_id = rng.choice(product_ids)
        while product_id in viewed:
            product_id = rng.choice(product_ids)
        viewed.add(product_id)
        page = request("GET", f"{base_url}/products/{product_id}")
        sent += 1
        if page is None or page.status_code != 200:
            continue
        tally.views += 1
        if sent >= actions or rng.random() >= ADD_SHARE:
            continue
        token = csrf_token(page.text)
        if token is None:  # out of stock: the page has no form
            continue
        added = request("POST", f"{base_url}/cart/add/{product_id}", data={"csrf_token": token, "quantity": "1"})
        sent += 1
        if added is None:
            continue
        if added.status_code == 302:
            tally.adds += 1
        elif 400 <= added.status_code < 500:
            tally.refused_adds += 1


def count_events(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM events")).scalar_one())


def product_ids(engine) -> list[int]:
    with engine.connect() as connection:
        return [int(i) for i in connection.execute(text("SELECT id FROM products WHERE active ORDER BY id")).scalars()]


def reset_postgres(url: str) -> None:
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()


def run_load(database_url: str, model_dir: str | Path, *, workers: int = 3, clients: int = 8,
             actions: int = 2400, visitor_every: int = 60, seed: int = 1, log_path: str | Path | None = None,
             prepare: bool = True) -> dict:
    """Prepare the database, serve it with gunicorn, drive the clients; return the tallies.

    ``actions`` is the total over all clients. The result holds ``acknowledged`` (views + adds
    the server confirmed), ``stored`` (new rows in ``events``), ``server_errors`` (5xx),
    ``locked`` ("database is locked" lines in the server log), ``transport_errors``,
    ``throughput`` (acknowledged actions per second) and latency percentiles.
    """
    # Every browser here comes from one address (loopback) at machine speed: the tracking limits
    # would drop most of it, by design. This measures storage under concurrency, so they are off
    # (tests/storefront/tracking covers the limits).
    env = server_env(database_url, model_dir, TRACKING_LIMITS_ENABLED="0")
    if prepare:
        prepare_database(env)
    engine = create_engine(normalise_database_url(database_url))
    try:
        ids = product_ids(engine)
        before = count_events(engine)
        tallies = [ClientTally() for _ in range(clients)]
        per_client = [actions // clients + (1 if i < actions % clients else 0) for i in range(clients)]
        with LiveServer(env, workers=workers, log_path=log_path) as server:
            threads = [
                threading.Thread(target=run_client, name=f"client-{i}",
                                 args=(server.url, ids, per_client[i], seed * 1000 + i, visitor_every, tallies[i]))
                for i in range(clients)
            ]
            started, cpu_before = time.perf_counter(), _cpu_seconds()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            client_cpu = (_cpu_seconds() - cpu_before) / elapsed if elapsed else 0.0
        log = server.log_text()  # after stop: every worker has flushed
        stored = count_events(engine) - before
    finally:
        engine.dispose()
    statuses = sum((t.statuses for t in tallies), Counter())
    latencies = sorted(x for t in tallies for x in t.latencies)
    acknowledged = sum(t.acknowledged for t in tallies)
    return {
        "database": engine.dialect.name,
        "workers": workers,
        "clients": clients,
        "requests": sum(statuses.values()),
        "views": sum(t.views for t in tallies),
        "adds": sum(t.adds for t in tallies),
        "refused_adds": sum(t.refused_adds for t in tallies),
        "acknowledged": acknowledged,
        "stored": stored,
        "statuses": dict(sorted(statuses.items())),
        "server_errors": sum(n for status, n in statuses.items() if status >= 500),
        "transport_errors": sum(len(t.errors) for t in tallies),
        "first_errors": [e for t in tallies for e in t.errors][:5],
        "locked": log.count(LOCKED),
        "tracebacks": log.count("Traceback (most recent call last)"),
        "log_tail": log[-3000:],
        "seconds": elapsed,
        "throughput": acknowledged / elapsed if elapsed else 0.0,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p95_ms": latencies[int(len(latencies) * 0.95)] * 1000 if latencies else 0.0,
        # cores the clients (this process) used: on 2 cores they compete with the server
        "client_cpu": client_cpu,
    }


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def describe(result: dict) -> str:
    return (
        f"- {result['database']}: {result['workers']} gunicorn workers, {result['clients']} clients, "
        f"{result['requests']} requests in {result['seconds']:.1f} s: {result['acknowledged']} tracked actions "
        f"acknowledged ({result['views']} views, {result['adds']} add-to-carts; {result['refused_adds']} adds "
        f"refused for stock), **{result['stored']} events stored**; 5xx: **{result['server_errors']}**, "
        f"\"database is locked\" in the log: **{result['locked']}**, transport errors: "
        f"{result['transport_errors']}; **{result['throughput']:.0f} actions/s**, latency p50 "
        f"{result['p50_ms']:.0f} ms, p95 {result['p95_ms']:.0f} ms; load generator {result.get('client_cpu', 0):.2f} CPU"
    )


def ok(result: dict) -> bool:
    return (result["stored"] == result["acknowledged"] and result["server_errors"] == 0
            and result["locked"] == 0 and result["transport_errors"] == 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=20000, help="tracked actions in all (default 20000)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    parser.add_argument("--visitor-every", type=int, default=60, help="actions per visitor before a new one")
    parser.add_argument("--postgres", metavar="URL", help="also measure this PostgreSQL database (emptied first!)")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="sf-ingest-") as folder:
        targets = [] if args.skip_sqlite else [("sqlite", f"sqlite:///{Path(folder) / 'load.db'}")]
        if args.postgres:
            targets.append(("postgresql", args.postgres))
        for name, url in targets:
            if name == "postgresql":
                reset_postgres(url)
            print(f"==> {name}: preparing, then {args.actions} actions from {args.clients} clients", flush=True)
            result = run_load(url, Path(folder) / f"models-{name}", workers=args.workers, clients=args.clients,
                              actions=args.actions, visitor_every=args.visitor_every,
                              log_path=Path(folder) / f"gunicorn-{name}.log")
            print(describe(result), flush=True)
            if not ok(result):
                print(f"    statuses {result['statuses']}; first errors {result['first_errors']}\n"
                      f"    server log tail:\n{result['log_tail']}", flush=True)
            results.append(result)
    if args.record and results:
        from bench.recording import record

        record(Path(args.record), "Concurrent event ingestion (gunicorn, tracked actions vs events stored)",
               [describe(r) for r in results])
    return 0 if all(ok(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

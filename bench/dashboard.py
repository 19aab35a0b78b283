"""How fast is the admin dashboard on a million events?

Prepare a database once (a minute or two on SQLite, a few on PostgreSQL)::

    export FLASK_APP=wsgi.py DATABASE_URL=sqlite:////tmp/dash1m.db
    .venv/bin/flask db upgrade
    .venv/bin/flask shop seed --events 1000000 --customers 5000 --anonymous 5000 --products 3000 --days 180

then ``PYTHONPATH=. .venv/bin/python bench/dashboard.py --database-url sqlite:////tmp/dash1m.db
[--record BENCHMARKS.md]``. It adds an admin account (``bench-admin@example.com``) to that
database if there is none, logs in through the Flask test client and measures, for the default
period (the 30 days up to the newest event):

- the first request of a fresh app (templates compiled, connections opened on the way);
- cold requests: ``GET /admin/dashboard`` with the in-process dashboard cache emptied before each
  one (the database's own page cache is warm, as on a server that has been up a while);
- warm requests: the same page served from the cache, and one CSV download;
- each aggregate's own time in the cold runs (median).

``--analyze`` runs ANALYZE first (SQLite plans some queries differently with statistics).
The host's load average is printed with the results: the numbers are wall-clock times.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select, text

from bench.recording import record
from storefront import create_app
from storefront.extensions import db
from storefront.models import ROLE_ADMIN, Customer, Event
from storefront.analytics import dashboard as analytics
from storefront.orders.accounts import hash_password

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
ADMIN, PASSWORD = "bench-admin@example.com", "bench-admin-password"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, math.ceil(0.95 * len(values)) - 1)]


def _prepare(app, analyze: bool) -> dict:
    with app.app_context():
        if analyze:
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        if db.session.scalar(select(Customer.id).where(Customer.email == ADMIN)) is None:
            db.session.add(Customer(email=ADMIN, password_hash=hash_password(PASSWORD), name="Bench", role=ROLE_ADMIN))
            db.session.commit()
        period = analytics.resolve_period(None, None)
        in_period = db.session.scalar(
            select(func.count()).select_from(Event)
            .where(Event.occurred_at >= period.start_at, Event.occurred_at < period.end_before)
        )
        return {
            "dialect": db.engine.dialect.name, "events": db.session.scalar(select(func.count()).select_from(Event)),
            "period": period, "in_period": in_period,
        }


def measure(url: str, repeat: int, analyze: bool, threads: int | None) -> dict:
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "DASHBOARD_CACHE_SECONDS": 3600}
    if threads is not None:
        config["DASHBOARD_QUERY_THREADS"] = threads
    app = create_app(config)
    facts = _prepare(app, analyze)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    assert client.post("/account/login", data={"email": ADMIN, "password": PASSWORD}).status_code == 302
    timings: dict[str, list[float]] = {"cold": [], "warm": [], "csv": []}
    aggregates: dict[str, list[float]] = {}
    started = time.perf_counter()
    assert client.get("/admin/dashboard").status_code == 200
    facts["first"] = _ms(started)
    for _ in range(repeat):
        with app.app_context():
            analytics.cache().clear()
        started = time.perf_counter()
        assert client.get("/admin/dashboard").status_code == 200
        timings["cold"].append(_ms(started))
        with app.app_context():
            board = analytics.dashboard(facts["period"])  # the board that request cached
        for name, ms in board.timings_ms.items():
            aggregates.setdefault(name, []).append(ms)
        aggregates.setdefault("all aggregates (wall)", []).append(board.elapsed_ms)
    for _ in range(repeat):
        started = time.perf_counter()
        assert client.get("/admin/dashboard").status_code == 200
        timings["warm"].append(_ms(started))
        started = time.perf_counter()
        assert client.get("/admin/dashboard/top-viewed.csv").status_code == 200
        timings["csv"].append(_ms(started))
    with app.app_context():
        db.engine.dispose()
    return facts | {"timings": timings, "aggregates": aggregates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="a seeded database")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE before measuring")
    parser.add_argument("--threads", type=int, help="DASHBOARD_QUERY_THREADS (default: the app's)")
    parser.add_argument("--note", default="", help="a remark for the first line, e.g. which indexes exist")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    load_before = os.getloadavg()[0]
    result = measure(args.database_url, args.repeat, args.analyze, args.threads)
    t, period = result["timings"], result["period"]
    per_aggregate = ", ".join(f"{name} {statistics.median(v):.1f}" for name, v in result["aggregates"].items())
    lines = [
        f"- {result['dialect']}{' after ANALYZE' if args.analyze else ''}"
        f"{'' if args.threads is None else f', {args.threads} query thread(s)'}"
        f"{f' ({args.note})' if args.note else ''}: {result['events']:,} events; "
        f"period {period.start} to {period.end} ({result['in_period']:,} events in it); "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
        f"- cold page (cache emptied before each request): median **{statistics.median(t['cold']):.0f} ms**, "
        f"p95 {_p95(t['cold']):.0f} ms ({args.repeat} requests); first request of a fresh app {result['first']:.0f} ms",
        f"- warm page (cached): median **{statistics.median(t['warm']):.1f} ms**, p95 {_p95(t['warm']):.1f} ms; "
        f"CSV download (cached): median {statistics.median(t['csv']):.1f} ms",
        f"- cold aggregates, median ms: {per_aggregate}",
    ]
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Admin dashboard on a million events", lines)


if __name__ == "__main__":
    main()

"""How long does each admin page take, cold, on the demo shop (and on a bigger one)?

Builds a throw-away demo shop (``flask db upgrade``, ``flask shop seed``, one ``flask ml train``
without the torch candidates, SQLite in a temporary folder), or reads an existing database
(``--database-url``, with ``--model-dir`` for its models), adds an admin account if there is
none, logs in through the Flask test client and times every admin page a person opens (the
list pages and one detail page of each kind):

- ``first``: the page's first request in a fresh app (templates compiled, connections opened);
- ``cold``: the median of ``--repeat`` requests with the in-process caches emptied before each
  (the dashboard's 60-second cache); the database's own page cache
  is warm, as on a server that has been up a while.

Run: ``PYTHONPATH=. .venv/bin/python bench/admin_pages.py [--record BENCHMARKS.md]``, and on the
million-event database of ``make bench-dashboard``:
``PYTHONPATH=. .venv/bin/python bench/admin_pages.py --database-url sqlite:////tmp/storefront-bench-1m.db``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.live_gunicorn import build_demo_shop
from bench.recording import record
from storefront import create_app
from storefront.analytics import dashboard as analytics
from storefront.extensions import db
from storefront.models import ROLE_ADMIN, Campaign, Customer, Event, Order, TrainingRun
from storefront.orders.accounts import hash_password

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
ADMIN, PASSWORD = "bench-admin@example.com", "bench-admin-password"
TARGET_MS = 500.0


def _pages(app) -> dict[str, str]:
    with app.app_context():
        customer = db.session.scalar(select(Order.customer_id).where(Order.customer_id.is_not(None))
                                     .group_by(Order.customer_id).order_by(func.count().desc()).limit(1))
        campaign = db.session.scalar(select(Campaign.id).order_by(Campaign.id).limit(1))
        run = db.session.scalar(select(TrainingRun.id).order_by(TrainingRun.id.desc()).limit(1))
    pages = {
        "admin home": "/admin/", "dashboard": "/admin/dashboard", "models": "/admin/ml",
        "customers": "/admin/customers", "campaigns": "/admin/campaigns", "new campaign": "/admin/campaigns/new",
        "leads": "/admin/resources", "asset performance": "/admin/resources/performance",
        "asset model": "/admin/resources/model",
    }
    if customer:
        pages["customer detail"] = f"/admin/customers/{customer}"
    if campaign:
        pages["campaign edit"] = f"/admin/campaigns/{campaign}/edit"
    if run:
        pages["training run"] = f"/admin/ml/runs/{run}"
    return pages


def _admin(app) -> None:
    with app.app_context():
        if db.session.scalar(select(Customer.id).where(Customer.email == ADMIN)) is None:
            db.session.add(Customer(email=ADMIN, password_hash=hash_password(PASSWORD), name="Bench", role=ROLE_ADMIN))
            db.session.commit()


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    assert client.post("/account/login", data={"email": ADMIN, "password": PASSWORD}).status_code == 302
    return client


def _timed(client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return (time.perf_counter() - started) * 1000


def measure(url: str, model_dir: str, repeat: int) -> tuple[dict, dict[str, dict[str, float]]]:
    config = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "MODEL_DIR": model_dir,
              "MODEL_CHECK_INTERVAL": 60.0, "CATALOG_CHECK_INTERVAL": 2.0}
    app = create_app(config)
    _admin(app)
    with app.app_context():
        facts = {"dialect": db.engine.dialect.name, "events": db.session.scalar(select(func.count()).select_from(Event))}
    results: dict[str, dict[str, float]] = {}
    for name, page in _pages(app).items():
        fresh = create_app(config)
        first = _timed(_client(fresh), page)
        client = _client(fresh)
        cold = []
        for _ in range(repeat):
            with fresh.app_context():
                analytics.cache().clear()
            cold.append(_timed(client, page))
        results[name] = {"first": first, "cold": statistics.median(cold), "max": max(cold)}
        with fresh.app_context():
            db.engine.dispose()
    return facts, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="an existing seeded database (default: build the demo shop)")
    parser.add_argument("--model-dir", help="its model folder (default: none, or the built shop's)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sf-admin-bench-") as folder:
        if args.database_url:
            url, model_dir, shop = args.database_url, args.model_dir or str(Path(folder) / "models"), "given database"
        else:
            built = build_demo_shop(Path(folder))
            url, model_dir, shop = built["url"], str(built["model_dir"]), "demo shop (default seed, trained)"
        load_before = os.getloadavg()[0]
        facts, results = measure(url, model_dir, args.repeat)
    worst = max(results.items(), key=lambda item: item[1]["cold"])
    lines = [
        f"- {shop}: {facts['dialect']}, {facts['events']:,} events; load average {load_before:.2f} before",
        f"- cold = median of {args.repeat} requests with the in-process caches emptied; first = a fresh app's first request",
        "",
        "| page | cold median | cold max | first request |",
        "|---|---|---|---|",
        *(f"| {name} | {r['cold']:.0f} ms | {r['max']:.0f} ms | {r['first']:.0f} ms |" for name, r in results.items()),
        "",
        f"- slowest cold page: {worst[0]} at {worst[1]['cold']:.0f} ms "
        f"({'within' if worst[1]['cold'] <= TARGET_MS else 'over'} the {TARGET_MS:.0f} ms target)",
    ]
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Admin pages, cold (bench/admin_pages.py)", lines)


if __name__ == "__main__":
    main()

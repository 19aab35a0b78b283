"""How much does logging an event add to a request?

Measures, on a SQLite file database with the production PRAGMAs, the time of
``tracking.track_view`` (reload check, rate-limit buckets, insert) plus its share of the commit,
against the same request doing everything but tracking. The script runs unchanged on older
commits (settings they do not know are ignored), for before/after comparisons. Run: ``make bench`` or
``.venv/bin/python bench/tracking_overhead.py [--n 2000]``.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from itsdangerous import URLSafeSerializer

from bench.recording import record
from storefront import create_app
from storefront.extensions import db
from storefront.models import Category, Product
from storefront.tracking import events as tracking
from storefront.web.requests import request_context

VISITORS = 300  # 3000 views: 10 each, under the 30-a-minute visitor limit
ADDRESSES = 50  # 60 views each, under the 300-a-minute address limit
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        # The testing config with the production defaults of the tracking limits turned on.
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'b.db'}",
                          "TRACKING_LIMITS_ENABLED": True})
        with app.app_context():
            db.create_all()
            category = Category(name="Bench", slug="bench")
            products = [Product(sku=f"B{i}", name=f"P{i}", price=1, stock=5, category=category) for i in range(n)]
            db.session.add_all(products)
            db.session.commit()
            ids = [p.id for p in products]
        timings = {"track_view": [], "commit_with_event": [], "commit_without_event": []}
        # One request per view, as in the shop: a returning browser (its signed visitor cookie
        # comes back) out of VISITORS, from one of ADDRESSES, so the per-request work (the
        # request context, the rate-limit buckets where the code has them) is paid every time
        # and no visitor or address goes over its limit.
        signer = URLSafeSerializer(app.config["SECRET_KEY"], salt="storefront.visitor")
        cookies = [signer.dumps(secrets.token_hex(16)) for _ in range(VISITORS)]
        name = app.config["VISITOR_COOKIE_NAME"]
        for index, product_id in enumerate(ids):
            headers = {"User-Agent": UA, "Cookie": f"{name}={cookies[index % VISITORS]}"}
            address = f"10.0.{index % ADDRESSES}.1"
            with app.test_request_context(f"/products/{product_id}", headers=headers,
                                          environ_base={"REMOTE_ADDR": address}):
                product = db.session.get(Product, product_id)
                started = time.perf_counter()
                tracking.track_view(request_context(), product)
                tracked = time.perf_counter()
                db.session.commit()
                done = time.perf_counter()
                timings["track_view"].append(tracked - started)
                timings["commit_with_event"].append(done - tracked)
            with app.test_request_context(f"/products/{product_id}", headers=headers,
                                          environ_base={"REMOTE_ADDR": address}):
                db.session.get(Product, product_id)
                started = time.perf_counter()
                db.session.commit()
                timings["commit_without_event"].append(time.perf_counter() - started)
        with app.app_context():
            db.engine.dispose()
    return {
        name: statistics.median(values) * 1000 for name, values in timings.items()
    } | {"track_view_p99": sorted(timings["track_view"])[int(n * 0.99)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    result = measure(args.n)
    overhead = result["track_view"] + result["commit_with_event"] - result["commit_without_event"]
    lines = [
        f"- track_view (reload check, limits, insert), median: {result['track_view']:.3f} ms (p99 {result['track_view_p99']:.3f} ms)",
        f"- commit with one event: {result['commit_with_event']:.3f} ms; commit with nothing: {result['commit_without_event']:.3f} ms",
        f"- tracking overhead per request, median: **{overhead:.3f} ms** ({args.n} product views, SQLite WAL)",
    ]
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Event tracking overhead", lines)


if __name__ == "__main__":
    main()

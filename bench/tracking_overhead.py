"""How much does logging an event add to a request?

Measures, on a SQLite file database with the production PRAGMAs, the time of
``tracking.track_view`` (reload check + insert) plus its share of the commit, against the same
request doing everything but tracking. Run: ``make bench`` or
``.venv/bin/python bench/tracking_overhead.py [--n 2000]``.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.recording import record
from storefront import create_app
from storefront.extensions import db
from storefront.models import Category, Product
from storefront.tracking import events as tracking
from storefront.web.requests import request_context

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'b.db'}"})
        with app.app_context():
            db.create_all()
            category = Category(name="Bench", slug="bench")
            products = [Product(sku=f"B{i}", name=f"P{i}", price=1, stock=5, category=category) for i in range(n)]
            db.session.add_all(products)
            db.session.commit()
            ids = [p.id for p in products]
        timings = {"track_view": [], "commit_with_event": [], "commit_without_event": []}
        with app.test_request_context("/", headers={"User-Agent": UA}):
            for product_id in ids:
                product = db.session.get(Product, product_id)
                started = time.perf_counter()
                tracking.track_view(request_context(), product)
                tracked = time.perf_counter()
                db.session.commit()
                done = time.perf_counter()
                timings["track_view"].append(tracked - started)
                timings["commit_with_event"].append(done - tracked)
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
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    result = measure(args.n)
    overhead = result["track_view"] + result["commit_with_event"] - result["commit_without_event"]
    lines = [
        f"- track_view (reload check + insert), median: {result['track_view']:.3f} ms (p99 {result['track_view_p99']:.3f} ms)",
        f"- commit with one event: {result['commit_with_event']:.3f} ms; commit with nothing: {result['commit_without_event']:.3f} ms",
        f"- tracking overhead per request, median: **{overhead:.3f} ms** ({args.n} product views, SQLite WAL)",
    ]
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Event tracking overhead", lines)


if __name__ == "__main__":
    main()

"""Pages in one process: time and SQL statements per page against ``/healthz``, and where the
home page's time goes.

Builds a throw-away demo shop (``flask db upgrade``, ``flask shop seed``, one ``flask ml train``
without the torch candidates; SQLite in a temporary folder, or ``--postgres URL``: a database
whose name contains "bench", dropped and re-created), then with the Flask test client, as a
returning browser that viewed three products (so "Recommended for you" folds them in):

- each page's median wall time over ``--rounds`` requests on a warm worker, the pages requested
  in turn (production's
  ``CATALOG_CHECK_INTERVAL`` and ``MODEL_CHECK_INTERVAL``; the tracking limits off, since one
  client makes every request: ``bench/tracking_overhead.py`` prices them), and its SQL statements;
- the ratio to ``/healthz`` measured the same way in the same run;
- both groups of the click model's A/B split (every shopper re-ranked, then none);
- a cProfile of ``--profile-rounds`` requests of the home page (or ``--profile-page``; re-ranked group): the functions with the most own time
  and the most cumulative time (``--top``).

Run: ``PYTHONPATH=. .venv/bin/python bench/page_profile.py [--rounds 300] [--record BENCHMARKS.md]``.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select

from bench.live_gunicorn import build_demo_shop
from bench.recording import record
from storefront import create_app
from storefront.extensions import db
from storefront.models import Category, Product

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def _client(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    return client


def _targets(app, client) -> dict[str, str]:
    with app.app_context():
        products = list(db.session.scalars(select(Product.id).where(Product.active.is_(True), Product.stock > 0)
                                           .order_by(Product.popularity.desc()).limit(4)))
        department = db.session.scalar(select(Category.slug).where(Category.parent_id.is_(None)).order_by(Category.id))
    client.get("/")  # the visitor cookie (a first request logs nothing), then some history
    for product_id in products[1:]:
        assert client.get(f"/products/{product_id}").status_code == 200
    token = client.get(f"/products/{products[0]}").get_data(as_text=True).split('name="csrf_token"', 1)[1]
    token = token.split('value="', 1)[1].split('"', 1)[0]
    assert client.post(f"/cart/add/{products[3]}", data={"quantity": "1", "csrf_token": token}).status_code == 302
    return {"/healthz": "/healthz", "home": "/", "category": f"/c/{department}",
            "product": f"/products/{products[0]}", "cart": "/cart"}


def measure(app, rounds: int, pages: tuple[str, ...] | None = None) -> dict[str, dict[str, float]]:
    """Each page's median and p95 over ``rounds`` requests and its SQL statements. The pages are
    requested in turn (home, category, ..., /healthz, home, ...): a shared VM's speed drifts by
    tens of percent within seconds, and timing each page in a block of its own put the drift
    into the ratios."""
    client = _client(app)
    targets = {name: url for name, url in _targets(app, client).items()
               if pages is None or name == "/healthz" or name in pages}
    counted = [0]
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *_a, **_k: counted.__setitem__(0, counted[0] + 1))
    for url in targets.values():
        for _ in range(5):
            client.get(url)  # warm: templates, snapshot, cards
    samples: dict[str, list[float]] = {name: [] for name in targets}
    statements: dict[str, list[int]] = {name: [] for name in targets}
    for _ in range(rounds):
        for name, url in targets.items():
            counted[0] = 0
            started = time.perf_counter()
            assert client.get(url).status_code == 200, url
            samples[name].append((time.perf_counter() - started) * 1000)
            statements[name].append(counted[0])
    return {name: {"median": statistics.median(times), "p95": sorted(times)[int(0.95 * len(times)) - 1],
                   "statements": statistics.median(statements[name])} for name, times in samples.items()}


def profile(app, rounds: int, top: int, page: str = "home") -> str:
    client = _client(app)
    url = _targets(app, client)[page]
    for _ in range(5):
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--profile-rounds", type=int, default=200, help="0: no cProfile run")
    parser.add_argument("--pages", help="measure only these pages (comma-separated: home,category,product,cart)")
    parser.add_argument("--groups", choices=("both", "re-ranked", "retrieval"), default="both",
                        help="the click model's A/B groups to measure")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile-page", default="home", choices=("home", "category", "product", "cart"),
                        help="the page the cProfile run requests")
    parser.add_argument("--postgres", metavar="URL", help="a throw-away PostgreSQL database (name contains 'bench')")
    parser.add_argument("--shop-dir", help="build the SQLite shop here and keep it, or reuse the one built there")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sf-page-profile-") as folder:
        if args.shop_dir and (Path(args.shop_dir) / "shop.db").exists():  # a SQLite shop built by an earlier run
            built = {"url": f"sqlite:///{Path(args.shop_dir) / 'shop.db'}", "model_dir": Path(args.shop_dir) / "models"}
        else:
            built = build_demo_shop(Path(args.shop_dir or folder), args.postgres)
        # development: production's check intervals without its HTTPS-only cookies; the tracking
        # limits off, since one client makes every request (bench/tracking_overhead.py prices them).
        # Half of the shoppers see the click model's order (CTR_RERANK_SHARE): each group is
        # measured, the re-ranked one (every shopper in it) and the retrieval order (none).
        groups = {}
        report = ""
        pages = tuple(args.pages.split(",")) if args.pages else None
        load_before = os.getloadavg()[0]
        for group, share in (("re-ranked", 1.0), ("retrieval order", 0.0)):
            if args.groups != "both" and not group.startswith(args.groups):
                continue
            app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": built["url"],
                              "MODEL_DIR": str(built["model_dir"]), "TRACKING_LIMITS_ENABLED": False,
                              "CTR_RERANK_SHARE": share})
            groups[group] = measure(app, args.rounds, pages)
            if share == 1.0 and args.profile_rounds > 0:
                report = profile(app, args.profile_rounds, args.top, args.profile_page)
            with app.app_context():
                dialect = db.engine.dialect.name
                db.engine.dispose()
    ranked, plain = groups.get("re-ranked"), groups.get("retrieval order")
    names = list((ranked or plain).keys())

    def cells(group: dict | None, name: str, p95: bool) -> str:
        if group is None:
            return "- | - |" + (" - |" if p95 else "")
        row = group[name]
        spread = f" {row['p95']:.2f} ms |" if p95 else ""
        return f" {row['median']:.2f} ms |{spread} {row['median'] / group['/healthz']['median']:.1f}x |"

    lines = [
        f"- demo shop on {dialect}, one process, Flask test client, a returning browser with 3 views and 1 cart item; "
        f"{args.rounds} requests per page on a warm worker, the click model's groups measured: {args.groups} "
        f"(re-ranked: every shopper re-ranked; retrieval order: none); load average {load_before:.2f} before",
        "",
        "| page | median, re-ranked | p95 | vs /healthz | median, retrieval order | vs /healthz | SQL statements |",
        "|---|---|---|---|---|---|---|",
        *(f"| {name} |{cells(ranked, name, True)}{cells(plain, name, False)} "
          f"{(ranked or plain)[name]['statements']:.0f} |" for name in names),
    ]
    print("\n".join(lines))
    print(report)
    if args.record:
        record(Path(args.record), "Pages in one process (bench/page_profile.py)", lines)


if __name__ == "__main__":
    main()

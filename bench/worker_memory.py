"""Memory (RSS) of one gunicorn web worker with every model and extra of a version loaded.

Builds a throw-away demo shop (SQLite; ``flask ml train`` with the click model and the segments
extras; the torch retrieval candidates only with ``--deep-models``, they do not change what a
worker loads unless one becomes champion), gives one demo customer with orders a known password,
starts gunicorn with ``gunicorn.conf.py`` and 1 worker (``CTR_RERANK_SHARE=1`` so the click model
is used for every shopper), and reads the worker's ``/proc/<pid>/status``:

1. idle: right after start, before any request (``post_worker_init`` has already loaded the
   active recommender version, as in production);
2. after a browsing round that loads everything: home, product pages, add to cart + ``/cart``
   (an anonymous visitor), then the customer logs in: ``/account/orders`` and product pages
   ("Customers like you": the segments extra), home (click-model re-ranking, banner), the JSON API;
3. after ``--requests`` more page views in the same mix (steady state; VmHWM is the peak).

Also reports the master's RSS, the version's artifact sizes, and which site-packages with native
code are mapped into the worker (torch, implicit and gensim must not be: workers serve with numpy).
Run: ``PYTHONPATH=. .venv/bin/python bench/worker_memory.py [--requests 300] [--record BENCHMARKS.md]``.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without PYTHONPATH=.

from bench.live_gunicorn import (  # noqa: E402
    LiveGunicorn, active_manifest, build_demo_shop, loadavg, mapped_packages, memory_kib,
)
from bench.page_load import Browser, discover_products  # noqa: E402
from bench.recording import record  # noqa: E402

PASSWORD = "bench-customer-password"
TRAINING_ONLY = ("torch", "implicit", "gensim")


def prepare_customer(database_url: str) -> tuple[str, int]:
    """A demo customer with the most orders gets a known password: (email, customer id)."""
    from sqlalchemy import func, select

    from storefront import create_app
    from storefront.extensions import db
    from storefront.models import Customer, Order
    from storefront.orders.accounts import hash_password

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        customer_id = db.session.execute(
            select(Order.customer_id).where(Order.customer_id.is_not(None))
            .group_by(Order.customer_id).order_by(func.count().desc()).limit(1)).scalar_one()
        customer = db.session.get(Customer, customer_id)
        customer.password_hash = hash_password(PASSWORD)
        email = customer.email
        db.session.commit()
        db.engine.dispose()
    return email, customer_id


def browse(port: int, products: list[int], email: str) -> dict[str, int]:
    """Every page kind once or more; returns status counts (anything but 200/302 is a problem)."""
    statuses: dict[str, int] = {}

    def get(browser: Browser, path: str) -> bytes:
        status, body = browser.request("GET", path)
        statuses[f"{path.split('?')[0].rstrip('0123456789')} {status}"] = statuses.get(
            f"{path.split('?')[0].rstrip('0123456789')} {status}", 0) + 1
        return body

    visitor = Browser(port)
    get(visitor, "/")
    for product_id in products[:5]:
        get(visitor, f"/products/{product_id}")
    visitor.add_to_cart(products[1])
    get(visitor, "/cart")
    get(visitor, "/")
    get(visitor, "/api/v1/recommendations/user?n=10")
    get(visitor, f"/api/v1/recommendations/item/{products[0]}?kind=similar")
    get(visitor, "/search?q=a")

    customer = Browser(port)
    page = get(customer, "/account/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.decode()).group(1)
    status, _ = customer.request("POST", "/account/login", {"email": email, "password": PASSWORD, "csrf_token": token})
    statuses[f"login {status}"] = statuses.get(f"login {status}", 0) + 1
    get(customer, "/account/orders")
    for product_id in products[5:10]:
        get(customer, f"/products/{product_id}")
    get(customer, "/")
    get(customer, "/cart")
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="page views after the first round")
    parser.add_argument("--deep-models", action="store_true", help="train the torch candidates too")
    parser.add_argument("--build-search-budget", type=int, default=20,
                        help="TRAINING_TIME_BUDGET_SECONDS of the shop's first training (default 20)")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sf-memory-") as tmp:
        folder = Path(tmp)
        shop = build_demo_shop(folder, deep_models=args.deep_models,
                               TRAINING_TIME_BUDGET_SECONDS=args.build_search_budget)
        manifest = active_manifest(shop["model_dir"])
        extras = sorted((manifest.get("extras") or {}).keys())
        version_dir = Path(shop["model_dir"]) / manifest.get("version", "")
        if not version_dir.is_dir():
            version_dir = Path(shop["model_dir"]) / (Path(shop["model_dir"]) / "ACTIVE").read_text().strip()
        artifact_mib = sum(f.stat().st_size for f in version_dir.iterdir() if f.is_file()) / 2**20
        email, _customer = prepare_customer(shop["url"])
        env = dict(shop["env"], CTR_RERANK_SHARE="1.0")
        with LiveGunicorn(env, 1, folder / "gunicorn.log") as server:
            (worker,) = server.worker_pids()
            time.sleep(1.0)
            idle = memory_kib(worker)
            idle_packages = mapped_packages(worker)
            master = memory_kib(server.process.pid)
            products = discover_products(server.port, 40)
            statuses = browse(server.port, products, email)
            loaded = memory_kib(worker)
            loaded_packages = mapped_packages(worker)
            browser = Browser(server.port)
            paths = ["/", "/cart"] + [f"/products/{p}" for p in products]
            for i in range(args.requests):
                browser.request("GET", paths[i % len(paths)])
            steady = memory_kib(worker)
            assert server.worker_pids() == [worker], "the worker was replaced during the run"

    def mib(values: dict, key: str) -> str:
        return f"{values[key] / 1024:.0f} MiB"

    problems = {k: v for k, v in statuses.items() if not k.endswith((" 200", " 302"))}
    forbidden = [p for p in TRAINING_ONLY if p in loaded_packages]
    lines = [
        f"- demo seed, champion `{manifest.get('champion')}`, version extras: {', '.join(extras) or 'none'}; "
        f"artifacts {artifact_mib:.1f} MiB on disk; 1 sync worker, CTR_RERANK_SHARE=1; load average {loadavg()}",
        f"- idle worker (recommender loaded by post_worker_init, no request yet): RSS **{mib(idle, 'VmRSS')}** "
        f"(anonymous {mib(idle, 'RssAnon')}, file-backed {mib(idle, 'RssFile')}); gunicorn master {mib(master, 'VmRSS')}",
        f"- after every page kind (home, product, cart, account orders, logged-in product page, API): "
        f"RSS **{mib(loaded, 'VmRSS')}** (+{(loaded['VmRSS'] - idle['VmRSS']) / 1024:.0f} MiB)",
        f"- after {args.requests} more page views: RSS **{mib(steady, 'VmRSS')}**, peak (VmHWM) {mib(steady, 'VmHWM')}",
        f"- native packages mapped in the worker: idle {', '.join(idle_packages)}; loaded "
        f"{', '.join(p for p in loaded_packages if p not in idle_packages) or 'nothing more'} added; "
        f"training-only libraries ({', '.join(TRAINING_ONLY)}): **{', '.join(forbidden) or 'none'}**",
    ]
    if problems:
        lines.append(f"- unexpected statuses in the browsing round: {problems}")
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Web worker memory", lines)


if __name__ == "__main__":
    main()

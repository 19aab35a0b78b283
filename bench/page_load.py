"""Page load under concurrency: gunicorn with N workers on loopback, real pages with widgets.

Builds a throw-away demo shop (``flask db upgrade``, ``flask shop seed``, one ``flask ml train``
without the torch candidates; SQLite in a temporary folder, or ``--postgres URL``, a database
this script drops and re-creates, its name must contain "bench"), starts gunicorn with
``gunicorn.conf.py`` (``--workers``, default 2 x cores + 1 like the config) on a free loopback
port, and drives it with C concurrent keep-alive clients for D seconds per target, in
``--rounds`` slices with the targets in turn (healthz, home, ..., cart, healthz, ...), so the
machine's drift reaches every target alike:

- ``/healthz``: the trivial endpoint (no database, no template): the ratio to it is what we track;
- home ``/``: "Recommended for you" (each client has viewed products, so the model folds them
  in and the click model may re-rank) or "Trending", the banner, an impression insert;
- a product page (clients cycle through products): view tracking, "also bought", "similar
  items", impressions;
- ``/cart`` for a visitor with an item in the cart: cart query, "Recommended for you", impression.

Then home and the product page again, alternating, while ``flask ml train`` (the shop's default
settings, torch candidates included unless ``--train-deep-models 0``) runs in the background on
the same database and model directory, for at most ``--train-measure`` seconds (the run yields
the CPU to the workers, so under constant load it would wait for the load to stop); it reports
whether and when the run finished (workers pick up the new version within MODEL_CHECK_INTERVAL,
which is part of what is measured when the run ends within the window).

Every client is a browser (desktop Chrome User-Agent; scripted User-Agents are not tracked) with
its own cookies (visitor cookie, session), so pages do their real work: tracking, widgets,
impressions, commits. The clients are also what the shop's defences call scripted: eight
visitors from one address, each at tens of pages a second. With the defences on, the tracking
limits refuse them after their first burst and the training run's screening flags them, and a
refused or flagged visitor's page logs nothing and shows no personal shelf (this bench measured
exactly that until 2026-12-07). So the shop here runs as for shoppers below every limit
(``SHOPPER_SETTINGS``: tracking limits off, as in ``concurrent_ingestion.py`` and
``page_profile.py``; screening thresholds out of reach), and every measured page stores its view
and impressions and shows the visitor's own recommendations. What the limits cost a tracked
request is ``bench/tracking_overhead.py``'s figure.

The load generator is this file's own (``http.client`` in threads, spread over
``--client-processes`` processes so the GIL does not cap it; no dependency). On a 2-core machine
it shares the CPU with gunicorn: the CPU time it used is reported next to the results, with the
load average before and after. Run:
``PYTHONPATH=. .venv/bin/python bench/page_load.py [--duration 20] [--concurrency 8] [--workers N]
[--postgres postgresql://postgres@127.0.0.1:5432/sf_bench] [--record BENCHMARKS.md]``;
``--duration 5 --skip-training`` is a quick look.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import re
import subprocess
import sys
import tempfile
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without PYTHONPATH=.

from bench.live_gunicorn import (  # noqa: E402
    BIN, ROOT, UA, LiveGunicorn, build_demo_shop, default_workers, loadavg, shop_env,
)
from bench.recording import record  # noqa: E402

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_PRODUCT = re.compile(r'href="/products/(\d+)')


class Browser:
    """One visitor: a keep-alive connection, a browser User-Agent and a cookie jar."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes]:
        headers = {"User-Agent": UA, "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()  # the worker closed a kept-alive connection: reconnect once
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return response.status, data

    def add_to_cart(self, product_id: int) -> None:
        status, page = self.request("GET", f"/products/{product_id}")
        token = _CSRF.search(page.decode())
        assert status == 200 and token, f"product page {product_id}: {status}"
        status, _ = self.request("POST", f"/cart/add/{product_id}", {"quantity": "1", "csrf_token": token.group(1)})
        assert status in (302, 303), f"add to cart: {status}"


# A shopper's page, not a refused or flagged bot's (module docstring).
SHOPPER_SETTINGS = {"TRACKING_LIMITS_ENABLED": "0", "SCREEN_MAX_ACTIONS_PER_MINUTE": "1000000",
                    "SCREEN_COHORT_MIN_VISITORS": "1000000"}


def _paths(target: str, products: list[int], offset: int, categories: tuple[str, ...] = ()):
    """An endless sequence of paths for one client of ``target``."""
    index = offset
    while True:
        if target == "product":
            index += 1
            yield f"/products/{products[index % len(products)]}"
        elif target == "category":
            index += 1
            yield f"/c/{categories[index % len(categories)]}"
        else:
            yield {"healthz": "/healthz", "home": "/", "cart": "/cart"}[target]


def _client_process(port: int, target: str, products: list[int], threads: int, first_client: int,
                    warmup: float, duration: float, start_at: float, queue, categories: tuple[str, ...]) -> None:
    """``threads`` clients of ``target``; puts (latencies ms, errors, statuses, cpu seconds)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        browser = Browser(port)
        mine: list[float] = []
        bad: list[str] = []
        try:
            for product_id in (products[number % len(products)], products[(number * 7 + 3) % len(products)]):
                browser.request("GET", f"/products/{product_id}")  # history for "Recommended for you"
            if target == "cart":
                browser.add_to_cart(products[(number * 5 + 1) % len(products)])
        except Exception as error:  # noqa: BLE001 - reported, not fatal
            bad.append(f"setup: {error}")
        paths = _paths(target, products, number * 11, categories)
        time.sleep(max(0.0, start_at - time.time()))
        measure_from, stop_at = start_at + warmup, start_at + warmup + duration
        while (now := time.time()) < stop_at:
            path = next(paths)
            started = time.perf_counter()
            try:
                status, _ = browser.request("GET", path)
            except Exception as error:  # noqa: BLE001
                bad.append(f"{path}: {type(error).__name__}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if now < measure_from:
                continue
            if status != 200:
                bad.append(f"{path}: HTTP {status}")
            mine.append(elapsed)
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    cpu = time.process_time()
    workers = [threading.Thread(target=client, args=(first_client + i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, errors, time.process_time() - cpu))


def drive(port: int, target: str, products: list[int], concurrency: int, duration: float,
          warmup: float, processes: int, categories: tuple[str, ...] = ()) -> dict:
    """C clients over P processes against one target; latencies are measured after ``warmup``."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = max(1, min(processes, concurrency))
    share = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    start_at = time.time() + 1.0 + 0.05 * concurrency  # time for the clients' setup requests
    children, first = [], 0
    for threads in share:
        child = context.Process(target=_client_process, args=(
            port, target, products, threads, first, warmup, duration, start_at, queue, categories))
        child.start()
        children.append(child)
        first += threads
    results = [queue.get() for _ in children]
    for child in children:
        child.join()
    latencies = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[1]]
    return {"target": target, "n": len(latencies), "rps": len(latencies) / duration, "latencies": latencies,
            "errors": errors, "client_cpu": sum(r[2] for r in results), "duration": duration}


def _pct(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def describe(result: dict, baseline: dict | None) -> str:
    lat = result["latencies"]
    text = (f"{result['rps']:.1f} req/s, p50 {_pct(lat, 0.5):.1f} ms, p95 {_pct(lat, 0.95):.1f} ms, "
            f"p99 {_pct(lat, 0.99):.1f} ms ({result['n']} requests")
    if result["errors"]:
        text += f", {len(result['errors'])} errors e.g. {sorted(set(result['errors']))[:2]}"
    text += f"; load generator {result['client_cpu'] / result['duration']:.2f} CPU)"
    if baseline is not None and baseline["n"] and result["n"]:
        text += (f"; vs /healthz: **{baseline['rps'] / result['rps']:.1f}x** fewer req/s, "
                 f"p50 {_pct(lat, 0.5) / _pct(baseline['latencies'], 0.5):.1f}x")
    return text


def discover_categories(port: int) -> tuple[str, ...]:
    """The category slugs the home page's menu links (departments and their categories)."""
    _, home = Browser(port).request("GET", "/")
    return tuple(dict.fromkeys(re.findall(r'href="/c/([a-z0-9-]+)"', home.decode())))


def discover_products(port: int, n: int) -> list[int]:
    """Product ids linked from the home page and a few category pages (active, in stock)."""
    browser = Browser(port)
    _, home = browser.request("GET", "/")
    html = home.decode()
    ids = list(dict.fromkeys(int(x) for x in _PRODUCT.findall(html)))
    for slug in dict.fromkeys(re.findall(r'href="/c/([a-z0-9-]+)"', html)):
        if len(ids) >= n:
            break
        _, page = browser.request("GET", f"/c/{slug}")
        ids.extend(i for i in (int(x) for x in _PRODUCT.findall(page.decode())) if i not in ids)
    if not ids:
        raise RuntimeError("no product links on the home page")
    return ids[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=default_workers(), help="gunicorn workers (default 2 x cores + 1)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per target")
    parser.add_argument("--rounds", type=int, default=4,
                        help="slices per target, the targets measured in turn (--duration is split between them)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each slice")
    parser.add_argument("--client-processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--products", type=int, default=60, help="distinct product pages the clients cycle through")
    parser.add_argument("--postgres", metavar="URL", help="use this PostgreSQL database (dropped and re-created)")
    parser.add_argument("--skip-training", action="store_true", help="leave out the 'during a training run' part")
    parser.add_argument("--train-deep-models", type=int, choices=(0, 1), default=1,
                        help="TRAINING_DEEP_MODELS of the background run (default 1, the shop's default)")
    parser.add_argument("--train-timeout", type=float, default=900.0, help="seconds to wait for the background run")
    parser.add_argument("--train-measure", type=float, default=120.0,
                        help="measure the pages during the run for at most this long, then wait for the run "
                             "(the run yields the CPU to the workers, so under constant load it waits for them)")
    parser.add_argument("--build-search-budget", type=int, default=20,
                        help="TRAINING_TIME_BUDGET_SECONDS of the shop's first training (default 20)")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sf-pageload-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        shop = build_demo_shop(folder, args.postgres, TRAINING_TIME_BUDGET_SECONDS=args.build_search_budget)
        build_s = time.perf_counter() - started
        dialect = "PostgreSQL" if shop["url"].startswith("postgresql") else "SQLite"
        load_before = loadavg()
        stored_before = stored(shop["url"])
        lines = [f"- {dialect}, demo seed, gunicorn {args.workers} sync workers on loopback, "
                 f"{args.concurrency} concurrent keep-alive clients ({args.client_processes} load-generator "
                 f"processes, `http.client`), {args.duration:.0f} s per target in {args.rounds} slices, the targets in turn, "
                 f"each slice after {args.warmup:.0f} s warm-up; "
                 f"shop built in {build_s:.0f} s (seed {shop['timings']['seed']:.0f} s, first training "
                 f"{shop['timings']['train']:.0f} s without torch, search budget {args.build_search_budget} s)"]
        with LiveGunicorn({**shop["env"], **SHOPPER_SETTINGS}, args.workers, folder / "gunicorn.log") as server:
            products = discover_products(server.port, args.products)
            categories = discover_categories(server.port)

            def run(target: str, duration: float | None = None) -> dict:
                return drive(server.port, target, products, args.concurrency, duration or args.duration,
                             args.warmup, args.client_processes, categories)

            labels = {"healthz": "`/healthz`", "home": "home `/`",
                      "category": f"category page ({len(categories)} departments and categories in turn)",
                      "product": f"product page ({len(products)} products in turn)", "cart": "`/cart` with one item"}
            # each target in --rounds slices, the targets in turn: this VM's speed drifts within
            # seconds, and a target measured in one block of its own took the drift into its ratio
            slices: dict[str, list[dict]] = {target: [] for target in labels}
            for _ in range(args.rounds):
                for target in labels:
                    slices[target].append(run(target, args.duration / args.rounds))
            merged = {target: merge(parts) for target, parts in slices.items()}
            healthz = merged["healthz"]
            lines.append(f"- `/healthz`: {describe(healthz, None)}")
            for target, label in labels.items():
                if target != "healthz":
                    lines.append(f"- {label}: {describe(merged[target], healthz)}")
            lines.append(f"- load average (1/5/15 min) before {load_before}, after {loadavg()}")
            logged = {key: value - stored_before[key] for key, value in stored(shop["url"]).items()}
            lines.append(f"- logged by the pages above: {logged['events']:,} events, {logged['impressions']:,} "
                         f"impressions, {logged['dropped']:,} actions dropped as suspicious (0: every page a shopper's)")
            if not args.skip_training:
                lines += during_training(args, shop, folder, run, healthz)
        with open(folder / "gunicorn.log", "rb") as log:
            crashes = log.read().count(b"WORKER TIMEOUT")
        if crashes:
            lines.append(f"- gunicorn log: {crashes} worker timeout(s)")
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Page load (gunicorn, loopback)", lines)


def stored(url: str) -> dict[str, int]:
    """Rows the pages write: events, impressions, and tracked actions the defences dropped."""
    from sqlalchemy import create_engine, text

    from storefront.database import normalise_database_url

    engine = create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return {"events": connection.scalar(text("SELECT count(*) FROM events")),
                    "impressions": connection.scalar(text("SELECT count(*) FROM impressions")),
                    "dropped": connection.scalar(text("SELECT coalesce(sum(count), 0) FROM dropped_events"))}
    finally:
        engine.dispose()


def merge(parts: list[dict]) -> dict:
    """One target's slices as one measurement (requests over the summed measured time)."""
    merged = {"n": sum(p["n"] for p in parts), "duration": sum(p["duration"] for p in parts) or 1.0,
              "latencies": sorted(x for p in parts for x in p["latencies"]),
              "errors": [e for p in parts for e in p["errors"]], "client_cpu": sum(p["client_cpu"] for p in parts)}
    merged["rps"] = merged["n"] / merged["duration"]
    return merged


def during_training(args, shop: dict, folder: Path, run, healthz: dict) -> list[str]:
    """Home and product page, alternating, while ``flask ml train`` runs on the same data."""
    env = shop_env(shop["url"], shop["model_dir"], TRAINING_DEEP_MODELS=args.train_deep_models, **SHOPPER_SETTINGS)
    load_before = loadavg()
    log = open(folder / "train-during-load.log", "ab")
    started = time.perf_counter()
    # started as the admin button starts it (storefront.training.job): its own session, no terminal
    training = subprocess.Popen([str(BIN / "flask"), "ml", "train"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    per_target: dict[str, list[dict]] = {"home": [], "product": []}
    deadline = started + args.train_timeout
    measure_until = started + min(args.train_measure, args.train_timeout)
    while training.poll() is None and time.perf_counter() < measure_until:
        for target in per_target:
            per_target[target].append(run(target, min(args.duration, 10.0)))
    measured = time.perf_counter() - started
    try:
        training.wait(max(1.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        training.terminate()
        training.wait()
    log.close()
    elapsed = time.perf_counter() - started
    finished = training.returncode == 0
    lines = [f"- during `flask ml train` (TRAINING_DEEP_MODELS={args.train_deep_models}, same database): "
             f"the run {'finished' if finished else f'did NOT finish (exit {training.returncode})'} in "
             f"{elapsed:.0f} s; home and product measured alternately for its first {measured:.0f} s"]
    for target, label in (("home", "home `/`"), ("product", "product page")):
        lines.append(f"  - {label} during training: {describe(merge(per_target[target]), healthz)}")
    lines.append(f"  - load average before {load_before}, after {loadavg()}")
    return lines


if __name__ == "__main__":
    main()

"""Search latency and index build time, on SQLite (FTS5) and PostgreSQL (tsvector), for the demo
catalogue (1,200 products) and a Retailrocket-size one (219,000 products).

For each engine and size: a fresh database built by the migrations (the index and its triggers
included), the synthetic catalogue of ``ml.synth.catalog`` (the demo seed's generator: names,
brands, categories, descriptions, popularity) inserted through the triggers (timed: the first
1,000 one INSERT each, as the seed and the ORM write, the rest in 1,000-row statements, as an
import's COPY batches), then ``flask search reindex``'s rebuild (timed), then
the labelled query set of the tests (``tests/storefront/search/labelled.py``: 600 queries: exact
names, brand + category, plurals, partial words, one and two typos) run through
``storefront.search.find`` as the search page calls it (limit 1,000), once to warm up and once
timed, and 300 prefixes through ``suggest``. Latency is in-process, single-threaded, per call.

Run: ``PYTHONPATH=. .venv/bin/python bench/search.py [--postgres postgresql://postgres@127.0.0.1:5432/sf_bench]
[--large 219000] [--record BENCHMARKS.md]`` (``make bench`` passes ``--postgres`` when a server answers).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bench.recording import record  # noqa: E402
from ml.synth.catalog import build_catalog  # noqa: E402
from storefront import create_app  # noqa: E402
from storefront.extensions import db  # noqa: E402
from storefront.models import Category, Product  # noqa: E402
from storefront.search import find, suggest  # noqa: E402
from storefront.search.index import rebuild_index  # noqa: E402
from tests.storefront.search import labelled  # noqa: E402

BATCH = 1_000  # rows per multi-row INSERT (an import's COPY batch is one statement too)
ROW_BY_ROW = 1_000  # the first rows go one INSERT each
DEMO = 1_200


def _reset(url: str) -> None:
    if url.startswith("postgresql"):
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def _load_catalogue(n_products: int, seed: int = 42) -> tuple[float, float]:
    """Insert the synthetic catalogue through the triggers: seconds for the first ROW_BY_ROW
    products one statement each, and for the rest in multi-row statements of BATCH."""
    catalog = build_catalog(np.random.default_rng(seed), 5, 24, n_products, datetime(2026, 12, 1))
    cats = catalog.categories
    roots = cats[cats["parent_key"].isna()]
    db.session.execute(insert(Category), [{"name": r.name, "slug": r.key} for r in roots.itertuples()])
    ids = dict(db.session.execute(text("SELECT slug, id FROM categories")).all())
    leaves = cats[cats["parent_key"].notna()]
    db.session.execute(insert(Category), [{"name": r.name, "slug": r.key, "parent_id": ids[r.parent_key]}
                                          for r in leaves.itertuples()])
    ids = dict(db.session.execute(text("SELECT slug, id FROM categories")).all())
    products = catalog.products
    popularity = catalog.popularity * 100.0
    rows = [
        {"sku": f"{r.sku}-{i}", "name": r.name, "description": r.description, "brand": r.brand,
         "price": Decimal(str(round(r.price, 2))), "stock": int(r.stock), "active": bool(r.active),
         "category_id": ids[r.category_key], "created_at": r.created_at.to_pydatetime(),
         "popularity": float(popularity[i])}
        for i, r in enumerate(products.itertuples())
    ]
    started = time.perf_counter()  # one INSERT per row (executemany): the seed's and the ORM's path
    db.session.execute(insert(Product), rows[:ROW_BY_ROW])
    db.session.commit()
    row_by_row = time.perf_counter() - started
    started = time.perf_counter()  # multi-row statements, as the importers' COPY batches
    for start in range(ROW_BY_ROW, len(rows), BATCH):
        db.session.execute(insert(Product).values(rows[start:start + BATCH]))
    db.session.commit()
    return row_by_row, time.perf_counter() - started


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):.2f} ms, p95 {p95:.2f} ms"


def _time(call, items) -> list[float]:
    samples = []
    for item in items:
        started = time.perf_counter()
        call(item)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(url: str, n_products: int, label: str) -> list[str]:
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url,
                      "MODEL_DIR": tempfile.mkdtemp(prefix="search-bench-models-")})
    with app.app_context():
        _reset(url)
        upgrade()
        engine = db.engine.dialect.name
        print(f"[{label}] {engine}: loading {n_products:,} products...", file=sys.stderr, flush=True)
        row_by_row, batched = _load_catalogue(n_products)
        if engine == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        report = rebuild_index()
        db.session.commit()
        queries = labelled.build(db.session.connection())
        per_class: dict[str, list[float]] = defaultdict(list)
        found: dict[str, tuple[list[int], int]] = {}
        for query in queries:  # warm-up pass (page cache, vocabulary, statement cache); its results are scored
            result = find(query.text, limit=1000)
            found[query.text] = (result.product_ids, result.total)
        for query in queries:
            per_class[query.kind] += _time(lambda q: find(q, limit=1000), [query.text])
        evaluation = labelled.evaluate(queries, lambda q: found[q])
        rng = random.Random(3)
        names = [r[0] for r in db.session.execute(text("SELECT name FROM products WHERE active")).all()]
        prefixes = [name[:rng.randint(2, 8)] for name in rng.sample(names, min(300, len(names)))]
        for prefix in prefixes[:30]:
            suggest(prefix)
        suggest_samples = _time(suggest, prefixes)
        size = ""
        if engine == "postgresql":
            size_bytes = db.session.scalar(text(
                "SELECT pg_total_relation_size('search_documents') + pg_total_relation_size('search_words')"))
            size = f", index {size_bytes / 2**20:.0f} MiB"
    load = " / ".join(f"{value:.1f}" for value in os.getloadavg())
    everything = [s for samples in per_class.values() for s in samples]
    lines = [
        f"- **{label}, {engine}** ({report.products:,} active products, {report.words:,} words{size}): "
        f"inserts through the triggers: {ROW_BY_ROW:,} one by one {ROW_BY_ROW / row_by_row:,.0f} products/s, "
        f"the rest in {BATCH:,}-row statements {(n_products - ROW_BY_ROW) / batched:,.0f} products/s; "
        f"rebuild (`flask search reindex`) {report.seconds:.1f} s; load average {load}",
        f"  - `find` (limit 1000), {len(everything)} labelled queries: {_stats(everything)}",
        "  - per class: " + "; ".join(f"{kind} {_stats(samples)}" for kind, samples in per_class.items()),
        f"  - `suggest`, {len(suggest_samples)} prefixes: {_stats(suggest_samples)}",
        "  - recall@10: " + ", ".join(f"{kind} {value:.3f}" for kind, value in evaluation.recall.items())
        + f"; zero-result rate {evaluation.overall_zero_results:.1%}",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="also on this PostgreSQL database (its public schema is dropped)")
    parser.add_argument("--large", type=int, default=219_000, help="products of the large catalogue (0: skip)")
    parser.add_argument("--record", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    if args.postgres and "bench" not in args.postgres.rsplit("/", 1)[-1]:
        parser.error("--postgres: use a database whose name contains 'bench' (its schema is dropped)")
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="search-bench-") as folder:
        urls = [f"sqlite:///{Path(folder) / 'demo.db'}"] + ([args.postgres] if args.postgres else [])
        for url in urls:
            lines += run(url, DEMO, "demo catalogue")
        if args.large:
            large_urls = [f"sqlite:///{Path(folder) / 'large.db'}"] + ([args.postgres] if args.postgres else [])
            for url in large_urls:
                lines += run(url, args.large, "Retailrocket-size catalogue")
    lines += ["", "Targets: median/p95 <= 10 ms on the demo, <= 50 ms on 219k products. Command: "
              "`PYTHONPATH=. .venv/bin/python bench/search.py --postgres postgresql://postgres@127.0.0.1:5432/sf_bench "
              "--record BENCHMARKS.md`."]
    if args.record:
        record(args.record, "Search: latency, index build, recall (bench/search.py)", lines)


if __name__ == "__main__":
    main()

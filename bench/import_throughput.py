"""How fast does ``flask data import retailrocket`` load the full events file?

``PYTHONPATH=. .venv/bin/python bench/import_throughput.py [--events 2760000] [--properties]
[--postgres postgresql://postgres@127.0.0.1:5432/sf_import_bench] [--record BENCHMARKS.md]``

Writes a synthetic file set in the exact Retailrocket layout (``ml.datasets.retailrocket_synth``:
same shares, ~235k items and ~1.4M visitors at full size, lines in no order) into a temp
directory, then imports ``events.csv`` into a fresh SQLite database (schema by the migrations)
and, with ``--postgres``, into that PostgreSQL database (its public schema is dropped and
rebuilt: use a scratch database). Each import runs in a child process so that its peak RSS is
its own. ``--properties`` also imports the property files and the category tree (not part of
the 60 s / 90 s targets, which are about the events file). ``--train`` then runs ``flask ml
train`` (the shop's default settings) on the imported SQLite database and reports its wall time,
stage timings, peak RSS and the candidates table (target: under 10 minutes on 2 cores).

Prints rows, seconds, rows/s and peak RSS per database, and the host's load average: the
numbers are wall-clock times on a machine that may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.recording import record


def _child(url: str, folder: Path, properties: bool) -> dict:
    """Run in a fresh process: migrate, import, report."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from storefront import create_app
    from storefront.extensions import db
    from storefront.imports.retailrocket import import_retailrocket

    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        extra = {}
        if properties:
            extra = {"properties": [folder / "item_properties_part1.csv", folder / "item_properties_part2.csv"],
                     "categories": folder / "category_tree.csv"}
        started = time.perf_counter()
        report = import_retailrocket(folder / "events.csv", **extra)
        db.session.commit()
        seconds = time.perf_counter() - started
    return {"rows": report.rows, "events": report.events, "visitors": report.visitors, "products": report.products,
            "orders": report.orders, "seconds": seconds,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _measure(url: str, folder: Path, properties: bool) -> dict:
    command = [sys.executable, __file__, "--child", url, str(folder)] + (["--properties"] if properties else [])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise SystemExit(f"import into {url} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _train(database: Path, models: Path) -> list[str]:
    """``flask ml train`` on the imported database, in a child whose peak RSS is its own."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "MODEL_DIR": str(models),
           "FLASK_APP": "wsgi.py", "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
    root = Path(__file__).resolve().parents[1]
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen([str(Path(sys.executable).with_name("flask")), "ml", "train"], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"flask ml train failed:\n{output[-3000:]}")
    # The command's report: the lines after "Training run #N succeeded", without log lines.
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Training run #"))
    table = [line for line in lines[start + 1:] if line.strip() and not re.match(r"\d{4}-\d\d-\d\d ", line)]
    print(f"flask ml train on the imported events: {seconds:.0f} s, peak RSS {usage.ru_maxrss / 1024:.0f} MB")
    return ["", f"`flask ml train` on the imported SQLite database (default settings): **{seconds:.0f} s** "
                f"(target < 600 s), peak RSS {usage.ru_maxrss / 1024:.0f} MB, load avg before "
                f"{load_before:.1f} / after {os.getloadavg()[0]:.1f}", "", "```", *table, "```"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_760_000)
    parser.add_argument("--postgres", help="a scratch PostgreSQL database URL (its schema is rebuilt)")
    parser.add_argument("--properties", action="store_true", help="import the property files and tree too")
    parser.add_argument("--record", type=Path, help="append the results to this Markdown file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, help="reuse a file set written earlier (flask data sample retailrocket)")
    parser.add_argument("--skip-sqlite", action="store_true", help="only the PostgreSQL import")
    parser.add_argument("--train", action="store_true", help="then time flask ml train on the SQLite import")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], Path(args.child[1]), args.properties)))
        return

    from ml.datasets.retailrocket_synth import write_retailrocket

    with tempfile.TemporaryDirectory(prefix="rr-bench-") as tmp:
        folder, database = args.folder or Path(tmp), Path(tmp) / "bench.db"
        started = time.perf_counter()
        if args.folder is None:
            write_retailrocket(folder, args.events, args.seed)
        size_mb = (folder / "events.csv").stat().st_size / 2**20
        print(f"{'wrote' if args.folder is None else 'reusing'} {args.events:,} events ({size_mb:.0f} MB) in {time.perf_counter() - started:.0f} s")
        targets = [] if args.skip_sqlite else [("SQLite", f"sqlite:///{database}", 60)]
        if args.postgres:
            targets.append(("PostgreSQL", args.postgres, 90))
        lines = ["| database | rows | seconds | rows/s | peak RSS | target | load avg (1 min, before/after) |",
                 "|---|---:|---:|---:|---:|---:|---|"]
        for name, url, target in targets:
            load_before = os.getloadavg()[0]
            result = _measure(url, folder, args.properties)
            load_after = os.getloadavg()[0]
            rate = result["rows"] / result["seconds"]
            line = (f"| {name} | {result['rows']:,} | {result['seconds']:.1f} | {rate:,.0f} | "
                    f"{result['peak_rss_mb']:.0f} MB | < {target} s | {load_before:.1f} / {load_after:.1f} |")
            print(f"{name}: {result['rows']:,} rows in {result['seconds']:.1f} s ({rate:,.0f} rows/s), "
                  f"{result['visitors']:,} visitors, {result['products']:,} products, {result['orders']:,} orders, "
                  f"peak RSS {result['peak_rss_mb']:.0f} MB; load {load_before:.1f} -> {load_after:.1f}")
            lines.append(line)
        if args.train and not args.skip_sqlite:
            lines += _train(database, Path(tmp) / "models")
    if args.record:
        what = "events + properties + tree" if args.properties else "events.csv only"
        record(args.record, f"Import throughput: Retailrocket layout, {args.events:,} events ({what})",
               lines + ["", "Synthetic file in the exact layout (bench/import_throughput.py); one transaction "
                            "per import, schema built by the migrations, timed from the first read to the commit."])


if __name__ == "__main__":
    main()

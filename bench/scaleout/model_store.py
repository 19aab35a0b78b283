"""Model store: publish and fetch time of one version, PostgreSQL large objects and S3 (issue 20).

Two versions: the demo shop's (``flask shop seed`` defaults, then the training job without the
torch models, in a temporary SQLite shop) and a Retailrocket-size one fabricated with arrays of the
right sizes (1.35M users x 64 factors, 219k items x 64, the 2.76M-event users x items matrix, the
id maps; random float32, so nothing compresses). Each is published to and fetched from (into an
empty cache, every sha256 checked, renamed into place) each store, ``--repeat`` times; the median
is reported with MB/s. S3 is moto's server on loopback (``ThreadedMotoServer``; a real endpoint
with ``--s3-endpoint``, credentials from the AWS variables): it measures our code and boto3's
transfer manager, not a network.

    PYTHONPATH=. .venv/bin/python bench/scaleout/model_store.py --postgres postgresql://postgres@127.0.0.1:5432/sf_bench \\
        [--scales demo,retailrocket] [--users 1350000 --items 219000 --events 2760000] [--repeat 3] [--record BENCHMARKS.md]

The PostgreSQL database is dropped and re-created (its name must contain ``bench``). Quick look:
``--scales demo --demo-events 20000`` or ``--scales retailrocket --users 20000 --items 5000 --events 50000``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bench.recording import record  # noqa: E402


def demo_version(folder: Path, events: int | None) -> Path:
    """A version as the training job publishes it on a freshly seeded demo shop."""
    from storefront import create_app
    from storefront.extensions import db

    folder.mkdir(parents=True)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'shop.db'}",
                      "MODEL_DIR": str(folder / "models"), "TRAINING_DEEP_MODELS": False,
                      "TRAINING_TIME_BUDGET_SECONDS": 20, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        db.create_all()
    runner = app.test_cli_runner()
    seed = ["shop", "seed"] + (["--events", str(events)] if events else [])
    result = runner.invoke(args=seed)
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["ml", "train"])
    assert result.exit_code == 0, result.output
    from ml.artifacts import read_active

    return folder / "models" / read_active(folder / "models")


def synthetic_version(folder: Path, users: int, items: int, events: int, factors: int) -> Path:
    """A version directory with arrays of a trained version's sizes (not a servable model)."""
    import numpy as np

    from ml.artifacts import MANIFEST_FILE, new_version, sha256_file

    rng = np.random.default_rng(0)
    directory = folder / new_version()
    directory.mkdir(parents=True)

    def save(name: str, **arrays) -> None:
        with open(directory / name, "wb") as handle:
            np.savez(handle, **arrays)

    save("recommender.npz", user_factors=rng.standard_normal((users, factors), dtype=np.float32),
         item_factors=rng.standard_normal((items, factors), dtype=np.float32))
    save("ids.npz", users=np.array([f"{n}" for n in range(users)]), items=np.array([f"{n}" for n in range(items)]))
    indptr = np.sort(rng.integers(0, events, users + 1)).astype(np.int32)
    indptr[0], indptr[-1] = 0, events
    save("user_items.npz", data=rng.random(events, dtype=np.float32),
         indices=rng.integers(0, items, events).astype(np.int32), indptr=indptr, shape=np.array([users, items]))
    for role in ("similar", "also_bought", "complements"):
        save(f"{role}.npz", neighbours=rng.integers(0, items, (items, 20)).astype(np.int32),
             scores=rng.random((items, 20), dtype=np.float32))
    save("popular.npz", scores=rng.random(items, dtype=np.float32))
    files = {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in sorted(directory.iterdir())}
    manifest = {"format": 1, "version": directory.name, "created_at": datetime.now(UTC).isoformat(), "files": files}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return directory


def size_of(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.iterdir())


def measure(store, version_dir: Path, repeat: int, scratch: Path) -> tuple[float, float]:
    """Median seconds of a publish (the version deleted again before the next) and of a fetch
    into an empty cache."""
    publishes, fetches = [], []
    for n in range(repeat):
        started = time.perf_counter()
        store.publish(version_dir)
        publishes.append(time.perf_counter() - started)
        cache = scratch / f"cache-{n}"
        started = time.perf_counter()
        store.fetch(version_dir.name, cache)
        fetches.append(time.perf_counter() - started)
        shutil.rmtree(cache)
        store.delete(version_dir.name)
    return statistics.median(publishes), statistics.median(fetches)


def postgres_store(url: str):
    from sqlalchemy import create_engine, text

    from storefront.database import normalise_database_url
    from storefront.extensions import db
    from storefront.modelstore.postgresql import PostgresStore
    import storefront.models  # noqa: F401 - the tables

    base, name = url.rsplit("/", 1)
    if "bench" not in name:
        raise SystemExit(f"--postgres: the database name must contain 'bench' (it is dropped): {name}")
    admin = create_engine(normalise_database_url(f"{base}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(normalise_database_url(url))
    tables = [db.metadata.tables[t] for t in ("model_versions", "model_version_files", "model_pointer")]
    db.metadata.create_all(engine, tables=tables)
    return PostgresStore(engine)


def s3_store(endpoint: str | None):
    from storefront.modelstore.s3 import S3Store

    server = None
    if endpoint is None:
        from moto.server import ThreadedMotoServer

        for name, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                            "AWS_DEFAULT_REGION": "us-east-1"}.items():
            os.environ.setdefault(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        endpoint = "http://%s:%d" % server.get_host_and_port()
    import boto3

    bucket = f"bench-models-{os.getpid()}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return S3Store(f"s3://{bucket}/models", endpoint_url=endpoint), server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL database for the large-object store (dropped; name with 'bench')")
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 store")
    parser.add_argument("--s3-endpoint", help="a real S3-compatible endpoint instead of moto's server")
    parser.add_argument("--scales", default="demo,retailrocket", help="demo and/or retailrocket")
    parser.add_argument("--demo-events", type=int, help="events of the demo seed (default: the seed's own)")
    parser.add_argument("--users", type=int, default=1_350_000)
    parser.add_argument("--items", type=int, default=219_000)
    parser.add_argument("--events", type=int, default=2_760_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", type=Path, help="append the results to this Markdown file")
    args = parser.parse_args()
    logging_off()
    scratch = Path(tempfile.mkdtemp(prefix="bench-model-store-"))
    stores, servers = [], []
    if args.postgres:
        stores.append(("PostgreSQL large objects", postgres_store(args.postgres)))
    if not args.no_s3:
        store, server = s3_store(args.s3_endpoint)
        stores.append(("S3 (moto on loopback)" if server else f"S3 ({args.s3_endpoint})", store))
        servers.append(server)
    lines = ["| version | files | size | store | publish | fetch (verified) |", "| --- | --- | --- | --- | --- | --- |"]
    try:
        for scale in [s.strip() for s in args.scales.split(",") if s.strip()]:
            started = time.perf_counter()
            if scale == "demo":
                version_dir = demo_version(scratch / "demo", args.demo_events)
                label = "demo shop (flask shop seed + flask ml train)"
            else:
                version_dir = synthetic_version(scratch / "synthetic", args.users, args.items, args.events, args.factors)
                label = f"{args.users:,} users x {args.factors}, {args.items:,} items, {args.events:,} events"
            print(f"{label}: built in {time.perf_counter() - started:.1f} s", flush=True)
            megabytes = size_of(version_dir) / 1e6
            files = len(os.listdir(version_dir))
            for name, store in stores:
                publish, fetch = measure(store, version_dir, args.repeat, scratch)
                line = (f"| {label} | {files} | {megabytes:,.1f} MB | {name} | {publish:.2f} s ({megabytes / publish:,.0f} MB/s) "
                        f"| {fetch:.2f} s ({megabytes / fetch:,.0f} MB/s) |")
                print(line, flush=True)
                lines.append(line)
    finally:
        for server in servers:
            if server is not None:
                server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()
    lines += ["", f"Median of {args.repeat}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}. "
              "`PYTHONPATH=. .venv/bin/python bench/scaleout/model_store.py " + " ".join(sys.argv[1:]) + "`."]
    print("\n".join(lines[-2:]))
    if args.record:
        record(args.record, "Model store: publish and fetch of a version (bench/scaleout/model_store.py)", lines)


def logging_off() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


if __name__ == "__main__":
    main()

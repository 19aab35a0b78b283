"""Spark MLlib ALS (``flask ml train --engine spark``) vs implicit's ALS: fit time and peak memory
at 1M and 3M synthetic events in ``local[2]``, and the largest log each trains within 10 minutes.

Data: a synthetic log shaped like Retailrocket's by default (2.76M events: 1.35M visitors, 219k
items, i.e. ~2 events per visitor and ~12.6 per item; ``--events-per-user``/``--events-per-item``
change it): taste groups (70% of a visitor's events in their group's items), power-law activity
and popularity, 90% views / 7% add-to-carts / 3% purchases weighted as the shop weighs them (1 /
4 / 10), summed into the users x items matrix that both engines are fitted on. Both fit the
``als`` candidate's defaults (64 factors, regularisation 1, alpha 1, 15 iterations, the run's
seed), as the training run does.

Each fit runs in a child process of its own (its own session: ``os.setsid``, so a timeout kills
the JVM with it), which generates the matrix, then:

- implicit: ``ALSRecommender.fit`` with ``--cores`` threads; memory: the child's peak RSS
  (``VmHWM``, reset after generating: ``/proc/self/clear_refs``) minus its RSS before the fit;
- Spark: the session start (``local[CORES]``, ``--driver-memory``), then
  ``ml.training.spark_engine.spark_als_factors``: the matrix written as Parquet, MLlib's ALS, the
  factors read back as numpy; memory: the peak RSS (``VmHWM`` in ``/proc``) of every JVM the child
  started (in local mode the executors run inside the driver's JVM) plus what the Python side
  added, as for implicit.

"Within 10 minutes" (``--largest``): from ``--largest-start`` events, doubling while the previous
size trained (session start, Parquet, fit and read-back for Spark) within ``--budget`` seconds, up
to ``--cap`` events; a size that runs over is killed. Expect Spark to be slower on one machine:
the point of it is that it scales out to a cluster.

Run: ``PYTHONPATH=. .venv/bin/python bench/training/spark_als.py [--sizes 1000000,3000000] [--largest]
[--cap 32000000] [--record BENCHMARKS.md]``. A quick look: ``--sizes 100000 --largest
--largest-start 100000 --cap 200000`` (about 4 minutes). The full run takes about an hour on 2
idle cores (more on a loaded machine): Spark ALS grows by roughly 3 minutes per million events of
this shape (an exact k x k solve per user, most users having 1-2 events), so its search ends near
2-4M events with one killed 10-minute attempt; implicit's runs to ~16M (about 25 s per million).
Needs ``requirements-spark.txt`` and Java.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # runnable without PYTHONPATH=.

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from bench.live_gunicorn import loadavg, memory_kib  # noqa: E402
from bench.recording import record  # noqa: E402
from ml.constants import DEFAULT_EVENT_WEIGHTS, SEED  # noqa: E402
from ml.training.candidates import CANDIDATES  # noqa: E402

ENGINES = ("implicit", "spark")
GROUPS = 50
IN_GROUP = 0.7
EVENT_SHARES = {"view": 0.90, "addtocart": 0.07, "transaction": 0.03}


def als_params(cores: int) -> dict:
    """The ``als`` candidate's defaults as a training run resolves them."""
    return {**CANDIDATES["als"].params, "random_state": SEED, "num_threads": cores}


def _power_law(rng: np.random.Generator, n: int, size: int, exponent: float = 0.9) -> np.ndarray:
    """``size`` indices in [0, n), index i drawn with probability ~ 1 / (i + 10) ** exponent."""
    weights = 1.0 / np.power(np.arange(n) + 10.0, exponent)
    cumulative = np.cumsum(weights)
    return np.searchsorted(cumulative, rng.random(size) * cumulative[-1]).astype(np.int32)


def synthetic_matrix(events: int, per_user: float, per_item: float, seed: int = SEED) -> sp.csr_matrix:
    """The weighted users x items matrix of a synthetic log of ``events`` events (module doc)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = max(GROUPS, int(events / per_user)), max(GROUPS, int(events / per_item))
    users = _power_law(rng, n_users, events, 0.5)
    items = _power_law(rng, n_items, events)
    grouped = rng.random(events) < IN_GROUP  # the visitor's group's items: item % GROUPS == user % GROUPS
    items[grouped] = (items[grouped] // GROUPS * GROUPS + users[grouped] % GROUPS) % n_items
    kinds = list(EVENT_SHARES)
    kind = rng.choice(len(kinds), size=events, p=list(EVENT_SHARES.values()))
    weights = np.array([DEFAULT_EVENT_WEIGHTS[k] for k in kinds], dtype=np.float32)[kind]
    return sp.csr_matrix((weights, (users, items)), shape=(n_users, n_items), dtype=np.float32)


def _java_pids(root: int) -> list[int]:
    """The ``java`` processes among ``root``'s descendants (from /proc)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            parents[int(entry.name)], names[int(entry.name)] = int(rest[1]), name
    found, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        found += [p for p in children if names[p] == "java"]
        frontier += children
    return found


def _fit(engine: str, matrix: sp.csr_matrix, cores: int, driver_memory: str) -> dict:
    params = als_params(cores)
    if engine == "implicit":
        from ml.models import ALSRecommender

        started = time.perf_counter()
        ALSRecommender(**params).fit(matrix)
        return {"fit_s": time.perf_counter() - started, "startup_s": 0.0, "jvm_mib": 0.0}
    from ml.training import spark_engine

    started = time.perf_counter()
    session = spark_engine.spark_session(f"local[{cores}]", {"spark.driver.memory": driver_memory})
    startup = time.perf_counter() - started
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-spark-als-") as work_dir:
        spark_engine.spark_als_factors(session, matrix, params, Path(work_dir))
    fit = time.perf_counter() - started
    jvm = sum(memory_kib(pid)["VmHWM"] for pid in _java_pids(os.getpid())) / 1024
    spark_engine.stop_spark()
    return {"fit_s": fit, "startup_s": startup, "jvm_mib": jvm}


def _child(engine: str, events: int, shape: tuple[float, float], cores: int, driver_memory: str, conn) -> None:
    os.setsid()  # one process group with the JVM it starts: a timeout kills both
    try:
        started = time.perf_counter()
        matrix = synthetic_matrix(events, *shape)
        conn.send(("generated", {"users": matrix.shape[0], "items": matrix.shape[1], "nnz": matrix.nnz,
                                 "generate_s": time.perf_counter() - started}))
        try:
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := the RSS now
        except OSError:
            pass
        before = memory_kib(os.getpid())["VmRSS"]
        result = _fit(engine, matrix, cores, driver_memory)
        result["python_mib"] = (memory_kib(os.getpid())["VmHWM"] - before) / 1024
        conn.send(("ok", result))
    except BaseException as error:  # noqa: BLE001 - reported by the parent
        conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}"))


def measure(engine: str, events: int, args: argparse.Namespace, limit: float) -> tuple[str, dict]:
    """One fit in a child process: ("ok", figures), ("timeout", ...) past ``limit`` s after the
    data was generated, or ("error", ...) (a crash, or killed for memory)."""
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    shape = (args.events_per_user, args.events_per_item)
    process = context.Process(target=_child, args=(engine, events, shape, args.cores, args.driver_memory, writer))
    process.start()
    writer.close()
    info: dict = {}
    try:
        for wait in (max(limit, 600.0), limit):  # generating, then training
            if not reader.poll(wait):
                return "timeout", {**info, "error": f"over {wait:.0f} s"}
            status, payload = reader.recv()
            if status != "generated":
                return status, {**info, **payload} if isinstance(payload, dict) else {**info, "error": payload}
            info = payload
        return "timeout", info
    except EOFError:
        process.join()
        return "error", {**info, "error": f"the child died (exit code {process.exitcode}: killed for memory?)"}
    finally:
        if process.is_alive():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.join()


def describe(engine: str, events: int, status: str, r: dict) -> str:
    data = (f"{r['users']:,} users x {r['items']:,} items, {r['nnz']:,} interactions"
            if "nnz" in r else "no data")
    if status != "ok":
        return f"{engine} at {events:,} events ({data}): {status}: {str(r.get('error')).splitlines()[0][:160]}"
    if engine == "implicit":
        memory = f"peak +{r['python_mib']:.0f} MiB (Python, over the loaded matrix)"
    else:
        memory = (f"JVM peak {r['jvm_mib']:.0f} MiB (driver + executors) + Python +{r['python_mib']:.0f} MiB; "
                  f"session start {r['startup_s']:.1f} s")
    return f"{engine} at {events:,} events ({data}): fit **{r['fit_s']:.1f} s**, {memory}"


def largest(engine: str, args: argparse.Namespace) -> list[str]:
    """Double the size while a fit (with Spark's session start) ends within the budget."""
    size, best, lines = args.largest_start, None, []
    while size <= args.cap:
        status, r = measure(engine, size, args, args.budget)
        total = r.get("fit_s", 0.0) + r.get("startup_s", 0.0)
        lines.append(f"    - {describe(engine, size, status, r)}")
        print(lines[-1], file=sys.stderr, flush=True)
        if status != "ok" or total > args.budget:
            break
        best, size = size, size * 2
    reached = "" if size <= args.cap else f" (the cap, --cap {args.cap:,}, stopped the search)"
    head = (f"  - {engine}: largest log trained within {args.budget:.0f} s: "
            f"**{best:,} events**{reached}" if best else f"  - {engine}: none within {args.budget:.0f} s")
    return [head, *lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000000,3000000", help="comma-separated event counts ('' for none)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="implicit,spark")
    parser.add_argument("--cores", type=int, default=2, help="Spark's local[N] and implicit's threads")
    parser.add_argument("--driver-memory", default="8g", help="spark.driver.memory (the local executors' heap too)")
    parser.add_argument("--events-per-user", type=float, default=2.04, help="Retailrocket: 2.76M / 1.35M")
    parser.add_argument("--events-per-item", type=float, default=12.6, help="Retailrocket: 2.76M / 219k")
    parser.add_argument("--largest", action="store_true", help="also search the largest log trained within the budget")
    parser.add_argument("--largest-start", type=int, default=1_000_000, help="first size of that search")
    parser.add_argument("--cap", type=int, default=32_000_000, help="largest size that search tries")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds a fit may take in the --largest search")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds a fit of --sizes may take")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if set(engines) - set(ENGINES):
        parser.error(f"unknown engine(s): {', '.join(sorted(set(engines) - set(ENGINES)))}")
    if "spark" in engines:
        from ml.training.spark_engine import spark_problem

        if (problem := spark_problem()) is not None:
            parser.error(problem)
    lines = [f"- cores {os.cpu_count()}, Spark local[{args.cores}] (driver memory {args.driver_memory}) vs implicit "
             f"with {args.cores} threads; ALS {als_params(args.cores)}; a synthetic log with "
             f"{args.events_per_user} events per user and {args.events_per_item} per item; load average "
             f"before {loadavg()}"]
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        for engine in engines:
            lines.append(f"- {describe(engine, size, *measure(engine, size, args, args.timeout))}")
            print(lines[-1], file=sys.stderr, flush=True)
    if args.largest:
        lines.append(f"- the largest log trained within {args.budget:.0f} s, doubling from "
                     f"{args.largest_start:,} events up to {args.cap:,}:")
        for engine in engines:
            lines += largest(engine, args)
    lines.append(f"- load average after {loadavg()}")
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Spark ALS vs implicit ALS", lines)


if __name__ == "__main__":
    main()

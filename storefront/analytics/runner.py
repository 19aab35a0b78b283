"""Run the dashboard's aggregates, the big ones side by side on PostgreSQL, and time each one.

Why threads: the aggregates are independent read-only queries and the five that read the
events table take most of the time. On PostgreSQL each connection is a server process of its
own, so run on their own pooled connections in a few threads they overlap (the driver releases
the GIL while a query runs): 190 ms -> 130 ms cold on a million events, two cores. Each
connection reads its own snapshot, so two aggregates may be a few events apart while the shop
is writing; for a dashboard that is acceptable.

Not on SQLite: there the same threads made every query 3-4 times slower and the whole no
faster (one process; SQLite serialises its memory allocator and page cache across threads), so
SQLite runs everything in order on the request's session, as ``threads=1`` does anywhere.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable[..., Any]  # function(conn, *args) unless needs_conn is False
    args: tuple[Any, ...] = ()
    heavy: bool = False  # scans the events table: worth a thread of its own
    needs_conn: bool = True


@dataclass(frozen=True)
class Results:
    values: dict[str, Any]
    timings_ms: dict[str, float]  # per job, as measured where it ran
    elapsed_ms: float  # wall-clock time of the whole run


def runs_in_parallel(engine: Engine) -> bool:
    """Whether concurrent queries of this engine overlap (see the module docstring)."""
    return engine.dialect.name != "sqlite"


def _timed(job: Job, conn) -> tuple[Any, float]:
    started = time.perf_counter()
    value = job.function(conn, *job.args) if job.needs_conn else job.function(*job.args)
    return value, (time.perf_counter() - started) * 1000


def _on_own_connection(engine: Engine, job: Job) -> tuple[Any, float]:
    with engine.connect() as conn:
        return _timed(job, conn)


def run(jobs: list[Job], session, engine: Engine, threads: int) -> Results:
    """Run ``jobs``: heavy ones in up to ``threads`` threads on their own connections (when
    :func:`runs_in_parallel`), the rest in this thread on ``session``. Exceptions propagate."""
    started = time.perf_counter()
    values: dict[str, Any] = {}
    timings: dict[str, float] = {}
    parallel = threads > 1 and runs_in_parallel(engine)
    heavy = [job for job in jobs if job.heavy] if parallel else []
    pool = ThreadPoolExecutor(max_workers=min(threads, len(heavy)), thread_name_prefix="dashboard") if heavy else None
    try:
        futures = {job.name: pool.submit(_on_own_connection, engine, job) for job in heavy} if pool else {}
        for job in jobs:
            if job.name not in futures:
                values[job.name], timings[job.name] = _timed(job, session)
        for name, future in futures.items():
            values[name], timings[name] = future.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    ordered = {job.name: timings[job.name] for job in jobs}
    return Results(values, ordered, (time.perf_counter() - started) * 1000)

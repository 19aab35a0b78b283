"""Append benchmark results to BENCHMARKS.md with the machine, date and commit."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def record(path: Path, title: str, lines: list[str]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = "" if path.exists() else "# Benchmarks\n\nAppended by `make bench`; newest last.\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{header}\n## {title}\n\n{stamp} · commit {_commit()} · {machine()}\n\n")
        handle.write("\n".join(lines) + "\n")


def time_calls(call, rounds: int, warmup: int = 0) -> list[float]:
    """Milliseconds of ``rounds`` calls of ``call`` (after ``warmup`` untimed ones)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_alternately(calls: list, rounds: int, warmup: int = 0) -> list[list[float]]:
    """Milliseconds of ``rounds`` calls of each of ``calls``, taken in turn (a, b, a, b, ...).

    On a shared VM the speed of the machine drifts by tens of percent within seconds; timing
    each call in its own block put that drift into their ratio. Alternating gives every call
    the same moments, so the ratio of two medians is a property of the code."""
    for _ in range(warmup):
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(rounds):
        for call, mine in zip(calls, samples):
            started = time.perf_counter()
            call()
            mine.append((time.perf_counter() - started) * 1000)
    return samples


def latency_stats(samples: list[float]) -> str:
    """"median x ms, p95 y ms, p99 z ms" of millisecond samples."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return f"median {statistics.median(ordered):.3f} ms, p95 {at(0.95):.3f} ms, p99 {at(0.99):.3f} ms"

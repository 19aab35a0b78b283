"""Offline evaluation under a stated protocol, repeated over seeds, with 95% intervals.

A number from ``flask ml evaluate`` means something only with its protocol: the split (``time``,
per-user ``random`` or ``leave-one-out``), the test share, the seed, the cut-off ``k``, whether
parameters were tuned (on a validation split carved from the training part, never the test
part) and the gain (binary: the NDCG here counts a held-out item once, whatever its weight).
``evaluate_protocol`` runs the comparison ``repeats`` times with seeds ``seed``, ``seed + 1``...
(a new split each time for the seeded splits) and reports each metric's mean with a 95%
Student-t interval over the repeats, so two models, or two runs, can be compared with a sense
of the noise.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from ml.training.config import TrainingConfig
from ml.training.pipeline import Progress, evaluate_frame

NON_METRICS = ("status", "error", "n_users")  # fit_seconds is averaged like a metric


@dataclass(frozen=True)
class Protocol:
    split: str = "time"
    test_fraction: float = 0.2
    seed: int = 42
    repeats: int = 1
    search: bool = False
    k: int = 10
    half_life_days: float | None = None  # recency decay of the training rows (None: none)

    def describe(self) -> str:
        share = "" if self.split == "leave-one-out" else f", test share {self.test_fraction:g}"
        tuned = "tuned on a validation split of the training part" if self.search else "default parameters"
        seeds = f"seed {self.seed}" if self.repeats == 1 else f"seeds {self.seed}..{self.seed + self.repeats - 1}"
        decay = f", recency half-life {self.half_life_days:g} days" if self.half_life_days else ""
        return f"{self.split} split{share}, {seeds}, k={self.k}, binary-gain NDCG, seen items removed, {tuned}{decay}"


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float | None  # of the 95% interval; None with a single repeat
    n: int

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.half_width is None:
            return None
        return self.mean - self.half_width, self.mean + self.half_width


def estimate(values: Sequence[float]) -> Estimate:
    """Mean and the half-width of its 95% Student-t interval over ``values`` (one per repeat)."""
    values = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not values:
        return Estimate(float("nan"), None, 0)
    mean = sum(values) / len(values)
    if len(values) < 2:
        return Estimate(mean, None, len(values))
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return Estimate(mean, float(stats.t.ppf(0.975, len(values) - 1)) * sd / math.sqrt(len(values)), len(values))


@dataclass(frozen=True)
class ProtocolResult:
    protocol: Protocol
    runs: list[pd.DataFrame]  # one ``evaluate_frame`` table per repeat
    summary: dict[str, dict[str, Estimate]]  # model -> metric -> estimate (models that ran in every repeat)
    failures: dict[str, str]  # model -> why it did not run (in any repeat)


def evaluate_protocol(events: pd.DataFrame, protocol: Protocol, base: TrainingConfig | None = None,
                      candidates: Sequence[str] | None = None, progress: Progress | None = None) -> ProtocolResult:
    """Every candidate (or ``candidates``) under ``protocol``; nothing is published."""
    if protocol.repeats < 1:
        raise ValueError("repeats must be at least 1")
    base = base or TrainingConfig()
    runs = []
    for repeat in range(protocol.repeats):
        config = dataclasses.replace(base, seed=protocol.seed + repeat, test_fraction=protocol.test_fraction,
                                     search=protocol.search, recency_half_life_days=protocol.half_life_days)
        runs.append(evaluate_frame(events, split=protocol.split, k=protocol.k,
                                   candidates=tuple(candidates) if candidates else config.candidates,
                                   config=config, progress=progress))
    failures: dict[str, str] = {}
    summary: dict[str, dict[str, Estimate]] = {}
    for model in runs[0].index:
        rows = [run.loc[model] for run in runs if model in run.index]
        broken = [row for row in rows if row["status"] != "ok"]
        if broken or len(rows) < len(runs):
            failures[model] = f"{broken[0]['status']}: {broken[0]['error']}" if broken else "missing from a repeat"
            continue
        metrics = [column for column in runs[0].columns if column not in NON_METRICS]
        summary[model] = {metric: estimate([row[metric] for row in rows]) for metric in metrics}
    return ProtocolResult(protocol, runs, summary, failures)


def as_records(result: ProtocolResult) -> list[dict]:
    """One flat record per (model, metric): for JSON and CSV output."""
    records = []
    for model, metrics in result.summary.items():
        for metric, value in metrics.items():
            low_high = value.interval
            records.append({
                "model": model, "metric": metric, "mean": value.mean,
                "ci95_low": low_high[0] if low_high else None, "ci95_high": low_high[1] if low_high else None,
                "repeats": value.n, "split": result.protocol.split,
                "test_fraction": None if result.protocol.split == "leave-one-out" else result.protocol.test_fraction,
                "seed": result.protocol.seed, "k": result.protocol.k, "search": result.protocol.search,
                "half_life_days": result.protocol.half_life_days,
            })
    return records

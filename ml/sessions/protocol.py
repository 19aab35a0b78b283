"""The session-rec evaluation protocol (Ludewig et al., rn5l/session-rec), our implementation.

1. Preprocess (:func:`ml.sessions.split.preprocess`): sessions shorter than 2 dropped, items with
   fewer than ``min_item_support`` (5) events dropped, sessions left shorter than 2 dropped.
2. Split by time (:func:`ml.sessions.split.time_split`): the sessions that *start* in the last
   ``test_days`` days are the test, those that started before are the training sessions; test
   events of items unseen in training removed, test sessions then shorter than 2 dropped.
   Optionally a seeded uniform sample of ``max_test_sessions`` test sessions.
3. Next-item prediction at every position: for a test session ``i_0 .. i_{n-1}`` and each
   ``p = 1 .. n-1`` the model scores every training item from the prefix ``i_0 .. i_{p-1}`` and
   the target is ``i_p``. Nothing is filtered (items already in the session may be the next).
   The target's rank is 1 + the items scored higher + the items scored equal with a smaller
   index (the order :func:`ml.models.base.top_n` serves); a target scored ``-inf`` (no evidence)
   is never ranked.
4. ``hr@k``: the share of predictions whose target ranks within ``k``; ``mrr@k``: the mean of
   ``1 / rank`` over predictions, 0 when the rank is beyond ``k``. Averaged over predictions (not
   sessions), as session-rec does; at ``k`` = 10 and 20 by default.
5. Intervals (95%): with ``repeats`` = R > 1, sliding windows: repeat ``w`` moves the test window
   back by ``w * test_days`` (training on every session started before it) and each metric's
   mean gets a Student-t interval over the R windows (:func:`ml.training.protocol.estimate`).
   With one repeat, a percentile bootstrap over the test sessions (``resamples`` draws, seeded by
   ``seed``; the same draws for every model, so differences are paired).

Models with randomness get ``random_state = seed``. The result also holds each model's relative
``mrr@K`` (K the largest cut-off) against the ``last_item_knn`` baseline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ml.constants import SEED
from ml.sessions import candidates
from ml.sessions.base import SessionRecommender
from ml.sessions.data import SessionData
from ml.sessions.split import MIN_ITEM_SUPPORT, MIN_SESSION_LENGTH, preprocess, sample_sessions, time_split

BASELINE = "last_item_knn"
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SessionProtocol:
    test_days: float = 1.0
    cutoffs: tuple[int, ...] = (10, 20)
    repeats: int = 1
    seed: int = SEED
    max_test_sessions: int | None = None
    min_item_support: int = MIN_ITEM_SUPPORT
    min_session_length: int = MIN_SESSION_LENGTH
    resamples: int = 1000
    # The shop's widget never offers what the visit holds: with ``new_items_only`` a prefix's own
    # items cannot be the prediction and a next item the prefix holds (a revisit) is not predicted.
    # Off by default: session-rec counts revisits, and published numbers are on that protocol.
    new_items_only: bool = False

    def __post_init__(self) -> None:
        if self.repeats < 1:
            raise ValueError("repeats must be at least 1")
        if self.test_days <= 0:
            raise ValueError("test_days must be > 0")
        if not self.cutoffs or min(self.cutoffs) < 1:
            raise ValueError("cut-offs must be >= 1")
        object.__setattr__(self, "cutoffs", tuple(sorted(set(int(k) for k in self.cutoffs))))

    @property
    def metrics(self) -> list[str]:
        return [f"{m}@{k}" for k in self.cutoffs for m in ("hr", "mrr")]

    @property
    def main_metric(self) -> str:
        return f"mrr@{self.cutoffs[-1]}"

    def describe(self) -> str:
        sample = f", a seeded sample of at most {self.max_test_sessions:,} test sessions" if self.max_test_sessions else ""
        if self.repeats > 1:
            spread = f"{self.repeats} sliding windows, 95% Student-t intervals over the windows"
        else:
            spread = f"95% bootstrap intervals over test sessions ({self.resamples} resamples, seed {self.seed})"
        targets = "the next new item (revisits skipped, the prefix's items never predicted)" if self.new_items_only \
            else "next item at every position"
        return (f"session-rec protocol: sessions >= {self.min_session_length} events, items >= "
                f"{self.min_item_support} events; test = sessions started in the last {self.test_days:g} days, "
                f"unseen items removed{sample}; {targets}, "
                f"HR and MRR at {', '.join(map(str, self.cutoffs))}; {spread}")


@dataclass(frozen=True)
class MetricValue:
    mean: float
    low: float | None  # 95% interval; None when there is none (one window, one session)
    high: float | None
    n: int  # windows (Student-t) or test sessions (bootstrap)


@dataclass
class SessionEvaluation:
    protocol: SessionProtocol
    windows: list[dict[str, Any]]  # per window: dates and sizes
    runs: list[dict[str, dict[str, Any]]]  # per window: model -> metrics, fit_seconds, predict_ms, predictions
    summary: dict[str, dict[str, MetricValue]]  # model -> metric -> value (models that ran in every window)
    versus: dict[str, MetricValue] = field(default_factory=dict)  # model -> relative main metric vs BASELINE
    failures: dict[str, str] = field(default_factory=dict)
    baseline: str = BASELINE

    def records(self) -> list[dict[str, Any]]:
        """One flat record per (model, metric) for JSON and CSV; ``fit_seconds``, ``predict_ms``
        and ``predictions`` are means over the windows; ``vs_<baseline>`` rows hold the relative
        main metric."""
        out = []
        for model, metrics in self.summary.items():
            for metric, value in metrics.items():
                out.append({"model": model, "metric": metric, "mean": value.mean, "ci95_low": value.low,
                            "ci95_high": value.high, "n": value.n})
        for model, value in self.versus.items():
            out.append({"model": model, "metric": f"{self.protocol.main_metric} vs {self.baseline} (relative)",
                        "mean": value.mean, "ci95_low": value.low, "ci95_high": value.high, "n": value.n})
        return out


def next_item_ranks(model: SessionRecommender, test: SessionData,
                    new_items_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The rank of every next item of every test session (``inf`` when unranked) and the test
    session each prediction belongs to (module doc, step 3; ``new_items_only``: see
    :class:`SessionProtocol`)."""
    ranks, owners = [], []
    for s in range(test.n_sessions):
        items = test.session(s)
        for p in range(1, len(items)):
            target = int(items[p])
            if new_items_only and target in items[:p]:
                continue
            scores = np.array(model.score(items[:p]), dtype=np.float64)
            if new_items_only:
                scores[items[:p]] = -np.inf
            value = scores[target]
            if not np.isfinite(value):
                rank = math.inf
            else:
                rank = 1 + int(np.count_nonzero(scores > value)) + int(np.count_nonzero(scores[:target] == value))
            ranks.append(rank)
            owners.append(s)
    return np.asarray(ranks, dtype=np.float64), np.asarray(owners, dtype=np.int64)


def rank_metrics(ranks: np.ndarray, cutoffs: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-prediction ``hr@k`` (0/1) and ``mrr@k`` (1/rank within k, else 0)."""
    out = {}
    for k in cutoffs:
        hit = ranks <= k
        out[f"hr@{k}"] = hit.astype(np.float64)
        out[f"mrr@{k}"] = np.where(hit, 1.0 / np.maximum(ranks, 1.0), 0.0)
    return out


def _per_session(values: np.ndarray, owners: np.ndarray, n_sessions: int) -> np.ndarray:
    return np.bincount(owners, weights=values, minlength=n_sessions)


def _run_model(name: str, train: SessionData, test: SessionData, protocol: SessionProtocol,
               params: Mapping[str, Any] | None) -> dict[str, Any]:
    model = candidates.make_model(name, protocol.seed, params)
    started = time.perf_counter()
    model.fit(train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ranks, owners = next_item_ranks(model, test, protocol.new_items_only)
    predict_seconds = time.perf_counter() - started
    per_prediction = rank_metrics(ranks, protocol.cutoffs)
    n = len(ranks)
    row: dict[str, Any] = {name_: (float(v.mean()) if n else float("nan")) for name_, v in per_prediction.items()}
    row.update(status="ok", fit_seconds=fit_seconds, predict_ms=1000 * predict_seconds / n if n else float("nan"),
               predictions=n)
    row["_sums"] = {m: _per_session(v, owners, test.n_sessions) for m, v in per_prediction.items()}
    row["_counts"] = np.bincount(owners, minlength=test.n_sessions).astype(np.float64)
    return row


def _bootstrap(run: dict[str, dict[str, Any]], protocol: SessionProtocol, n_sessions: int,
               models: Sequence[str], baseline: str) -> tuple[dict, dict]:
    """Percentile intervals over resampled test sessions, the same draws for every model."""
    rng = np.random.default_rng(protocol.seed)
    weights = rng.multinomial(n_sessions, np.full(n_sessions, 1.0 / n_sessions), size=protocol.resamples)
    weights = weights.astype(np.float64)
    summary, draws = {}, {}
    for model in models:
        row = run[model]
        counts = weights @ row["_counts"]
        counts[counts == 0] = np.nan
        summary[model], draws[model] = {}, {}
        for metric in protocol.metrics:
            values = (weights @ row["_sums"][metric]) / counts
            draws[model][metric] = values
            low, high = np.nanpercentile(values, [2.5, 97.5]) if np.isfinite(values).any() else (None, None)
            summary[model][metric] = MetricValue(row[metric], _f(low), _f(high), n_sessions)
    versus = {}
    if baseline in draws:
        main = protocol.main_metric
        base_point, base_draws = run[baseline][main], draws[baseline][main]
        for model in models:
            if model == baseline or not base_point:
                continue
            with np.errstate(divide="ignore", invalid="ignore"):
                relative = draws[model][main] / base_draws - 1.0
            finite = relative[np.isfinite(relative)]
            low, high = np.percentile(finite, [2.5, 97.5]) if len(finite) else (None, None)
            versus[model] = MetricValue(run[model][main] / base_point - 1.0, _f(low), _f(high), n_sessions)
    return summary, versus


def _f(value) -> float | None:
    return None if value is None else float(value)


def _t_value(values: Sequence[float]) -> MetricValue:
    from ml.training.protocol import estimate

    est = estimate(values)
    low_high = est.interval
    return MetricValue(est.mean, low_high[0] if low_high else None, low_high[1] if low_high else None, est.n)


def evaluate_sessions(data: SessionData, protocol: SessionProtocol = SessionProtocol(),
                      models: Sequence[str] | None = None, params: Mapping[str, Mapping[str, Any]] | None = None,
                      progress: Progress | None = None) -> SessionEvaluation:
    """Every model of ``models`` (default: :func:`ml.sessions.candidates.model_names`) under
    ``protocol`` on the sessions ``data`` (raw: preprocessing is part of the protocol).
    ``params`` overrides constructor parameters per model. A model that fails is reported in
    ``failures`` and the others go on."""
    names = candidates.model_names(models)
    data = preprocess(data, protocol.min_item_support, protocol.min_session_length)
    if data.n_sessions == 0:
        raise ValueError("no session is left after preprocessing (sessions of >= "
                         f"{protocol.min_session_length} events, items with >= {protocol.min_item_support} events)")
    windows, runs, failures = [], [], {}
    steps = protocol.repeats * len(names)
    for w in range(protocol.repeats):
        split = time_split(data, protocol.test_days, w)
        test = sample_sessions(split.test, protocol.max_test_sessions, protocol.seed + w)
        if test.n_sessions == 0:
            raise ValueError(f"window {w}: no test session is left (sessions started in the {protocol.test_days:g} "
                             "days of the window, with >= 2 events of training items)")
        windows.append({"window": w, "test_from": split.test_from, "test_to": split.test_to,
                        "train_sessions": split.train.n_sessions, "train_events": split.train.n_events,
                        "train_items": split.train.n_items, "test_sessions": test.n_sessions,
                        "test_sessions_in_window": split.test_sessions_before_filter,
                        "test_events": test.n_events, "predictions": int(test.n_events - test.n_sessions)})
        run = {}
        for i, name in enumerate(names):
            if progress:
                progress(f"window {w + 1}/{protocol.repeats}: {name}", (w * len(names) + i) / steps)
            try:
                run[name] = _run_model(name, split.train, test, protocol, (params or {}).get(name))
            except Exception as error:  # noqa: BLE001 - one broken model must not sink the comparison
                run[name] = {"status": "failed", "error": f"{type(error).__name__}: {error}"}
                failures.setdefault(name, f"window {w}: {type(error).__name__}: {error}")
        runs.append(run)
    if progress:
        progress("done", 1.0)
    ok = [n for n in names if all(r[n]["status"] == "ok" for r in runs)]
    extra = ("fit_seconds", "predict_ms", "predictions")
    if protocol.repeats == 1:
        summary, versus = _bootstrap(runs[0], protocol, windows[0]["test_sessions"], ok, BASELINE)
        for name in ok:
            summary[name].update({m: MetricValue(float(runs[0][name][m]), None, None, 1) for m in extra})
    else:
        summary = {n: {m: _t_value([r[n][m] for r in runs]) for m in (*protocol.metrics, *extra)} for n in ok}
        versus = {}
        main = protocol.main_metric
        if BASELINE in ok:
            for name in ok:
                if name != BASELINE:
                    versus[name] = _t_value([r[name][main] / r[BASELINE][main] - 1.0 for r in runs
                                             if r[BASELINE][main]])
    for run in runs:  # drop the per-session arrays: the result stays small and printable
        for row in run.values():
            row.pop("_sums", None)
            row.pop("_counts", None)
    return SessionEvaluation(protocol, windows, runs, summary, versus, failures)

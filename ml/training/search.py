"""Small, time-boxed hyper-parameter search on a validation split of the training events.

Why this shape:

- Validation, not test: trials are scored on a split carved out of the *training* part (the same
  kind of split as the run's), so the test metrics reported for the chosen parameters are not
  inflated by having been picked on the test set.
- Coordinate search: starting from the defaults, each parameter in turn tries its listed values
  while the others stay at the best found so far. With a handful of values per parameter this
  finds the few settings that matter (ALS regularisation, item-kNN K) in ~15 trials, where a
  full grid would need hundreds; and it is deterministic.
- Round robin under a deadline: every candidate gets its next trial in turn, and a trial is only
  started when the candidate's previous trial would still fit in the remaining budget, so a slow
  model cannot starve the others and the budget is honoured up to the duration of one trial.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from ml.data.interactions import build_interactions
from ml.evaluation import evaluate_model, evaluation_users
from ml.training.candidates import (
    WEIGHT_PREFIX,
    CandidateSpec,
    InteractionCache,
    split_events,
    split_trial,
)
from ml.training.config import TrainingConfig

log = logging.getLogger(__name__)

Progress = Callable[[str, dict], None]


class CoordinateSearch:
    """Propose trials one at a time, moving one parameter away from the best so far."""

    def __init__(
        self, start: Mapping[str, Any], space: Mapping[str, Sequence[Any]], max_trials: int
    ) -> None:
        self.best: dict[str, Any] = dict(start)
        self.best_score = -math.inf
        self._pending = [(key, value) for key, values in space.items() for value in values]
        self._tried: list[dict[str, Any]] = []
        self._max_trials = max_trials

    def next_trial(self) -> dict[str, Any] | None:
        """The next untried parameter set, or None when the sweep (or the trial cap) is done."""
        if len(self._tried) >= self._max_trials:
            return None
        trial: dict[str, Any] | None = dict(self.best) if not self._tried else None
        while trial is None and self._pending:
            key, value = self._pending.pop(0)
            candidate = {**self.best, key: value}
            if candidate not in self._tried:
                trial = candidate
        if trial is not None:
            self._tried.append(trial)
        return trial

    def report(self, trial: Mapping[str, Any], score: float | None) -> None:
        if score is not None and score > self.best_score:
            self.best, self.best_score = dict(trial), score


def start_trial(
    spec: CandidateSpec, params: Mapping[str, Any], weights: Mapping[str, float]
) -> dict[str, Any]:
    """The defaults as a trial: model params plus the current value of every tuned weight."""
    trial = dict(params)
    for key in spec.search_space:
        if key.startswith(WEIGHT_PREFIX):
            trial[key] = float(weights.get(key[len(WEIGHT_PREFIX) :], 0.0))
    return trial


@dataclass
class SearchOutcome:
    """Best trial and validation NDCG per searched candidate, and the log of every trial."""

    best: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def search(
    specs: Sequence[CandidateSpec],
    starts: Mapping[str, dict[str, Any]],
    train_events: pd.DataFrame,
    config: TrainingConfig,
    progress: Progress | None = None,
) -> SearchOutcome:
    """Tune every spec with a search space; ``starts`` holds each one's default trial."""
    deadline = time.monotonic() + config.search_budget_seconds
    outcome = SearchOutcome()
    tunable = [spec for spec in specs if spec.search_space]
    if not tunable:
        return outcome
    fit_part, check_part = split_events(
        train_events, config.split, config.validation_fraction, config.seed
    )
    cache = InteractionCache(fit_part, half_life_days=config.recency_half_life_days)
    relevant, _ = build_interactions(check_part, config.event_weights, id_map=cache.id_map)
    if relevant.nnz == 0:
        log.warning("validation split is empty: hyper-parameter search skipped")
        return outcome
    users = evaluation_users(relevant, config.eval_max_users, config.seed)
    searches = {
        spec.name: CoordinateSearch(starts[spec.name], spec.search_space, config.search_max_trials)
        for spec in tunable
    }
    last_duration = dict.fromkeys(searches, 0.0)
    metric = f"ndcg@{config.k}"
    active = list(tunable)
    while active:
        for spec in list(active):
            remaining = deadline - time.monotonic()
            fits = last_duration[spec.name] < remaining
            trial = searches[spec.name].next_trial() if fits else None
            if trial is None:
                active.remove(spec)
                continue
            params, weights = split_trial(trial)
            weights = {**config.event_weights, **weights}
            started = time.monotonic()
            score, error = None, None
            try:
                model = spec.train(params, cache.fit_data(weights))
                score = float(
                    evaluate_model(model, cache.matrix(weights), relevant, k=config.k, users=users)[metric]
                )
            except Exception as exc:  # one bad setting must not end the search
                log.warning("search trial %s %s failed: %r", spec.name, trial, exc)
                error = f"{type(exc).__name__}: {exc}"
            last_duration[spec.name] = time.monotonic() - started
            searches[spec.name].report(trial, score)
            outcome.counts[spec.name] = outcome.counts.get(spec.name, 0) + 1
            entry = {
                "candidate": spec.name,
                "trial": trial,
                metric: score,
                "seconds": round(last_duration[spec.name], 4),
                "error": error,
            }
            outcome.trials.append(entry)
            if progress is not None:
                progress("search", dict(entry, remaining_seconds=max(0.0, remaining)))
    for name, state in searches.items():
        if state.best_score > -math.inf:
            outcome.best[name], outcome.scores[name] = state.best, state.best_score
    return outcome

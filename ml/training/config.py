"""What one training run does, as one frozen, validated, JSON-describable value.

Every knob of the pipeline lives in :class:`TrainingConfig` so that a run is reproducible from its
manifest (the config is recorded there) and so that the CLI, the admin button and the tests all
go through the same defaults instead of repeating literals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

from ml.constants import DEFAULT_EVENT_WEIGHTS, DEFAULT_K, SEED
from ml.training.candidates import DEEP_CANDIDATES, DEFAULT_CANDIDATES, CandidateSpec

__all__ = ["DEEP_CANDIDATES", "DEFAULT_CANDIDATES", "ENGINES", "SPLITS", "TrainingConfig"]

SPLITS = ("time", "random", "leave-one-out")
ENGINES = ("local", "spark")


def _default_weights() -> dict[str, float]:
    return dict(DEFAULT_EVENT_WEIGHTS)


@dataclass(frozen=True)
class TrainingConfig:
    """Settings of one :func:`ml.training.train` run.

    - ``event_weights``: strength of each event type; the base for every candidate (the search
      may tune some of them per candidate) and always the definition of the held-out relevant
      items, so that tuned weights can never redefine the test set. A negative weight is
      negative feedback (``cancel``, ``return``): it is subtracted from the (user, item) pair's
      summed strength, which is clipped at 0 (:func:`ml.data.build_interactions`).
    - ``split``: ``"time"`` (train on the past, test on events after a cut-off; mimics
      production), ``"random"`` (per-user random holdout, for data without useful times) or
      ``"leave-one-out"`` (each user's latest item).
    - ``candidates``: names from ``CANDIDATES`` or :class:`CandidateSpec` objects;
      ``candidate_params`` overrides default parameters per candidate name.
    - ``search``: tune parameters on a validation split carved out of the training part (never
      on the test part, so reported test metrics stay honest), within ``search_budget_seconds``
      in total and ``search_max_trials`` per candidate.
    - ``ease_max_items``: EASE inverts a dense items x items matrix; larger catalogues skip it.
    - ``similar_params``, ``also_bought_params``, ``complements_params``,
      ``trending_half_life_days``: the always-published helper models (product-page "similar
      items", "also bought", "frequently bought together", global trending).
    - ``num_threads``: threads for the models that can use several (0 = all cores; for the torch
      models 0 means ``OMP_NUM_THREADS`` or 1, see ``ml.models.deep_settings.TrainSettings``).
    - ``deep_models``: whether the torch candidates (``bpr_mf``, ``neumf``, ``lightgcn``) train;
      when off they are recorded as skipped. They are never part of the search (one fit each
      at their defaults, which ``candidate_params`` can override): a search would multiply
      their cost, which is bounded instead by ``torch_time_budget_seconds`` per fit (early
      stopping usually ends them sooner). ``deep_max_cells``: they are skipped when
      users x items exceeds it, where the budget would buy too few epochs to be worth it.
    - ``eval_max_users``: evaluations (search and holdout) score at most this many users with
      test interactions, a seeded sample shared by every candidate (``None``: all of them); see
      :func:`ml.evaluation.evaluation_users`.
    - ``engine``: ``"local"`` (every candidate in this process) or ``"spark"``: the ``als``
      candidate (search, evaluation and refit alike) is trained by Spark MLlib on
      ``spark_master`` with the extra Spark settings ``spark_conf``, through Parquet files in a
      temporary folder under ``spark_work_dir`` (default: the system's; on a cluster, a folder
      every executor can read) (:mod:`ml.training.spark_engine`); every other candidate trains
      locally as usual.
    """

    event_weights: Mapping[str, float] = field(default_factory=_default_weights)
    split: Literal["time", "random", "leave-one-out"] = "time"
    test_fraction: float = 0.2
    k: int = DEFAULT_K
    candidates: Sequence["str | CandidateSpec"] = DEFAULT_CANDIDATES
    candidate_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    search: bool = True
    search_budget_seconds: float = 60.0
    search_max_trials: int = 16
    validation_fraction: float = 0.2
    seed: int = SEED
    ease_max_items: int = 5000
    similar_params: Mapping[str, Any] = field(
        default_factory=lambda: {"similarity": "cosine", "K": 50}
    )
    also_bought_params: Mapping[str, Any] = field(
        default_factory=lambda: {"min_support": 2, "min_lift": 1.0, "max_neighbours": 50}
    )
    complements_params: Mapping[str, Any] = field(default_factory=dict)  # ComplementsRecommender's defaults
    trending_half_life_days: float = 7.0
    # Every event's weight halves with each half-life of age (from the latest event), in the
    # matrices every candidate is fitted on and in the served visitor rows; None: no decay.
    recency_half_life_days: float | None = None
    num_threads: int = 0
    deep_models: bool = True
    torch_time_budget_seconds: float = 20.0
    deep_max_cells: int = 20_000_000
    eval_max_users: int | None = 10_000
    # The candidate the shop serves now (the active version's champion), if any: a different
    # candidate replaces it only when it is better beyond the 95% interval of a paired
    # bootstrap on the holdout (``ml.training.significance``).
    incumbent: str | None = None
    engine: Literal["local", "spark"] = "local"
    spark_master: str = "local[*]"
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    spark_work_dir: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.split not in SPLITS:
            problems.append(f"split must be one of {SPLITS}, got {self.split!r}")
        for name in ("test_fraction", "validation_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                problems.append(f"{name} must be strictly between 0 and 1")
        if self.k <= 0:
            problems.append("k must be positive")
        if self.search_budget_seconds < 0 or self.search_max_trials < 1:
            problems.append("search_budget_seconds must be >= 0 and search_max_trials >= 1")
        budget = self.torch_time_budget_seconds
        if not (budget >= 0 and math.isfinite(budget)) or self.deep_max_cells < 1:
            problems.append(
                "torch_time_budget_seconds must be finite and >= 0, deep_max_cells >= 1"
            )
        if self.eval_max_users is not None and self.eval_max_users < 1:
            problems.append("eval_max_users must be >= 1 (or None for every user)")
        if self.recency_half_life_days is not None and not (
                self.recency_half_life_days > 0 and math.isfinite(self.recency_half_life_days)):
            problems.append("recency_half_life_days must be a positive number or None")
        if not self.trending_half_life_days > 0:
            problems.append("trending_half_life_days must be > 0")
        # A negative weight is negative feedback (a cancel, a return): subtracted from the pair's
        # summed strength, clipped at 0 (ml.data.interactions).
        bad = sorted(name for name, w in self.event_weights.items() if not math.isfinite(w))
        if bad:
            problems.append(f"event weights must be finite numbers (invalid: {', '.join(bad)})")
        if not self.candidates:
            problems.append("at least one candidate is needed")
        if self.engine not in ENGINES:
            problems.append(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if not str(self.spark_master).strip():
            problems.append("spark_master must not be empty")
        if problems:
            raise ValueError("invalid TrainingConfig: " + "; ".join(problems))

    @property
    def candidate_names(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.candidates]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (candidates by name), recorded in every manifest."""
        return {
            "event_weights": dict(self.event_weights),
            "split": self.split,
            "test_fraction": self.test_fraction,
            "k": self.k,
            "candidates": self.candidate_names,
            "candidate_params": {k: dict(v) for k, v in self.candidate_params.items()},
            "search": self.search,
            "search_budget_seconds": self.search_budget_seconds,
            "search_max_trials": self.search_max_trials,
            "validation_fraction": self.validation_fraction,
            "seed": self.seed,
            "ease_max_items": self.ease_max_items,
            "similar_params": dict(self.similar_params),
            "also_bought_params": dict(self.also_bought_params),
            "complements_params": dict(self.complements_params),
            "trending_half_life_days": self.trending_half_life_days,
            "recency_half_life_days": self.recency_half_life_days,
            "num_threads": self.num_threads,
            "deep_models": self.deep_models,
            "torch_time_budget_seconds": self.torch_time_budget_seconds,
            "deep_max_cells": self.deep_max_cells,
            "incumbent": self.incumbent,
            "eval_max_users": self.eval_max_users,
            "engine": self.engine,
            "spark_master": self.spark_master,
            "spark_conf": dict(self.spark_conf),
            "spark_work_dir": self.spark_work_dir,
        }

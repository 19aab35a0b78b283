"""What a training run hands back: fitted artifacts plus a plain-dict record of the run.

The record (:meth:`TrainingResult.summary`) is what the web app stores on its ``TrainingRun``
and what the registry writes into ``manifest.json``; the artifacts (models, id map, interaction
matrix) are what the registry saves next to it for serving.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import scipy.sparse as sp

from ml.data.idmap import IdMap
from ml.models.base import Recommender
from ml.training.config import TrainingConfig


@dataclass
class CandidateResult:
    """One candidate's outcome on the holdout.

    ``status`` is ``"ok"``, ``"failed"`` (``error`` says why; the run went on without it) or
    ``"skipped"`` (not applicable to this data, e.g. EASE over the item budget).
    """

    name: str
    model: str
    params: dict[str, Any]
    event_weights: dict[str, float]
    status: Literal["ok", "failed", "skipped"] = "ok"
    metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    evaluate_seconds: float = 0.0
    error: str | None = None
    validation_ndcg: float | None = None
    search_trials: int = 0
    engine: str = "local"  # where it trained ("spark": ml.training.spark_engine)
    # Each evaluated user's NDCG@k on the holdout (for the paired comparisons; not saved).
    per_user_ndcg: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record.pop("per_user_ndcg")
        return record


@dataclass
class TrainingResult:
    """Everything :func:`ml.training.train` produced.

    ``models`` maps a role (:mod:`ml.artifacts`) to a model fitted on all events:
    ``recommender`` (the champion), ``similar`` (item-kNN), ``also_bought`` (basket lift),
    ``complements`` ("frequently bought together") and ``popular`` (trending). They share
    ``id_map``. ``user_items`` is the all-events matrix built with the champion's
    ``event_weights``: serving needs each known user's row to score item-based models and to
    fold recent events into a user's history.
    """

    config: TrainingConfig
    candidates: dict[str, CandidateResult]
    champion: str
    champion_model: str
    champion_params: dict[str, Any]
    event_weights: dict[str, float]
    baseline: dict[str, Any]
    data: dict[str, int]
    timings: dict[str, float]
    search: list[dict[str, Any]]
    trained_until: str | None
    id_map: IdMap
    user_items: sp.csr_matrix
    models: dict[str, Recommender]
    # Why the champion is the champion: each candidate's NDCG difference to popularity and, when
    # a model was serving, the challenger's to it, with 95% bootstrap intervals; and the reason.
    selection: dict[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        """The selection metric, e.g. ``ndcg@10``."""
        return f"ndcg@{self.config.k}"

    def summary(self) -> dict[str, Any]:
        """The JSON-ready record of the run (no arrays)."""
        return {
            "champion": self.champion,
            "champion_model": self.champion_model,
            "params": self.champion_params,
            "event_weights": self.event_weights,
            "selection_metric": self.metric,
            "baseline": self.baseline,
            "selection": self.selection,
            "metrics": {n: c.metrics for n, c in self.candidates.items()},
            "candidates": {n: c.to_dict() for n, c in self.candidates.items()},
            "data": self.data,
            "timings": self.timings,
            "search": self.search,
            "trained_until": self.trained_until,
            "models": {role: model.name for role, model in self.models.items()},
            "config": self.config.to_dict(),
        }

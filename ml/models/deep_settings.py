"""Training settings and the training report shared by the torch models (no torch import).

The three deep models (:mod:`ml.models.bpr_mf`, :mod:`ml.models.neumf`,
:mod:`ml.models.lightgcn`) train the same way: mini-batches of (user, liked item, sampled
negative) triples, a BPR loss, Adam, early stopping on a validation split and a time budget.
The knobs of that loop live here once, as a frozen dataclass, so each model's constructor only
adds its architecture parameters and every model records the same keys in its ``params`` (and so
in the manifest). This module is imported by the model classes at serving time too, which is why
it must not import torch: the torch side is in :mod:`ml.models.torch_common`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping

import numpy as np

from ml.constants import SEED


@dataclass(frozen=True)
class TrainSettings:
    """How a deep model is trained (all JSON-serialisable, stored in the model's ``params``).

    - ``epochs``: upper bound on passes over the training pairs (early stopping usually ends
      sooner).
    - ``batch_size``, ``learning_rate`` (Adam), ``regularization``: the loss is the mean over a
      batch of ``-log sigmoid(s_ui - s_uj) + regularization / 2 * (squared norms of the
      triple's embeddings)``, the per-pair form BPR's fold-in solves too.
    - ``validation_fraction``: share of each user's items held out of training to pick the best
      epoch (0 disables early stopping; every epoch up to ``epochs`` or the budget is kept).
    - ``patience``: validations without improvement of NDCG@``validation_k`` before stopping;
      the weights of the best validation are restored.
    - ``max_validation_users``: validation scores a seeded sample of at most this many users, so
      a validation costs about the same whatever the number of users.
    - ``time_budget_seconds``: wall-clock limit of ``fit``; training stops after the batch that
      crosses it (then one last validation), so the overshoot is one batch plus one validation.
    - ``num_threads``: torch intra-op threads during ``fit``, restored afterwards. 0 takes the
      environment's ``OMP_NUM_THREADS``, else 1 (not torch's all-cores default): the ops are
      small (a batch x factors), and on the 2-core demo machine with another process busy,
      2 threads made an epoch 10-20 times slower than 1, as OpenMP workers wait for a core.
    - ``random_state``: seeds initialisation, the validation split and negative sampling.
    """

    epochs: int = 100
    batch_size: int = 1024
    learning_rate: float = 0.01
    regularization: float = 1e-4
    validation_fraction: float = 0.1
    patience: int = 5
    validation_k: int = 10
    max_validation_users: int = 1000
    time_budget_seconds: float = 30.0
    num_threads: int = 0
    random_state: int = SEED

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "batch_size", "patience", "validation_k", "max_validation_users"):
            if int(getattr(self, name)) < 1:
                problems.append(f"{name} must be >= 1")
        if not self.learning_rate > 0:
            problems.append("learning_rate must be > 0")
        if not self.regularization >= 0:
            problems.append("regularization must be >= 0")
        if not 0.0 <= self.validation_fraction < 1.0:
            problems.append("validation_fraction must be in [0, 1)")
        if not (self.time_budget_seconds >= 0 and math.isfinite(self.time_budget_seconds)):
            problems.append("time_budget_seconds must be a finite number >= 0")
        if self.num_threads < 0:
            problems.append("num_threads must be >= 0")
        if problems:
            raise ValueError("invalid training settings: " + "; ".join(problems))

    @classmethod
    def build(cls, defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> "TrainSettings":
        """Settings from a model's own defaults, then the caller's keyword arguments.

        Unknown keys are refused (a typo must not silently train with the default)."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise TypeError(f"unknown training parameter(s): {', '.join(unknown)}")
        merged = {**defaults, **overrides}
        casts = {"int": int, "float": float}
        return cls(**{k: casts[str(known[k])](v) for k, v in merged.items()})

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "TrainSettings":
        """The settings part of a model's ``params``."""
        return cls(**{f.name: params[f.name] for f in fields(cls) if f.name in params})

    def to_params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainReport:
    """What happened in ``fit``: kept on the model and saved with it (as a JSON string)."""

    epochs_run: int = 0
    best_epoch: int = 0
    best_validation_ndcg: float | None = None
    stopped_by: str = "max_epochs"  # "patience", "time_budget" or "max_epochs"
    seconds: float = 0.0
    validation_ndcg: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)

    def to_array(self) -> np.ndarray:
        """A 0-d unicode array, storable in an ``.npz`` without pickle."""
        return np.array(json.dumps(asdict(self)))

    @classmethod
    def from_array(cls, value: np.ndarray | None) -> "TrainReport":
        return cls() if value is None else cls(**json.loads(str(value)))


REPORT_KEY = "training_report"

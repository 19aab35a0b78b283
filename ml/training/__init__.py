"""Training: fit the candidate models, compare them on a holdout, pick and refit a champion.

Pure: events DataFrames in, fitted models plus plain dicts out (:class:`TrainingResult`).
Writing versions to disk is :mod:`ml.registry`'s job, serving them :mod:`ml.serving`'s.

Typical use::

    result = train(events, TrainingConfig(search_budget_seconds=30))
    version = ModelRegistry(model_dir).publish(result)
"""

from ml.artifacts import ALSO_BOUGHT, COMPLEMENTS, POPULAR, RECOMMENDER, SIMILAR
from ml.training.baskets import basket_keys, basket_matrix
from ml.training.candidates import CANDIDATES, DEFAULT_CANDIDATES, CandidateSpec, FitData
from ml.training.config import TrainingConfig
from ml.training.lock import LockHeldError, TrainingLock
from ml.training.pipeline import evaluate_frame, prepare_events, train
from ml.training.result import CandidateResult, TrainingResult

__all__ = [
    "ALSO_BOUGHT",
    "CANDIDATES",
    "COMPLEMENTS",
    "CandidateResult",
    "CandidateSpec",
    "DEFAULT_CANDIDATES",
    "FitData",
    "LockHeldError",
    "POPULAR",
    "RECOMMENDER",
    "SIMILAR",
    "TrainingConfig",
    "TrainingLock",
    "TrainingResult",
    "basket_keys",
    "basket_matrix",
    "evaluate_frame",
    "prepare_events",
    "train",
]

"""The candidate models a training run compares, and the data they are fitted on.

A candidate is a model class plus default parameters, a search space and a fit recipe. The
pipeline and the search treat all candidates alike through :class:`CandidateSpec`, so adding a
model is one entry in :data:`CANDIDATES` (or a spec passed in ``TrainingConfig.candidates``).

Search-space keys are model parameters, or ``"weight.<event type>"`` for an event weight: event
weights change the interaction matrix itself, so a tuned candidate carries its own weights (and
serving builds a visitor's row with the champion's weights, recorded in the manifest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import pandas as pd
import scipy.sparse as sp

from ml.constants import SEED, TIME_COL, USER_COL
from ml.data.idmap import IdMap
from ml.data.interactions import build_interactions
from ml.data.splits import leave_one_out, random_split, time_split
from ml.models import (
    ALSRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    LightGCNRecommender,
    NeuMFRecommender,
    PopularityRecommender,
    RecentPopularityRecommender,
    Recommender,
    TorchBPRRecommender,
)

if TYPE_CHECKING:  # config.py imports this module for the default candidate list
    from ml.training.config import TrainingConfig

WEIGHT_PREFIX = "weight."


@dataclass(frozen=True)
class FitData:
    """Everything a candidate may be fitted from: the events and their weighted matrix."""

    events: pd.DataFrame
    id_map: IdMap
    matrix: sp.csr_matrix
    event_weights: Mapping[str, float]

    @property
    def reference_time(self) -> object:
        """"Now" for time-decayed models: the latest event of the data."""
        return self.events[TIME_COL].max() if TIME_COL in self.events.columns else None


class InteractionCache:
    """Weighted matrices of one events frame, built once per distinct weight mapping.

    The search tries several event weightings; the matrix of each is reused by every trial and
    candidate that asks for the same weights. With ``half_life_days`` (and event times) every
    event also counts ``0.5 ** (age / half_life)``, its age measured from the frame's latest
    event: a shopper's recent browsing outweighs last year's orders in their row.
    """

    def __init__(self, events: pd.DataFrame, id_map: IdMap | None = None,
                 half_life_days: float | None = None) -> None:
        self.events = events
        self.id_map = IdMap.from_frame(events) if id_map is None else id_map
        self.half_life_days = half_life_days if TIME_COL in events.columns and len(events) else None
        self._matrices: dict[tuple[tuple[str, float], ...], sp.csr_matrix] = {}

    def matrix(self, weights: Mapping[str, float]) -> sp.csr_matrix:
        key = tuple(sorted((str(k), float(v)) for k, v in weights.items()))
        if key not in self._matrices:
            self._matrices[key], _ = build_interactions(
                self.events, weights=weights, id_map=self.id_map,
                time_decay_half_life_days=self.half_life_days,
            )
        return self._matrices[key]

    def fit_data(self, weights: Mapping[str, float]) -> FitData:
        return FitData(self.events, self.id_map, self.matrix(weights), dict(weights))


def fit_on_matrix(model: Recommender, data: FitData) -> Recommender:
    return model.fit(data.matrix)


def fit_on_events(model: Recommender, data: FitData) -> Recommender:
    """Time-decayed popularity needs event times, which a matrix no longer has."""
    return model.fit_events(
        data.events, data.id_map, weights=data.event_weights, reference_time=data.reference_time
    )


@dataclass(frozen=True)
class CandidateSpec:
    """One candidate: ``model(**params)`` builds it, ``fit(model, data)`` trains it.

    ``needs_timestamps``: skipped when the events have no times. ``item_budget``: skipped when
    the catalogue exceeds ``TrainingConfig.ease_max_items``. ``threaded``: receives
    ``TrainingConfig.num_threads``. A ``random_state`` in ``params`` receives the run's seed.
    ``deep``: a torch model; it receives ``TrainingConfig.torch_time_budget_seconds`` as its
    ``time_budget_seconds`` and is skipped when ``TrainingConfig.deep_models`` is off or
    users x items exceeds ``TrainingConfig.deep_max_cells``. ``engine``: where ``fit`` trains
    (``"spark"``: :mod:`ml.training.spark_engine`), recorded with the candidate's result.
    """

    name: str
    model: Callable[..., Recommender]
    params: Mapping[str, Any] = field(default_factory=dict)
    search_space: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    fit: Callable[[Recommender, FitData], Recommender] = fit_on_matrix
    needs_timestamps: bool = False
    item_budget: bool = False
    threaded: bool = False
    deep: bool = False
    engine: str = "local"

    def resolved_params(self, config: TrainingConfig) -> dict[str, Any]:
        """Defaults, then the run's seed and threads, then the config's explicit overrides."""
        params = dict(self.params)
        if "random_state" in params:
            params["random_state"] = config.seed
        if self.threaded:
            params["num_threads"] = config.num_threads
        if self.deep:
            params["time_budget_seconds"] = config.torch_time_budget_seconds
        params.update(config.candidate_params.get(self.name, {}))
        return params

    def train(self, params: Mapping[str, Any], data: FitData) -> Recommender:
        return self.fit(self.model(**params), data)

    def skip_reason(self, events: pd.DataFrame, n_items: int, config: TrainingConfig) -> str | None:
        if self.needs_timestamps and TIME_COL not in events.columns:
            return f"needs a {TIME_COL!r} column"
        if self.item_budget and n_items > config.ease_max_items:
            return f"{n_items} items exceed the item budget of {config.ease_max_items}"
        if self.deep and not config.deep_models:
            return "deep models are disabled (TrainingConfig.deep_models=False)"
        if self.deep:
            n_users = int(events[USER_COL].nunique()) if USER_COL in events.columns else 0
            if n_users * n_items > config.deep_max_cells:
                return (
                    f"{n_users} users x {n_items} items exceed deep_max_cells="
                    f"{config.deep_max_cells} (too large for the torch time budget)"
                )
        return None


def split_trial(trial: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """Separate a trial's model parameters from its ``weight.<event>`` overrides."""
    params = {k: v for k, v in trial.items() if not k.startswith(WEIGHT_PREFIX)}
    weights = {
        k[len(WEIGHT_PREFIX) :]: float(v) for k, v in trial.items() if k.startswith(WEIGHT_PREFIX)
    }
    return params, weights


_KNN_K = (20, 50, 100, 200)

#: Built-in candidates by name. Search spaces list the most influential parameter first (the
#: coordinate search tunes them in this order); the ALS ranges come from sweeps on the demo shop,
#: where regularisation mattered most (NDCG@10 0.185 at 1.0, 0.21 at 10-30; 0.12 at 100).
#: The torch models have no search space (one budgeted fit each, see ``TrainingConfig``); their
#: defaults come from sweeps on the demo shop's time holdout (see each model's ``_DEFAULTS``).
CANDIDATES: dict[str, CandidateSpec] = {
    spec.name: spec
    for spec in (
        CandidateSpec("popularity", PopularityRecommender, {"count": "users"}),
        CandidateSpec(
            "recent_popularity",
            RecentPopularityRecommender,
            {"half_life_days": 7.0},
            {"half_life_days": (3.0, 14.0, 30.0)},
            fit=fit_on_events,
            needs_timestamps=True,
        ),
        CandidateSpec(
            "item_knn_cosine",
            ItemKNNRecommender,
            {"similarity": "cosine", "K": 50},
            {"K": _KNN_K},
            threaded=True,
        ),
        CandidateSpec(
            "item_knn_bm25",
            ItemKNNRecommender,
            {"similarity": "bm25", "K": 50, "K1": 1.2, "B": 0.75},
            {"K": _KNN_K, "B": (0.5, 1.0)},
            threaded=True,
        ),
        CandidateSpec(
            "als",
            ALSRecommender,
            {
                "factors": 64,
                "regularization": 1.0,
                "alpha": 1.0,
                "iterations": 15,
                "random_state": SEED,
            },
            {
                "regularization": (0.1, 5.0, 10.0, 30.0),
                "factors": (32, 128),
                "alpha": (0.5, 2.0, 4.0),
                "weight.addtocart": (2.0, 8.0),
                "weight.transaction": (5.0, 20.0),
            },
            threaded=True,
        ),
        CandidateSpec(
            "bpr",
            BPRRecommender,
            # one thread: BPR's parallel SGD is lock-free and not reproducible
            {
                "factors": 64,
                "learning_rate": 0.05,
                "regularization": 0.01,
                "iterations": 100,
                "random_state": SEED,
                "num_threads": 1,
            },
            {"learning_rate": (0.01, 0.1), "regularization": (0.001, 0.1), "factors": (32,)},
        ),
        CandidateSpec(
            "ease",
            EASERecommender,
            {"regularization": 500.0},
            {"regularization": (100.0, 250.0, 1000.0, 2000.0)},
            item_budget=True,
        ),
        *(
            CandidateSpec(name, model, {"random_state": SEED}, threaded=True, deep=True)
            for name, model in (
                ("bpr_mf", TorchBPRRecommender),
                ("neumf", NeuMFRecommender),
                ("lightgcn", LightGCNRecommender),
            )
        ),
    )
}

#: Every built-in candidate, cheapest first: what a run compares unless told otherwise.
DEFAULT_CANDIDATES: tuple[str, ...] = tuple(CANDIDATES)

#: The candidates trained in torch (see ``TrainingConfig.deep_models``).
DEEP_CANDIDATES: tuple[str, ...] = tuple(name for name, spec in CANDIDATES.items() if spec.deep)


def resolve_candidates(config: TrainingConfig) -> list[CandidateSpec]:
    """The config's candidates as specs; unknown names and duplicates are refused up front."""
    specs = []
    for entry in config.candidates:
        if isinstance(entry, CandidateSpec):
            specs.append(entry)
        elif entry in CANDIDATES:
            specs.append(CANDIDATES[entry])
        else:
            raise ValueError(f"unknown candidate {entry!r} (known: {', '.join(CANDIDATES)})")
    if config.engine == "spark":
        specs = _on_spark(specs, config)
    names = [spec.name for spec in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"duplicated candidate(s): {', '.join(duplicated)}")
    unknown = sorted(set(config.candidate_params) - set(names))
    if unknown:
        raise ValueError(f"candidate_params for unknown candidate(s): {', '.join(unknown)}")
    return specs


def _on_spark(specs: list[CandidateSpec], config: TrainingConfig) -> list[CandidateSpec]:
    """The built-in ``als`` candidate swapped for its Spark twin (the only one Spark trains);
    refuses up front, with what to install, when pyspark or Java is missing."""
    from ml.training import spark_engine  # it imports this module

    if not any(spec is CANDIDATES[spark_engine.SPARK_CANDIDATE] for spec in specs):
        return specs
    spark_engine.check_spark()
    twin = spark_engine.spark_als_spec(config.spark_master, config.spark_conf, config.spark_work_dir)
    return [twin if spec is CANDIDATES[twin.name] else spec for spec in specs]


def split_events(
    events: pd.DataFrame, how: str, test_fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train/test events by the configured split: ``"time"`` (a cut-off leaves ``test_fraction``
    of the events after it), ``"random"`` (per user, ``test_fraction`` of their items) or
    ``"leave-one-out"`` (per user with two items or more, their latest one; ``test_fraction``
    does not apply)."""
    if how == "time":
        return time_split(events, test_fraction)
    if how == "leave-one-out":
        return leave_one_out(events, seed=seed)
    if how == "random":
        return random_split(events, test_fraction, seed=seed)
    raise ValueError(f"unknown split {how!r} (time, random or leave-one-out)")

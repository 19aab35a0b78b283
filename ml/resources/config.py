"""Settings of one asset-recommender run and the candidate models it compares.

The candidates are the engine's own models (:mod:`ml.models`) plus the B2B-aware
:class:`~ml.resources.recommender.UnitPopularityRecommender`; their defaults suit a few hundred
assets and a few thousand mostly one- or two-form visitors. They were chosen by a small sweep
on a synthetic library generated with seed 7, not the default seed, so the default evaluation
is not tuned on itself: ALS needs strong regularisation on such sparse data (``50`` with
``alpha=10``; ``regularization / alpha`` near 20 collapses it to popularity, below 1 it
overfits), EASE is flat between 200 and 800, item-kNN between K=20 and 100. Everything is
recorded in the run's summary so a published version is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ml.constants import DEFAULT_K, SEED
from ml.models import ALSRecommender, EASERecommender, ItemKNNRecommender, PopularityRecommender
from ml.models.base import Recommender
from ml.resources.interactions import AssetData
from ml.resources.blend import UnitBlendRecommender
from ml.resources.recommender import UnitPopularityRecommender
from ml.resources.weights import DEFAULT_TYPE_WEIGHTS, type_weights


@dataclass(frozen=True)
class AssetCandidate:
    """A candidate: ``model_cls(**params)``; ``needs_units`` gets the asset -> units mapping."""

    name: str
    model_cls: Callable[..., Recommender]
    params: Mapping[str, Any] = field(default_factory=dict)
    needs_units: bool = False
    threaded: bool = False
    # a business-unit blend over another candidate: its ``base_params`` are that candidate's
    # parameters (with the run's seed and threads), so tuning the base tunes the blend's base
    base_candidate: str | None = None


#: Built-in candidates by name, cheapest first.
ASSET_CANDIDATES: dict[str, AssetCandidate] = {
    spec.name: spec
    for spec in (
        AssetCandidate("popularity", PopularityRecommender, {"count": "users"}),
        AssetCandidate("unit_popularity", UnitPopularityRecommender, {"fill": True},
                       needs_units=True),
        AssetCandidate("item_knn", ItemKNNRecommender, {"similarity": "cosine", "K": 50},
                       threaded=True),
        AssetCandidate("item_knn_bm25", ItemKNNRecommender,
                       {"similarity": "bm25", "K": 50, "K1": 1.2, "B": 0.75}, threaded=True),
        AssetCandidate("als", ALSRecommender,
                       {"factors": 32, "regularization": 50.0, "alpha": 10.0, "iterations": 15,
                        "random_state": SEED}, threaded=True),
        AssetCandidate("ease", EASERecommender, {"regularization": 400.0}),
        AssetCandidate("ease_units", UnitBlendRecommender, {"base": "ease", "weight": 0.5},
                       needs_units=True, base_candidate="ease"),
        AssetCandidate("als_units", UnitBlendRecommender, {"base": "als", "weight": 0.5},
                       needs_units=True, base_candidate="als"),
    )
}

SPLITS: tuple[str, ...] = ("leave-one-out", "random", "time")

#: Blend weights tried on validation (and plotted against the holdout in the Pareto table): finer
#: at the low end, where a little affinity already moves most suggestions into the units.
BLEND_WEIGHTS: tuple[float, ...] = (0.0, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0)


@dataclass(frozen=True)
class AssetConfig:
    """Settings of :func:`ml.resources.train_assets`.

    - ``type_weights``: overrides of :data:`~ml.resources.weights.DEFAULT_TYPE_WEIGHTS` (validated:
      unknown types are refused); strength = weight x form_submissions.
    - ``scale``: ``"log"`` fits the models on ``log1p(strength)`` (see
      :func:`~ml.resources.interactions.scale_strength`), ``"linear"`` on the strength itself.
    - ``candidates`` / ``candidate_params``: names of :data:`ASSET_CANDIDATES` and per-name
      parameter overrides. ``ease_max_items``: EASE is skipped above this many assets.
    - ``k``: cut-off of every metric; ``seed``: holdout tie-breaks and model initialisation.
    - ``min_bu_hit_rate``: marketing's floor in the champion rule (:mod:`ml.resources.champion`).
    - ``search``: tune EASE, ALS and the blend weights on a validation split carved from the
      training part (:mod:`ml.resources.tuning`) before the holdout comparison.
    - ``blend_weights``: the weights the business-unit blends try.
    - ``split``: ``"leave-one-out"`` (each visitor's strongest asset, the default: an export has
      no times), ``"random"`` (per visitor, ``test_fraction`` of their assets) or ``"time"``
      (the latest ``test_fraction`` of the submissions; needs a ``timestamp`` per submission).
    """

    type_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TYPE_WEIGHTS))
    scale: str = "log"
    k: int = DEFAULT_K
    candidates: Sequence[str] = tuple(ASSET_CANDIDATES)
    candidate_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seed: int = SEED
    num_threads: int = 0
    ease_max_items: int = 5000
    min_bu_hit_rate: float = 0.6
    search: bool = True
    split: str = "leave-one-out"
    test_fraction: float = 0.2
    blend_weights: Sequence[float] = BLEND_WEIGHTS

    def __post_init__(self) -> None:
        object.__setattr__(self, "type_weights", type_weights(self.type_weights))
        problems = []
        if self.scale not in ("log", "linear"):
            problems.append(f"scale must be 'log' or 'linear', got {self.scale!r}")
        if self.k <= 0:
            problems.append("k must be positive")
        if self.split not in SPLITS:
            problems.append(f"split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        if not 0.0 < self.test_fraction < 1.0:
            problems.append(f"test_fraction must be between 0 and 1, got {self.test_fraction}")
        if not 0.0 <= self.min_bu_hit_rate <= 1.0:
            problems.append(f"min_bu_hit_rate must be in [0, 1], got {self.min_bu_hit_rate}")
        if not self.blend_weights or any(not 0.0 <= w <= 1.0 for w in self.blend_weights):
            problems.append("blend_weights must be a non-empty list of weights in [0, 1]")
        unknown = [c for c in self.candidates if c not in ASSET_CANDIDATES]
        if unknown:
            problems.append(f"unknown candidate(s) {', '.join(unknown)} "
                            f"(known: {', '.join(ASSET_CANDIDATES)})")
        if not self.candidates or len(set(self.candidates)) != len(self.candidates):
            problems.append("candidates must be a non-empty list without duplicates")
        stray = sorted(set(self.candidate_params) - set(self.candidates))
        if stray:
            problems.append(f"candidate_params for candidate(s) not run: {', '.join(stray)}")
        if problems:
            raise ValueError("invalid AssetConfig: " + "; ".join(problems))

    def params(self, name: str, base_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A candidate's parameters: defaults, the run's seed and threads, then overrides. A
        blend's ``base_params`` are its base candidate's, updated with ``base_overrides``."""
        spec = ASSET_CANDIDATES[name]
        params = dict(spec.params)
        if spec.base_candidate:
            params["base_params"] = {**self.params(spec.base_candidate), **(base_overrides or {})}
        if "random_state" in params:
            params["random_state"] = self.seed
        if spec.threaded:
            params["num_threads"] = self.num_threads
        params.update(self.candidate_params.get(name, {}))
        return params

    def skip_reason(self, name: str, n_items: int) -> str | None:
        spec = ASSET_CANDIDATES[name]
        uses_ease = spec.model_cls is EASERecommender or spec.params.get("base") == "ease"
        if uses_ease and n_items > self.ease_max_items:
            return f"{n_items} assets exceed the EASE budget of {self.ease_max_items}"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type_weights": dict(self.type_weights),
            "scale": self.scale,
            "k": self.k,
            "candidates": list(self.candidates),
            "candidate_params": {k: dict(v) for k, v in self.candidate_params.items()},
            "seed": self.seed,
            "num_threads": self.num_threads,
            "ease_max_items": self.ease_max_items,
            "min_bu_hit_rate": self.min_bu_hit_rate,
            "search": self.search,
            "blend_weights": list(self.blend_weights),
            "split": self.split,
            "test_fraction": self.test_fraction,
        }


def make_model(name: str, params: Mapping[str, Any], data: AssetData) -> Recommender:
    """An unfitted candidate, given the asset -> units mapping when it needs one."""
    spec = ASSET_CANDIDATES[name]
    model = spec.model_cls(**params)
    if spec.needs_units:
        model.set_item_units(data.unit_matrix, data.unit_names)
    return model

"""What an asset-recommender run hands back, and its pickle-free files on disk.

:func:`save` writes a few ``assets_*`` files (``.npz`` loaded with ``allow_pickle=False``, and
one JSON summary) into a directory and returns their names. The names never clash with the
files of :mod:`ml.registry` (``manifest.json``, ``ids.npz``, ``user_items.npz``,
``<role>.npz``), so the web app can write them into a model version directory before the
registry hashes its files and activates the version. :func:`load` reads them back with numpy
(scipy for the sparse rows), never implicit or torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np
import scipy.sparse as sp

from ml.data.idmap import IdMap
from ml.models.base import Recommender
from ml.resources.blend import UnitBlendRecommender
from ml.resources.recommender import UnitPopularityRecommender
from ml.resources.config import AssetConfig

MODEL_FILE = "assets_recommender.npz"
POPULAR_FILE = "assets_popular.npz"
DATA_FILE = "assets_data.npz"
SUMMARY_FILE = "assets_summary.json"
FILES: tuple[str, ...] = (DATA_FILE, POPULAR_FILE, MODEL_FILE, SUMMARY_FILE)
FORMAT_VERSION = 1
#: Models defined outside ``ml.models`` that :func:`load` may meet; importing them registers
#: their names with ``Recommender.load``.
EXTRA_MODELS = (UnitPopularityRecommender, UnitBlendRecommender)


@dataclass
class AssetCandidateResult:
    """One candidate on the holdout; ``status`` ``"ok"``, ``"failed"`` or ``"skipped"``."""

    name: str
    model: str
    params: dict[str, Any]
    status: Literal["ok", "failed", "skipped"] = "ok"
    metrics: dict[str, float] = field(default_factory=dict)
    per_unit: dict[str, dict[str, float]] = field(default_factory=dict)
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    evaluate_seconds: float = 0.0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(eq=False)
class AssetResult:
    """Everything :func:`ml.resources.train_assets` produced.

    ``model`` is the champion refitted on all interactions, ``popular`` global popularity on
    all interactions (the serving fallback). ``user_items`` is the all-data matrix the models
    were fitted on (already scaled), ``item_types`` / ``item_units`` describe each asset in
    ``id_map`` order. ``per_unit`` and ``breakdown`` are the champion's.
    """

    config: AssetConfig
    candidates: dict[str, AssetCandidateResult]
    champion: str
    baseline: dict[str, Any]
    model: Recommender
    popular: Recommender
    id_map: IdMap
    user_items: sp.csr_matrix
    item_types: np.ndarray
    item_units: tuple[frozenset[str], ...]
    unit_names: np.ndarray
    data: dict[str, int]
    timings: dict[str, float]
    intra_type_similarity: dict[str, float]
    selection: str = ""  # why the champion rule chose the champion (one sentence)
    pareto: list[dict[str, Any]] = field(default_factory=list)  # see ml.resources.pareto
    search: dict[str, Any] = field(default_factory=dict)  # tuned params and every trial

    @property
    def type_weights(self) -> dict[str, float]:
        return dict(self.config.type_weights)

    @property
    def scale(self) -> str:
        return self.config.scale

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Overall holdout metrics per candidate that ran."""
        return {n: c.metrics for n, c in self.candidates.items() if c.status == "ok"}

    @property
    def per_unit(self) -> dict[str, dict[str, float]]:
        return self.candidates[self.champion].per_unit if self.champion in self.candidates else {}

    @property
    def breakdown(self) -> list[dict[str, Any]]:
        return self.candidates[self.champion].breakdown if self.champion in self.candidates else []

    def summary(self) -> dict[str, Any]:
        """The JSON-ready record of the run (no arrays)."""
        return {
            "format": FORMAT_VERSION,
            "champion": self.champion,
            "champion_model": self.model.name,
            "champion_params": dict(self.model.params),
            "selection_rule": (f"best hit_rate@{self.config.k} with bu_hit_rate@{self.config.k} >= "
                               f"{self.config.min_bu_hit_rate:g}, else the highest bu_hit_rate@{self.config.k}"),
            "selection_reason": self.selection,
            "pareto": self.pareto,
            "search": self.search,
            "baseline": self.baseline,
            "metrics": self.metrics,
            "per_unit": self.per_unit,
            "breakdown": self.breakdown,
            "candidates": {n: c.to_dict() for n, c in self.candidates.items()},
            "intra_type_similarity": self.intra_type_similarity,
            "data": self.data,
            "timings": self.timings,
            "config": self.config.to_dict(),
        }


@dataclass(eq=False)
class LoadedAssets:
    """A saved run in memory: what :func:`ml.resources.suggest_next` serves from."""

    model: Recommender
    popular: Recommender
    id_map: IdMap
    user_items: sp.csr_matrix
    item_types: np.ndarray
    item_units: tuple[frozenset[str], ...]
    unit_names: np.ndarray
    summary: dict[str, Any]

    @property
    def type_weights(self) -> dict[str, float]:
        return dict(self.summary["config"]["type_weights"])

    @property
    def scale(self) -> str:
        return str(self.summary["config"]["scale"])

    @property
    def champion(self) -> str:
        return str(self.summary["champion"])


def _units_to_arrays(item_units: tuple[frozenset[str], ...], unit_names: np.ndarray) -> dict:
    column = {str(name): i for i, name in enumerate(unit_names)}
    indices = [column[u] for units in item_units for u in sorted(units)]
    indptr = np.cumsum([0] + [len(units) for units in item_units])
    return {
        "item_units_indices": np.asarray(indices, dtype=np.int32),
        "item_units_indptr": indptr.astype(np.int64),
        "unit_names": np.asarray(unit_names, dtype=str).reshape(-1),
    }


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def save(result: AssetResult, directory: str | Path) -> list[str]:
    """Write the run's files into ``directory`` (created if needed); return their names."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    result.model.save(directory / MODEL_FILE)
    result.popular.save(directory / POPULAR_FILE)
    matrix = sp.csr_matrix(result.user_items, dtype=np.float32)
    arrays = {
        **result.id_map.to_arrays(),
        "user_items_data": matrix.data,
        "user_items_indices": matrix.indices,
        "user_items_indptr": matrix.indptr,
        "user_items_shape": np.asarray(matrix.shape, dtype=np.int64),
        "item_types": np.asarray(result.item_types, dtype=str).reshape(-1),
        **_units_to_arrays(result.item_units, result.unit_names),
    }
    with open(directory / DATA_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    text = json.dumps(result.summary(), indent=2, sort_keys=True, default=_json_default)
    (directory / SUMMARY_FILE).write_text(text, encoding="utf-8")
    return sorted(FILES)


def _read_units(arrays: Mapping[str, np.ndarray], n_items: int) -> tuple[frozenset[str], ...]:
    names = np.asarray(arrays["unit_names"]).astype(str)
    indices, indptr = arrays["item_units_indices"], arrays["item_units_indptr"]
    if len(indptr) != n_items + 1:
        raise ValueError(f"{DATA_FILE}: unit lists for {len(indptr) - 1} assets, not {n_items}")
    return tuple(
        frozenset(names[indices[indptr[i] : indptr[i + 1]]].tolist()) for i in range(n_items)
    )


def load(directory: str | Path) -> LoadedAssets:
    """Read what :func:`save` wrote (``allow_pickle=False`` everywhere); ``ValueError`` if the
    files are inconsistent with each other."""
    directory = Path(directory)
    summary = json.loads((directory / SUMMARY_FILE).read_text(encoding="utf-8"))
    if int(summary.get("format", 0)) > FORMAT_VERSION:
        raise ValueError(f"{directory}: asset format {summary['format']} is newer than this code")
    model = Recommender.load(directory / MODEL_FILE)
    popular = Recommender.load(directory / POPULAR_FILE)
    with np.load(directory / DATA_FILE, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    id_map = IdMap.from_arrays(arrays)
    shape = tuple(int(n) for n in arrays["user_items_shape"])
    user_items = sp.csr_matrix(
        (arrays["user_items_data"], arrays["user_items_indices"], arrays["user_items_indptr"]),
        shape=shape,
    )
    if shape != (id_map.n_users, id_map.n_items) or model.n_items != id_map.n_items:
        raise ValueError(f"{directory}: the model, id map and interactions disagree on sizes")
    return LoadedAssets(
        model=model, popular=popular, id_map=id_map, user_items=user_items,
        item_types=np.asarray(arrays["item_types"]).astype(str),
        item_units=_read_units(arrays, id_map.n_items),
        unit_names=np.asarray(arrays["unit_names"]).astype(str), summary=summary,
    )

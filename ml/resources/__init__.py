"""Gated B2B content: "Suggested next" assets and the business-unit metrics marketing uses.

Pure library (no Flask, no database): the web app reads the export with
:mod:`ml.datasets.b2b` (or generates demo data with :mod:`ml.resources.synth`), runs
:func:`train_assets`, writes the result with :func:`save` into a model version directory, and
serves it with :func:`load` + :func:`suggest_next`.

Typical use::

    submissions = read_submissions("submissions.csv")
    mapping = read_bu_mapping("bu_mapping.csv")
    result = train_assets(submissions, mapping, AssetConfig(type_weights={"None": 0.5}))
    names = save(result, version_dir)
    suggest_next(load(version_dir), cookie, recent_assets=[(page, "Gated Ebook Forms", 1)])
"""

from ml.resources.config import ASSET_CANDIDATES, AssetCandidate, AssetConfig
from ml.resources.interactions import AssetData, hold_out_strongest, prepare_assets, scale_strength
from ml.resources.metrics import (
    COUNT_BUCKETS,
    average_intra_type_similarity,
    bu_hit_rate_at_k,
    by_count_bucket,
    by_unit,
    strongest_items,
    top_hit_rate_at_k,
    visitor_unit_hits,
)
from ml.resources.pipeline import train_assets
from ml.resources.recommender import UnitPopularityRecommender
from ml.resources.result import AssetCandidateResult, AssetResult, LoadedAssets, load, save
from ml.resources.serving import suggest_next
from ml.resources.weights import (
    CONVERSION_TYPES,
    DEFAULT_TYPE_WEIGHTS,
    interaction_strength,
    type_weights,
)

__all__ = [
    "ASSET_CANDIDATES",
    "AssetCandidate",
    "AssetCandidateResult",
    "AssetConfig",
    "AssetData",
    "AssetResult",
    "CONVERSION_TYPES",
    "COUNT_BUCKETS",
    "DEFAULT_TYPE_WEIGHTS",
    "LoadedAssets",
    "UnitPopularityRecommender",
    "average_intra_type_similarity",
    "bu_hit_rate_at_k",
    "by_count_bucket",
    "by_unit",
    "hold_out_strongest",
    "interaction_strength",
    "load",
    "prepare_assets",
    "save",
    "scale_strength",
    "strongest_items",
    "suggest_next",
    "top_hit_rate_at_k",
    "train_assets",
    "type_weights",
    "visitor_unit_hits",
]

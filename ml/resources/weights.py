"""How strongly one form submission of each gated-asset type signals interest.

A pricing request says far more about a B2B visitor's intent than downloading an infographic,
so an interaction's strength is ``type weight x form_submissions``. The defaults are the
marketing team's (DATA_FORMATS.md, section 3); teams tune them, so every function here takes
the weights as an argument and :func:`type_weights` builds a validated mapping from overrides.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd

from ml.datasets.b2b import ASSET_TYPE, SUBMISSIONS

#: Default weight of one submission per asset type, keyed by the type names of the export
#: (every name of :data:`ml.datasets.b2b.ASSET_TYPES`). Read-only: build a changed copy with
#: :func:`type_weights`.
DEFAULT_TYPE_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {
        "Gated Get Pricing": 3.0,
        "Gated DemoNow Forms": 2.5,
        "Gated Analyst Report Forms": 2.0,
        "Gated Ebook Forms": 2.0,
        "Gated Webinar Forms": 2.0,
        "Gated Case Study Forms": 2.0,
        "Gated Solution Brief Forms": 2.0,
        "Gated Whitepaper Forms": 2.0,
        "Gated Best Practice Form": 1.0,
        "Gated Infographics Forms": 1.0,
        "Unspecified": 1.0,
        "None": 1.0,
    }
)

#: Types whose submission is a sales conversion rather than content consumption.
CONVERSION_TYPES: tuple[str, ...] = ("Gated Get Pricing", "Gated DemoNow Forms")



def type_weights(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The default weights with ``overrides`` applied, validated.

    Raises ``ValueError`` naming every unknown type (a typo such as ``"Gated Pricing"`` must not
    silently leave the real type at its default) and every weight that is not a finite number
    >= 0.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(DEFAULT_TYPE_WEIGHTS))
    if unknown:
        raise ValueError(
            f"unknown asset type(s) in the weights: {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(DEFAULT_TYPE_WEIGHTS)})"
        )
    weights = {**DEFAULT_TYPE_WEIGHTS}
    for name, value in overrides.items():
        try:
            weight = float(value)
        except (TypeError, ValueError):
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"the weight of {name!r} must be a finite number >= 0, got {value!r}")
        weights[name] = weight
    return weights


def interaction_strength(
    submissions: pd.DataFrame, weights: Mapping[str, float] | None = None
) -> pd.Series:
    """``weight[gated_asset_type] x form_submissions`` per row (float64, aligned with the rows).

    ``weights`` defaults to :data:`DEFAULT_TYPE_WEIGHTS` and is validated like
    :func:`type_weights` overrides; rows of a type missing from it raise ``ValueError``.
    """
    weights = type_weights(weights)
    missing = [c for c in (ASSET_TYPE, SUBMISSIONS) if c not in submissions.columns]
    if missing:
        raise ValueError(f"submissions are missing the column(s): {', '.join(missing)}")
    types = submissions[ASSET_TYPE].astype(str)
    unweighted = sorted(set(pd.unique(types)) - set(weights))
    if unweighted:
        raise ValueError(f"no weight for asset type(s): {', '.join(map(repr, unweighted))}")
    counts = pd.to_numeric(submissions[SUBMISSIONS], errors="raise").to_numpy(np.float64)
    strength = types.map(weights).to_numpy(np.float64) * counts
    return pd.Series(strength, index=submissions.index, name="strength")

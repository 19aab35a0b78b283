"""Events DataFrame -> weighted users x items interaction matrix, and confidence scaling.

Every model in ``ml.models`` is fitted on the matrix built here, so the rules for turning raw
events into preference strength (per-type weights, summed repeats, optional time decay) are
defined once.
"""

from __future__ import annotations

from typing import Literal, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import (
    DEFAULT_EVENT_WEIGHTS,
    EVENT_COL,
    ITEM_COL,
    TIME_COL,
    USER_COL,
    WEIGHT_COL,
)
from ml.data.idmap import IdMap
from ml.data.timeutil import to_utc_series, to_utc_timestamp

_SECONDS_PER_DAY = 86_400.0


def event_weights(events: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Strength of each event: ``weight`` column (default 1) x weight of its event type.

    Events of a type missing from ``weights`` are rejected (all unknown types listed), because
    silently dropping or guessing them would change the model without anyone noticing.
    """
    negative = sorted(name for name, w in weights.items() if not w >= 0)
    if negative:
        raise ValueError(f"event weights must be >= 0; invalid for: {', '.join(negative)}")
    strength = np.ones(len(events), dtype=np.float64)
    if WEIGHT_COL in events.columns:
        strength = pd.to_numeric(events[WEIGHT_COL], errors="raise").to_numpy(np.float64)
        if not np.all(np.isfinite(strength)) or np.any(strength < 0):
            raise ValueError(f"column {WEIGHT_COL!r} must hold finite values >= 0")
    if EVENT_COL in events.columns:
        types = events[EVENT_COL].astype(str)
        unknown = sorted(set(pd.unique(types)) - set(weights))
        if unknown:
            raise ValueError(
                f"unknown event types: {', '.join(unknown)} "
                f"(known: {', '.join(sorted(weights))}); pass weights for them"
            )
        strength = strength * types.map(dict(weights)).to_numpy(np.float64)
    return strength


def decay_factors(
    times: pd.Series, half_life_days: float, reference_time: object = None
) -> np.ndarray:
    """``0.5 ** (age_days / half_life_days)``: an event one half-life old counts half.

    ``reference_time`` defaults to the latest event, so the newest event keeps its full weight.
    Events after the reference time are treated as age 0 (weight never exceeds 1).
    """
    if not half_life_days > 0:
        raise ValueError("time_decay_half_life_days must be > 0")
    stamps = to_utc_series(times)
    reference = stamps.max() if reference_time is None else to_utc_timestamp(reference_time)
    age_days = (reference - stamps).dt.total_seconds().to_numpy(np.float64) / _SECONDS_PER_DAY
    return np.power(0.5, np.clip(age_days, 0.0, None) / half_life_days)


def build_interactions(
    events: pd.DataFrame,
    weights: Mapping[str, float] | None = None,
    time_decay_half_life_days: float | None = None,
    reference_time: object = None,
    id_map: IdMap | None = None,
) -> tuple[sp.csr_matrix, IdMap]:
    """Build the users x items ``float32`` CSR matrix of summed, weighted events.

    ``events`` needs ``user_id`` and ``item_id``; ``weight``, ``event`` and ``timestamp`` are
    used when present (see :func:`event_weights` and :func:`decay_factors`). Repeats of a
    (user, item) pair are summed. With ``id_map`` given (e.g. the training map when building a
    test matrix) its indices are reused and events of unknown users or items are dropped;
    otherwise a new map of every id in ``events`` is built. Explicit zeros are removed, so a user
    seen only in zero-weight events has an empty row.
    """
    missing = [col for col in (USER_COL, ITEM_COL) if col not in events.columns]
    if missing:
        raise ValueError(f"events are missing the column(s): {', '.join(missing)}")
    strength = event_weights(events, DEFAULT_EVENT_WEIGHTS if weights is None else weights)
    if time_decay_half_life_days is not None:
        if TIME_COL not in events.columns:
            raise ValueError(f"time decay needs a {TIME_COL!r} column")
        strength = strength * decay_factors(
            events[TIME_COL], time_decay_half_life_days, reference_time
        )
    if id_map is None:
        id_map = IdMap.from_frame(events)
    rows = id_map.user_indices(events[USER_COL].astype(str))
    cols = id_map.item_indices(events[ITEM_COL].astype(str))
    known = (rows >= 0) & (cols >= 0)
    matrix = sp.coo_matrix(
        (strength[known], (rows[known], cols[known])),
        shape=(id_map.n_users, id_map.n_items),
        dtype=np.float64,
    ).tocsr()  # tocsr sums duplicate (user, item) entries
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix.astype(np.float32), id_map


def confidence(
    matrix: sp.spmatrix,
    scheme: Literal["linear", "log"] = "linear",
    alpha: float = 40.0,
    eps: float = 1.0,
    baseline: float = 1.0,
) -> sp.csr_matrix:
    """Hu, Koren & Volinsky (2008) confidence of the stored (observed) entries.

    - ``"linear"``: ``c = baseline + alpha * r``
    - ``"log"``:    ``c = baseline + alpha * log(1 + r / eps)`` (damps heavy repeat counts)

    Only stored nonzeros are transformed; unobserved pairs stay implicit zeros. That is what
    implicit's ALS expects: it treats every *missing* entry as preference 0 with confidence 1
    (the paper's ``1 + alpha * 0``), and takes each *stored* value as the full confidence of a
    positive. ``baseline=1.0`` therefore reproduces the paper exactly, while ``baseline=0.0``
    gives implicit's own convention (``alpha * r``, what ``AlternatingLeastSquares(alpha=...)``
    computes internally), which differs only by 1 on the positives and is negligible once
    ``alpha * r >> 1``.
    """
    if scheme not in ("linear", "log"):
        raise ValueError(f"unknown confidence scheme {scheme!r}; use 'linear' or 'log'")
    if not alpha > 0 or not eps > 0:
        raise ValueError("alpha and eps must be > 0")
    result = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    if scheme == "linear":
        result.data = baseline + alpha * result.data
    else:
        result.data = baseline + alpha * np.log1p(result.data / eps)
    return result.astype(np.float32)

"""Events DataFrame -> weighted users x items interaction matrix, and confidence scaling.

Every model in ``ml.models`` is fitted on the matrix built here, so the rules for turning raw
events into preference strength (per-type weights, summed repeats, optional time decay) are
defined once.

Negative feedback: an event type may have a negative weight (a cancelled order, a returned
item). Its strength is *subtracted* from the (user, item) pair's summed strength and the sum is
clipped at 0, so a purchase that was returned stops counting as a positive but never becomes a
"negative preference": every model here reads stored entries as positives with a confidence,
and a negative confidence has no meaning to ALS, item-kNN or EASE. A pair clipped to 0 is
dropped, exactly like a pair never seen.
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
#: A pair's summed strength at or below this share of the strength that went into it (sum of
#: absolute values) is no interaction: float noise of negative feedback cancelling positives.
NEGLIGIBLE = 1e-9


def event_weights(events: pd.DataFrame, weights: Mapping[str, float]) -> np.ndarray:
    """Strength of each event: ``weight`` column (default 1) x weight of its event type.

    Events of a type missing from ``weights`` are rejected (all unknown types listed), because
    silently dropping or guessing them would change the model without anyone noticing. A type's
    weight may be negative (negative feedback, see the module docstring); the ``weight`` column
    may not: it scales an event, it does not say which way it points.
    """
    invalid = sorted(name for name, w in weights.items() if not np.isfinite(w))
    if invalid:
        raise ValueError(f"event weights must be finite numbers; invalid for: {', '.join(invalid)}")
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
    (user, item) pair are summed, and a sum below 0 (negative feedback outweighing the positive
    events) is clipped to 0. With ``id_map`` given (e.g. the training map when building a
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
    shape = (id_map.n_users, id_map.n_items)
    rows, cols, strength = rows[known], cols[known], strength[known]
    matrix = _summed(rows, cols, strength, shape)
    if (strength < 0).any():
        clip_negative(matrix, _summed(rows, cols, np.abs(strength), shape))
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix.astype(np.float32), id_map


def _summed(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR of ``values`` at (rows, cols), repeats summed, indices sorted: two calls on the same
    coordinates give the same ``indptr``/``indices``, so their ``data`` line up entry by entry."""
    matrix = sp.coo_matrix((values, (rows, cols)), shape=shape, dtype=np.float64).tocsr()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def clip_negative(summed: sp.csr_matrix, magnitude: sp.csr_matrix) -> sp.csr_matrix:
    """Set to 0, in place, the pairs whose summed strength is below 0, or so close to 0 against
    the strength that went into them (``magnitude``: the same pairs' sums of absolute values)
    that it is float noise of a cancelled-out pair (a purchase of 0.1 + 0.2 returned with 0.3
    must not stay a positive of 5e-17). Pairs with only positive events are untouched (their
    sum equals their magnitude), however small a time decay made them."""
    summed.data[summed.data <= NEGLIGIBLE * magnitude.data] = 0.0
    return summed


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

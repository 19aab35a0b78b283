"""Business-unit metrics the marketing team judges asset suggestions by, as pure functions.

Vocabulary (all indices are matrix item indices, as in :mod:`ml.evaluation`):

- ``recommended``: one ranked list of suggested items per visitor, best first;
- ``profiles``: per visitor, the items whose business units define what counts as a hit: every
  item the visitor already consumed (**BU hit rate**), or only their strongest interaction(s)
  (**top hit rate**; ties for strongest all count, see :func:`strongest_items`);
- ``item_units``: per item, the set of its business units (empty = unknown unit).

Per visitor, the score is the number of distinct top-``k`` items having at least one unit in
common with the units of the profile, divided by ``k`` (lists are not padded, as precision in
:mod:`ml.evaluation`). Items of unknown unit never hit. Visitors whose profile has no known unit
are skipped (nobody could hit for them; counting 0 would rescale every model alike); with no
visitor left the result is 0.0. All rates are in [0, 1], averaged over visitors.
"""

from __future__ import annotations

from typing import AbstractSet, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

Ranked = Sequence[Sequence[int]]
Profiles = Sequence[AbstractSet[int] | Sequence[int]]
ItemUnits = Sequence[AbstractSet[str]]

#: Interaction-count buckets of the hit-rate breakdown: (label, lowest, highest or None).
COUNT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("2", 2, 2), ("3", 3, 3), ("4-5", 4, 5), ("6-9", 6, 9), ("10+", 10, None),
)


def _units_of(items: AbstractSet[int] | Sequence[int], item_units: ItemUnits) -> set[str]:
    return set().union(*(item_units[int(i)] for i in items)) if len(items) else set()


def visitor_unit_hits(
    recommended: Ranked, profiles: Profiles, item_units: ItemUnits, k: int
) -> np.ndarray:
    """Per visitor, the share of the top ``k`` whose units meet the profile's units.

    NaN for a visitor whose profile has no known unit (skipped by the averages). Range [0, 1].
    """
    if k <= 0:
        raise ValueError("k must be a positive integer")
    if len(recommended) != len(profiles):
        raise ValueError(
            f"recommended has {len(recommended)} visitors but profiles has {len(profiles)}"
        )
    scores = np.full(len(recommended), np.nan)
    for position, (row, profile) in enumerate(zip(recommended, profiles)):
        wanted = _units_of(profile, item_units)
        if not wanted:
            continue
        shown = list(dict.fromkeys(int(i) for i in list(row)[:k]))
        scores[position] = sum(1 for i in shown if item_units[i] & wanted) / k
    return scores


def _nan_mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else 0.0


def bu_hit_rate_at_k(
    recommended: Ranked, consumed: Profiles, item_units: ItemUnits, k: int
) -> float:
    """Mean share of the top ``k`` in a business unit of the assets each visitor consumed.

    Range [0, 1]: 1 when every suggestion is in one of the visitor's units.
    """
    return _nan_mean(visitor_unit_hits(recommended, consumed, item_units, k))


def top_hit_rate_at_k(
    recommended: Ranked, strongest: Profiles, item_units: ItemUnits, k: int
) -> float:
    """Same as :func:`bu_hit_rate_at_k` against the units of each visitor's strongest
    interaction(s) only (``strongest`` from :func:`strongest_items`). Range [0, 1]."""
    return _nan_mean(visitor_unit_hits(recommended, strongest, item_units, k))


def strongest_items(user_items: sp.spmatrix, rows: Sequence[int] | None = None) -> list[set[int]]:
    """Per row (default: every row), the items of maximal strength; ties all count.

    Empty set for an empty row.
    """
    matrix = sp.csr_matrix(user_items)
    rows = range(matrix.shape[0]) if rows is None else rows
    result = []
    for row in rows:
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        values, items = matrix.data[start:end], matrix.indices[start:end]
        positive = values > 0
        values, items = values[positive], items[positive]
        result.append(set(items[values == values.max()].tolist()) if values.size else set())
    return result


def by_unit(
    values: np.ndarray | Mapping[str, np.ndarray], members: Profiles, item_units: ItemUnits
) -> dict[str, dict[str, float]]:
    """Average per-visitor ``values`` within each business unit.

    A visitor belongs to every unit of their ``members`` items (their consumed assets), so one
    visitor may count in several units. ``values`` is a 1-d array (NaN = skipped) or a dict of
    such arrays (one per metric name). Returns ``{unit: {metric: mean, "n_visitors": count}}``,
    units sorted; a metric with no non-NaN value in a unit is 0.0.
    """
    named = dict(values) if isinstance(values, Mapping) else {"value": values}
    groups: dict[str, list[int]] = {}
    for position, items in enumerate(members):
        for unit in _units_of(items, item_units):
            groups.setdefault(unit, []).append(position)
    result: dict[str, dict[str, float]] = {}
    for unit in sorted(groups):
        index = np.asarray(groups[unit], dtype=np.int64)
        row = {
            name: _nan_mean(np.asarray(arr, dtype=np.float64)[index])
            for name, arr in named.items()
        }
        row["n_visitors"] = len(index)
        result[unit] = row
    return result


def bucket_label(count: int) -> str | None:
    """The :data:`COUNT_BUCKETS` label of an interaction count (None below 2)."""
    for label, low, high in COUNT_BUCKETS:
        if count >= low and (high is None or count <= high):
            return label
    return None


def by_count_bucket(
    values: Mapping[str, np.ndarray], counts: Sequence[int]
) -> list[dict[str, float | str]]:
    """Average per-visitor metrics within each interaction-count bucket (admin plot data).

    ``counts[v]`` is visitor ``v``'s number of distinct assets. Returns one row per bucket of
    :data:`COUNT_BUCKETS`, in order, with ``bucket``, ``n_visitors`` and the mean of each metric
    (0.0 for an empty bucket, whose ``n_visitors`` is 0).
    """
    labels = np.asarray([bucket_label(int(c)) or "" for c in counts], dtype=object)
    rows = []
    for label, _, _ in COUNT_BUCKETS:
        index = np.flatnonzero(labels == label)
        row: dict[str, float | str] = {"bucket": label, "n_visitors": int(index.size)}
        for name, arr in values.items():
            row[name] = _nan_mean(np.asarray(arr, dtype=np.float64)[index])
        rows.append(row)
    return rows


def average_intra_type_similarity(
    item_similarity: np.ndarray | sp.spmatrix, asset_types: Sequence[str]
) -> dict[str, float]:
    """Mean pairwise similarity of the items of each asset type.

    ``item_similarity`` is an items x items matrix (dense or sparse; a missing sparse entry is
    0) and ``asset_types[i]`` the type of item ``i``. For each type with at least two items, the
    mean of ``S[i, j]`` over ordered pairs ``i != j`` of that type (the diagonal never counts).
    The range is that of the similarity: [0, 1] for cosine on non-negative data. A high value
    means visitors treat the type as interchangeable (e.g. all pricing pages co-occur).
    """
    types = np.asarray(asset_types, dtype=object)
    n = len(types)
    if item_similarity.shape != (n, n):
        raise ValueError(f"item_similarity must be {n} x {n}, got {item_similarity.shape}")
    matrix = sp.csr_matrix(item_similarity, dtype=np.float64)
    result: dict[str, float] = {}
    for name in sorted(set(types.tolist())):
        members = np.flatnonzero(types == name)
        if members.size < 2:
            continue
        block = matrix[members][:, members]
        total = float(block.sum()) - float(block.diagonal().sum())
        result[str(name)] = total / (members.size * (members.size - 1))
    return result

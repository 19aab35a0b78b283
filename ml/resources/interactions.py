"""Submissions + business-unit mapping -> visitor x asset interactions and asset metadata.

The bridge between the export's frames (:mod:`ml.datasets.b2b`) and the engine's matrices:
strength is ``type weight x form_submissions`` summed per (visitor, asset); the asset
catalogue is every submitted page, with its type and its (possibly empty) set of business
units; pages missing from the mapping keep an unknown unit rather than being dropped, because
they are still real assets visitors asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import ITEM_COL, SEED, TIME_COL, USER_COL, WEIGHT_COL
from ml.data.idmap import IdMap
from ml.data.interactions import build_interactions
from ml.data.splits import random_split, time_split
from ml.datasets.b2b import ASSET_TYPE, COOKIE, PAGE, SUBMISSIONS, UNIT
from ml.resources.weights import interaction_strength

log = logging.getLogger(__name__)

Scale = Literal["log", "linear"]


@dataclass(frozen=True, eq=False)
class AssetData:
    """One row per (visitor, asset) with its summed strength, and the matrices built from it.

    ``matrix`` holds raw strengths (users x items of ``id_map``); ``item_types[i]`` and
    ``item_units[i]`` describe item ``i``; ``unit_names`` are every unit of the mapping, sorted.
    """

    events: pd.DataFrame
    id_map: IdMap
    matrix: sp.csr_matrix
    item_types: np.ndarray
    item_units: tuple[frozenset[str], ...]
    unit_names: np.ndarray

    @property
    def unit_matrix(self) -> sp.csr_matrix:
        """Binary items x units matrix (columns in ``unit_names`` order)."""
        return unit_matrix(self.item_units, self.unit_names)

    def counts(self) -> np.ndarray:
        """Distinct assets per visitor (row order of ``id_map``)."""
        return np.diff(self.matrix.indptr)


def unit_matrix(item_units: Sequence[frozenset[str]], unit_names: Sequence[str]) -> sp.csr_matrix:
    """Binary items x units CSR matrix: entry (i, u) is 1 when item ``i`` is in unit ``u``."""
    column = {str(name): position for position, name in enumerate(unit_names)}
    rows = [i for i, units in enumerate(item_units) for _ in units]
    cols = [column[u] for units in item_units for u in units]
    return sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(item_units), len(column))
    )


def scale_strength(matrix: sp.spmatrix, how: Scale) -> sp.csr_matrix:
    """The matrix the models are fitted on: ``log1p`` of the strengths, or the strengths as is.

    Export counts are long-tailed (one cookie may submit the same form hundreds of times, often
    automation): ``log1p`` keeps the order of strengths but stops one such row from dominating
    a visitor's profile. A monotone transform never changes which interaction is strongest.
    """
    if how not in ("log", "linear"):
        raise ValueError(f"strength scale must be 'log' or 'linear', got {how!r}")
    result = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if how == "log":
        result.data = np.log1p(result.data)
    return result


def _asset_types(submissions: pd.DataFrame) -> pd.Series:
    """Each page's type: the most frequent type of its rows (ties: the first name in order)."""
    counts = submissions.groupby([PAGE, ASSET_TYPE]).size().reset_index(name="n")
    counts = counts.sort_values([PAGE, "n", ASSET_TYPE], ascending=[True, False, True])
    conflicting = counts[PAGE].duplicated().sum()
    if conflicting:
        log.warning(
            "%d page(s) appear with several asset types; using the most frequent", conflicting
        )
    return counts.drop_duplicates(PAGE).set_index(PAGE)[ASSET_TYPE]


def prepare_assets(
    submissions: pd.DataFrame,
    bu_mapping: pd.DataFrame,
    type_weights: Mapping[str, float] | None = None,
) -> AssetData:
    """Aggregate the reader's frames into :class:`AssetData` (refuses empty submissions)."""
    missing = [c for c in (COOKIE, ASSET_TYPE, PAGE, SUBMISSIONS) if c not in submissions.columns]
    missing += [c for c in (UNIT, PAGE) if c not in bu_mapping.columns]
    if missing:
        raise ValueError(f"missing column(s): {', '.join(missing)}")
    if len(submissions) == 0:
        raise ValueError("there are no form submissions to learn from")
    strength = interaction_strength(submissions, type_weights)
    columns = {
        USER_COL: submissions[COOKIE].astype(str).to_numpy(),
        ITEM_COL: submissions[PAGE].astype(str).to_numpy(),
        WEIGHT_COL: strength.to_numpy(),
    }
    # the shop's submissions carry the time of the latest one per pair (the time split needs
    # it); an export has none
    timed = TIME_COL in submissions.columns
    if timed:
        columns[TIME_COL] = submissions[TIME_COL].to_numpy()
    grouped = pd.DataFrame(columns).groupby([USER_COL, ITEM_COL], as_index=False, sort=True)
    events = grouped.agg({WEIGHT_COL: "sum", TIME_COL: "max"}) if timed else grouped[WEIGHT_COL].sum()
    matrix, id_map = build_interactions(events)
    types = _asset_types(submissions).reindex(id_map.item_ids).to_numpy(dtype=str)
    mapping = bu_mapping.assign(**{UNIT: bu_mapping[UNIT].astype(str).str.strip()})
    units_by_page = mapping.groupby(PAGE)[UNIT].agg(frozenset)
    item_units = tuple(units_by_page.get(page, frozenset()) for page in id_map.item_ids)
    unit_names = np.asarray(sorted(set(mapping[UNIT])), dtype=str)
    unknown = sum(1 for units in item_units if not units)
    log.info(
        "%d visitors x %d assets, %d interactions; %d asset(s) without a business unit",
        id_map.n_users, id_map.n_items, matrix.nnz, unknown,
    )
    return AssetData(events, id_map, matrix, types, item_units, unit_names)


def split_assets(events: pd.DataFrame, split: str, seed: int = SEED,
                 test_fraction: float = 0.2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and test rows of :attr:`AssetData.events` under one of
    :data:`~ml.resources.config.SPLITS` (see :class:`~ml.resources.config.AssetConfig`).

    ``ValueError`` when a time split is asked of submissions without usable times (an imported
    export has none, and all imported events share the import's time)."""
    if split == "leave-one-out":
        return hold_out_strongest(events, seed)
    if split == "random":
        return random_split(events, test_fraction, seed)
    if split != "time":
        raise ValueError(f"unknown split {split!r}")
    if TIME_COL not in events.columns or events[TIME_COL].nunique() < 2:
        raise ValueError("the submissions carry no usable times (an imported export has none): "
                         "use the leave-one-out or random split")
    train, test = time_split(events, test_fraction)
    if train.empty or test.empty:
        raise ValueError("the time split leaves nothing to train on or to test: too few distinct times")
    return train.reset_index(drop=True), test.reset_index(drop=True)


def hold_out_strongest(
    events: pd.DataFrame, seed: int = SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Leave one out: hide each visitor's strongest asset (visitors with >= 2 assets).

    Why the strongest and not the latest: the export has no timestamps, so "latest" does not
    exist for imported data, and the strongest interaction (pricing and demo requests weigh
    most) is the high-intent asset marketing most wants to predict. Ties for strongest are
    broken by a draw with ``seed``, so page-hash order cannot bias the choice. ``events`` has
    one row per (visitor, asset), as in :attr:`AssetData.events`.
    """
    frame = events.sort_values([USER_COL, ITEM_COL], ignore_index=True)
    n_assets = frame.groupby(USER_COL)[ITEM_COL].transform("size").to_numpy()
    draw = np.random.default_rng(seed).random(len(frame))
    order = frame.assign(_draw=draw, _n=n_assets).sort_values(
        [USER_COL, WEIGHT_COL, "_draw"], ascending=[True, False, True]
    )
    hidden = order.loc[order["_n"] >= 2].drop_duplicates(USER_COL, keep="first").index
    is_test = frame.index.isin(hidden)
    return frame.loc[~is_test].reset_index(drop=True), frame.loc[is_test].reset_index(drop=True)

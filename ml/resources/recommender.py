"""Popularity within the visitor's business units: the B2B-aware baseline.

B2B asset data is small and sparse; most visitors submit one or two forms, so collaborative
models have little to go on and global popularity is a hard baseline. Marketing also judges
suggestions by whether they stay in the visitor's business units. This model does exactly
that with no learning at all: the assets of the units the visitor already touched come first,
most popular first; then (``fill=True``) the rest of the catalogue by popularity, so a
visitor whose units are exhausted or unknown still gets a full list.

It implements :class:`~ml.models.base.Recommender` like every engine model, so the asset
pipeline compares, saves and serves it the same way. It needs the asset -> units mapping,
which is part of its fitted state and saved in its ``.npz``.
"""

from __future__ import annotations

from typing import Mapping, Self, Sequence

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, top_n


class ItemUnits:
    """The items x business units matrix a unit-aware model keeps as part of its fitted state:
    set before ``fit``, checked against the interactions, saved and read with the model's arrays."""

    item_units: sp.csr_matrix
    unit_names: np.ndarray

    def _no_units(self) -> None:
        self.item_units = sp.csr_matrix((0, 0), dtype=np.float32)
        self.unit_names = np.empty(0, dtype="<U1")

    def set_item_units(self, item_units: sp.spmatrix, unit_names: Sequence[str]) -> Self:
        """The binary items x units matrix (see :func:`ml.resources.interactions.unit_matrix`)."""
        matrix = sp.csr_matrix(item_units, dtype=np.float32)
        if matrix.shape[1] != len(unit_names):
            raise ValueError(f"{matrix.shape[1]} unit columns but {len(unit_names)} unit names")
        matrix.data[:] = 1.0
        self.item_units = matrix
        self.unit_names = np.asarray(list(unit_names), dtype=str).reshape(-1)
        return self

    def _check_units(self, n_items: int) -> None:
        if self.item_units.shape[0] != n_items:
            raise ValueError(
                f"the item-units matrix has {self.item_units.shape[0]} items but the "
                f"interactions have {n_items}: call set_item_units() first"
            )

    def _unit_arrays(self) -> dict[str, np.ndarray]:
        units = self.item_units
        return {"item_units_indices": units.indices.astype(np.int32),
                "item_units_indptr": units.indptr.astype(np.int64), "unit_names": self.unit_names}

    def _read_unit_arrays(self, arrays: Mapping[str, np.ndarray], n_items: int) -> None:
        names = np.asarray(arrays["unit_names"])
        indices = np.asarray(arrays["item_units_indices"])
        self.item_units = sp.csr_matrix(
            (np.ones(len(indices), np.float32), indices, np.asarray(arrays["item_units_indptr"])),
            shape=(n_items, len(names)),
        )
        self.unit_names = names.astype(str) if names.size else np.empty(0, dtype="<U1")


class UnitPopularityRecommender(ItemUnits, Recommender):
    """Global popularity (distinct visitors per asset), restricted to the visitor's units first.

    Call :meth:`set_item_units` before :meth:`fit`. Scores: popularity plus an offset larger
    than any popularity for assets sharing a unit with the visitor's row, so they always rank
    first; assets nobody submitted are never suggested (``-inf``).
    """

    name = "unit_popularity"

    def __init__(self, fill: bool = True) -> None:
        super().__init__(fill=bool(fill))
        self.item_scores = np.empty(0, dtype=np.float32)
        self._no_units()

    @property
    def n_items(self) -> int:
        return len(self.item_scores)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        matrix = sp.csc_matrix(user_items, dtype=np.float64)
        matrix.eliminate_zeros()
        self._check_units(matrix.shape[1])
        self.item_scores = np.diff(matrix.indptr).astype(np.float32)
        return self

    def _unit_scores(self, in_units: np.ndarray) -> np.ndarray:
        """Popularity, lifted above everything else where ``in_units`` (users x items)."""
        popularity = self.item_scores.astype(np.float64)
        scores = np.where(in_units, popularity + popularity.max() + 1.0, popularity)
        if not self.params["fill"]:
            scores[~in_units] = -np.inf
        scores[:, popularity <= 0] = -np.inf
        return scores

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        rows = sp.csr_matrix(user_items, dtype=np.float32)
        rows.eliminate_zeros()
        rows.data[:] = 1.0
        user_units = rows @ self.item_units  # users x units: > 0 where touched
        in_units = (user_units @ self.item_units.T).toarray() > 0
        return self._unit_scores(in_units)

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The most popular other assets of ``itemid``'s units (then the rest, if ``fill``)."""
        itemid = self._check_item(itemid)
        row = sp.csr_matrix(([1.0], ([0], [itemid])), shape=(1, self.n_items))
        scores = self._score(0, row, False)
        scores[itemid] = -np.inf
        return top_n(scores, N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores, **self._unit_arrays()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.item_scores = np.asarray(arrays["item_scores"], dtype=np.float32)
        self._read_unit_arrays(arrays, len(self.item_scores))

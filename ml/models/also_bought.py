"""Association rules between items: "customers who bought this also bought".

Fitted on a baskets matrix (orders x items, or sessions x items for add-to-carts), not on users:
two items bought in the same order say more than two items one user bought a year apart. The
association measure is lift, ``P(i and j) / (P(i) P(j)) = co(i, j) * n / (supp(i) supp(j))``: how
much more often the pair is bought together than if the items were independent. A users x items
matrix also works (each user is then one big basket).
"""

from __future__ import annotations

from typing import Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, top_n
from ml.models.item_knn import sparse_scores


def keep_top_per_row(matrix: sp.coo_matrix, n: int) -> sp.csr_matrix:
    """Keep the ``n`` largest entries of each row (ties: smaller column first)."""
    order = np.lexsort((matrix.col, -matrix.data, matrix.row))
    rows, cols, data = matrix.row[order], matrix.col[order], matrix.data[order]
    starts = np.searchsorted(rows, rows, side="left")
    keep = np.arange(len(rows)) - starts < n
    return sp.csr_matrix((data[keep], (rows[keep], cols[keep])), shape=matrix.shape)


class AlsoBoughtRecommender(Recommender):
    """Item-to-item lift from co-occurrence in baskets.

    A pair counts only if it occurs in at least ``min_support`` baskets (rare coincidences
    otherwise get huge lifts) and its lift exceeds ``min_lift`` (1.0 = no better than chance).
    Each item keeps its ``max_neighbours`` best partners. :meth:`similar_items` ranks by lift;
    ``recommend`` sums the lifts from every item in the user's row, so items associated with
    several of them come first.
    """

    name = "also_bought"

    def __init__(
        self, min_support: int = 2, min_lift: float = 1.0, max_neighbours: int = 50
    ) -> None:
        if min_support < 1 or max_neighbours < 1:
            raise ValueError("min_support and max_neighbours must be >= 1")
        super().__init__(
            min_support=int(min_support),
            min_lift=float(min_lift),
            max_neighbours=int(max_neighbours),
        )
        self.lift = sp.csr_matrix((0, 0), dtype=np.float32)

    @property
    def n_items(self) -> int:
        return self.lift.shape[0]

    @staticmethod
    def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
        result = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
        result.eliminate_zeros()
        result.data[:] = 1.0
        return result

    def fit(self, user_items: sp.csr_matrix) -> Self:
        """``user_items`` is a baskets x items matrix (any positive value = item in basket)."""
        baskets = self._binary(user_items)
        n_baskets = max(baskets.shape[0], 1)
        support = np.diff(sp.csc_matrix(baskets).indptr).astype(np.float64)
        co = (baskets.T @ baskets).tocoo()
        keep = (co.row != co.col) & (co.data >= self.params["min_support"])
        rows, cols, counts = co.row[keep], co.col[keep], co.data[keep]
        lift = counts * n_baskets / (support[rows] * support[cols])
        strong = lift > self.params["min_lift"]
        pairs = sp.coo_matrix(
            (lift[strong], (rows[strong], cols[strong])), shape=(baskets.shape[1],) * 2
        )
        self._set_lift(keep_top_per_row(pairs, self.params["max_neighbours"]))
        return self

    def _set_lift(self, lift: sp.csr_matrix) -> None:
        lift = sp.csr_matrix(lift, dtype=np.float32)
        lift.eliminate_zeros()
        lift.sort_indices()
        self.lift = lift

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        return sparse_scores(self._binary(user_items) @ self.lift)

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemid = self._check_item(itemid)
        return top_n(sparse_scores(self.lift[itemid])[0], N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        m = self.lift
        return {
            "lift_data": m.data,
            "lift_indices": m.indices,
            "lift_indptr": m.indptr,
            "lift_shape": np.asarray(m.shape, dtype=np.int64),
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._set_lift(
            sp.csr_matrix(
                (arrays["lift_data"], arrays["lift_indices"], arrays["lift_indptr"]),
                shape=tuple(int(n) for n in arrays["lift_shape"]),
            )
        )

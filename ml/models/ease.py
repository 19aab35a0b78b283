"""EASE^R (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data").

A linear item-item model with a closed-form solution: with ``P = (X^T X + lambda I)^-1``,
``B = I - P / diag(P)`` (each column divided by its diagonal entry), which has a zero diagonal,
so an item never predicts itself. Scores are ``x_u @ B``. It is often the strongest simple
baseline, but ``B`` is dense (n_items^2 floats) and inverting ``X^T X`` is cubic, so the model
refuses catalogues larger than ``max_items``.
"""

from __future__ import annotations

from typing import Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, top_n


class EASERecommender(Recommender):
    """Closed-form item-item regression; ``regularization`` is Steck's lambda.

    ``binary=True`` fits and scores on 0/1 interactions (as in the paper), so a page viewed
    many times does not dominate the item-item Gram matrix.
    """

    name = "ease"

    def __init__(
        self, regularization: float = 500.0, binary: bool = True, max_items: int = 20_000
    ) -> None:
        if not regularization > 0:
            raise ValueError("regularization must be > 0")
        super().__init__(
            regularization=float(regularization), binary=bool(binary), max_items=int(max_items)
        )
        self.weights = np.empty((0, 0), dtype=np.float32)

    @property
    def n_items(self) -> int:
        return self.weights.shape[0]

    def _prepare(self, user_items: sp.spmatrix) -> sp.csr_matrix:
        matrix = sp.csr_matrix(user_items, dtype=np.float64, copy=True)
        matrix.eliminate_zeros()
        if self.params["binary"]:
            matrix.data[:] = 1.0
        return matrix

    def fit(self, user_items: sp.csr_matrix) -> Self:
        n_items = user_items.shape[1]
        if n_items > self.params["max_items"]:
            raise ValueError(
                f"EASE needs a dense {n_items} x {n_items} matrix; the catalogue exceeds the "
                f"budget of max_items={self.params['max_items']} items (raise it or use item_knn)"
            )
        x = self._prepare(user_items)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices(n_items)] += self.params["regularization"]
        inverse = np.linalg.inv(gram)
        weights = -inverse / np.diag(inverse)[np.newaxis, :]
        weights[np.diag_indices(n_items)] = 0.0
        self.weights = weights.astype(np.float32)
        return self

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        x = self._prepare(user_items)
        scores = np.asarray(x @ self.weights, dtype=np.float64)
        scores[np.diff(x.indptr) == 0] = -np.inf  # no history, no prediction
        return scores

    def _score_arrays(self, userid, columns, values, recalculate_user):
        values = np.asarray(values, dtype=np.float64)
        kept = values != 0
        if not kept.any():
            return np.full(self.n_items, -np.inf)
        values = np.ones(int(kept.sum())) if self.params["binary"] else values[kept]
        # x @ B for a one-row x: the weighted sum of the user's items' rows of B
        return values @ self.weights[np.asarray(columns)[kept]].astype(np.float64)

    def contributions(self, columns, values, items):
        # a score is x @ B: item j of the row adds x_j * B[j, i] to item i
        values = np.asarray(values, dtype=np.float64)
        if self.params["binary"]:
            values = (values != 0).astype(np.float64)
        weights = self.weights[np.asarray(columns, dtype=np.int64)][:, np.asarray(items, dtype=np.int64)]
        return (weights.astype(np.float64) * values[:, None]).T

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items that ``itemid`` predicts most strongly (row ``itemid`` of ``B``)."""
        itemid = self._check_item(itemid)
        scores = self.weights[itemid].astype(np.float64)
        scores[itemid] = -np.inf
        return top_n(scores, N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.weights = np.asarray(arrays["weights"], dtype=np.float32)

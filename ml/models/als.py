"""Implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) trained with implicit.

Training delegates to implicit's CPU ``AlternatingLeastSquares`` (conjugate-gradient solver);
serving and fold-in are numpy (see :mod:`ml.models.factorization`). With ``alpha`` the stored
value ``r`` becomes the confidence ``alpha * r`` (implicit's convention; unobserved pairs have
confidence 1), so fit on raw interaction strengths, or on ``ml.data.confidence(...)`` output
with ``alpha=1``.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import scipy.sparse as sp

from ml.constants import SEED
from ml.models.factorization import FactorizationRecommender, fold_in_user, fold_in_user_low_rank

# The low-rank fold-in pays while the user has at most this many items per factor (r <= k / 4).
LOW_RANK_ITEMS_PER_FACTOR = 0.25


class ALSRecommender(FactorizationRecommender):
    """Weighted ALS: factors minimising confidence-weighted squared error of 0/1 preferences.

    Fold-in (``recalculate_user=True`` or an unseen ``userid``) is the exact least-squares solve
    ALS itself performs for a user, with the same ``alpha`` and ``regularization``, so a
    folded-in user is scored as if one more ALS user step had been run for them.
    """

    name = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        iterations: int = 15,
        use_cg: bool = True,
        random_state: int = SEED,
        num_threads: int = 0,
    ) -> None:
        super().__init__(
            factors=int(factors),
            regularization=float(regularization),
            alpha=float(alpha),
            iterations=int(iterations),
            use_cg=bool(use_cg),
            random_state=int(random_state),
            num_threads=int(num_threads),
        )
        self._gram: np.ndarray | None = None  # Y^T Y, cached for fold-in
        self._base_inverse: np.ndarray | None = None  # (Y^T Y + reg I)^-1, for the low-rank fold-in

    def _fitted_changed(self) -> None:
        self._gram = None

    def fold_in(self, user_row: sp.csr_matrix) -> np.ndarray:
        row = sp.csr_matrix(user_row)
        return self.fold_in_arrays(row.indices, row.data)

    def _ensure_gram(self) -> None:
        if self._gram is None:
            factors = self.item_factors.astype(np.float64)
            self._gram = factors.T @ factors
            regularized = self._gram + self.params["regularization"] * np.eye(factors.shape[1])
            self._base_inverse = np.linalg.inv(regularized)

    def fold_in_arrays(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The exact solve from the row's arrays: the cached Gram matrix plus a k x k system
        built from the user's own items (no sparse matrix, no pass over the catalogue)."""
        kept = values != 0
        if not kept.any():
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        self._ensure_gram()
        # implicit's confidence of an observed pair is alpha * r (unobserved pairs: 1)
        confidences = self.params["alpha"] * np.asarray(values[kept], dtype=np.float64)
        indices = np.asarray(columns)[kept]
        if len(indices) <= LOW_RANK_ITEMS_PER_FACTOR * self.item_factors.shape[1]:
            solved = fold_in_user_low_rank(self.item_factors, self._base_inverse, indices, confidences)
        else:
            solved = fold_in_user(self.item_factors, self._gram, indices, confidences, self.params["regularization"])
        return solved.astype(np.float32)

    def contributions(self, columns, values, items):
        """Exact for the folded-in user (as implicit's ``explain``): with confidences c_j = alpha
        x r_j, u = A^-1 sum_j c_j y_j where A = Y^T Y + reg I + sum_j (c_j - 1) y_j y_j^T, so
        item j adds c_j * y_i^T A^-1 y_j to item i's score.

        Only the rows it reads are converted (copying the whole factor matrix to float64 cost
        as much as the catalogue is large, on every page that explains), and A^-1 Y_m^T comes
        from the cached B^-1 = (Y^T Y + reg I)^-1 by the push-through identity
        A^-1 Y_m^T = B^-1 Y_m^T (I + D Y_m B^-1 Y_m^T)^-1, D = diag(c - 1): an m x m solve for
        the visitor's m items instead of a k x k one."""
        columns = np.asarray(columns, dtype=np.int64)
        confidences = self.params["alpha"] * np.asarray(values, dtype=np.float64)
        self._ensure_gram()
        mine = self.item_factors[columns].astype(np.float64)  # m x k
        spread = self._base_inverse @ mine.T  # B^-1 Y_m^T, k x m (B is symmetric)
        inner = np.eye(len(columns)) + (confidences - 1.0)[:, None] * (mine @ spread)
        solved = np.linalg.solve(inner.T, spread.T).T  # k x m: A^-1 y_j per visitor item
        targets = self.item_factors[np.asarray(items, dtype=np.int64)].astype(np.float64)
        return (targets @ solved) * confidences[None, :]

    def fit(self, user_items: sp.csr_matrix) -> Self:
        from implicit.cpu.als import AlternatingLeastSquares

        p = self.params
        model = AlternatingLeastSquares(
            factors=p["factors"],
            regularization=p["regularization"],
            alpha=p["alpha"],
            dtype=np.float32,
            use_cg=p["use_cg"],
            iterations=p["iterations"],
            num_threads=p["num_threads"],
            random_state=p["random_state"],
        )
        model.fit(sp.csr_matrix(user_items, dtype=np.float32), show_progress=False)
        self._set_factors(model.user_factors, model.item_factors)
        return self

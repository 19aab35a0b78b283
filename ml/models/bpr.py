"""Bayesian Personalised Ranking (Rendle et al. 2009) trained with implicit's CPU model.

implicit's BPR appends a bias column to the factors: ``item_factors[:, -1]`` is the item bias
and ``user_factors[:, -1]`` is always 1, so a score is ``u . v_i + b_i``. Both arrays are saved
as they are and scored with one dot product.
"""

from __future__ import annotations

import logging
from typing import Self

import numpy as np
import scipy.sparse as sp

from ml.constants import SEED
from ml.models.factorization import FactorizationRecommender

log = logging.getLogger(__name__)

#: Fold-in compares each liked item with at most this many (liked, negative) pairs in all.
MAX_FOLD_IN_PAIRS = 100_000
_NEWTON_STEPS = 20


def bpr_fold_in(
    item_factors: np.ndarray,
    liked: np.ndarray,
    regularization: float,
    max_pairs: int = MAX_FOLD_IN_PAIRS,
    seed: int = SEED,
) -> np.ndarray:
    """One user's BPR factors with the items fixed: maximise over ``u``

        mean over pairs (i liked, j not) of log sigmoid(u.(v_i - v_j) + b_i - b_j)
        - regularization / 2 * |u|^2

    the same per-pair objective implicit's SGD optimises. With the items fixed it is an
    L2-regularised logistic regression on item differences: concave, so a few Newton steps
    reach the optimum. Negatives are all other items, or a seeded sample of them when
    ``len(liked) * n_negatives`` would exceed ``max_pairs`` (deterministic for a given row).
    """
    factors = item_factors[:, :-1].astype(np.float64)
    bias = item_factors[:, -1].astype(np.float64)
    others = np.ones(len(factors), dtype=bool)
    others[liked] = False
    pool = np.flatnonzero(others)
    n_negatives = min(len(pool), max(1, max_pairs // len(liked)))
    if n_negatives < len(pool):
        pool = np.sort(np.random.default_rng(seed).choice(pool, n_negatives, replace=False))
    diff = (factors[liked][:, None, :] - factors[pool][None, :, :]).reshape(-1, factors.shape[1])
    offset = (bias[liked][:, None] - bias[pool][None, :]).ravel()
    user = np.zeros(factors.shape[1])
    ridge = regularization * np.eye(factors.shape[1])
    for _ in range(_NEWTON_STEPS):
        lose = 1.0 / (1.0 + np.exp(diff @ user + offset))  # sigmoid(-x): pull of each pair
        gradient = diff.T @ lose / len(offset) - regularization * user
        hessian = (diff.T * (lose * (1.0 - lose))) @ diff / len(offset) + ridge
        step = np.linalg.solve(hessian, gradient)
        user += step
        if np.max(np.abs(step)) < 1e-6:
            break
    return np.append(user, 1.0)


class BPRRecommender(FactorizationRecommender):
    """Pairwise ranking factorisation: liked items should outscore sampled unliked ones.

    The interaction strengths only decide which pairs are positive (BPR ignores their size).
    Training with ``num_threads != 1`` is lock-free parallel SGD and so not bit-reproducible.
    ``max_updates`` budgets the SGD: an iteration samples one pair per interaction, so at most
    ``max_updates // interactions`` iterations run (at least one). The demo shop (~100k
    interactions) runs all 100; the Retailrocket log (2.2M) runs 22, one thread: 146 s -> ~35 s.
    Fold-in (``recalculate_user=True`` or an unseen ``userid``) solves BPR's objective for the
    one user with numpy (:func:`bpr_fold_in`).
    """

    name = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        verify_negative_samples: bool = True,
        random_state: int = SEED,
        num_threads: int = 0,
        max_updates: int = 50_000_000,
    ) -> None:
        super().__init__(
            factors=int(factors),
            learning_rate=float(learning_rate),
            regularization=float(regularization),
            iterations=int(iterations),
            verify_negative_samples=bool(verify_negative_samples),
            random_state=int(random_state),
            num_threads=int(num_threads),
            max_updates=int(max_updates),
        )

    def fold_in(self, user_row: sp.csr_matrix) -> np.ndarray:
        row = sp.csr_matrix(user_row)
        row.eliminate_zeros()
        if row.nnz == 0 or row.nnz == self.n_items:
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        liked = np.unique(row.indices)
        user = bpr_fold_in(self.item_factors, liked, self.params["regularization"])
        return user.astype(np.float32)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        p = self.params
        matrix = sp.csr_matrix(user_items, dtype=np.float32)
        matrix.sort_indices()
        iterations = min(p["iterations"], max(1, p["max_updates"] // max(matrix.nnz, 1)))
        if iterations < p["iterations"]:
            log.info("bpr: %d of %d iterations (max_updates %d over %d interactions)",
                     iterations, p["iterations"], p["max_updates"], matrix.nnz)
        model = BayesianPersonalizedRanking(
            factors=p["factors"],
            learning_rate=p["learning_rate"],
            regularization=p["regularization"],
            dtype=np.float32,
            iterations=iterations,
            num_threads=p["num_threads"],
            verify_negative_samples=p["verify_negative_samples"],
            random_state=p["random_state"],
        )
        model.fit(matrix, show_progress=False)
        self._set_factors(model.user_factors, model.item_factors)
        return self

"""Fixtures for the ``ml`` tests: small deterministic interaction matrices.

OPENBLAS_NUM_THREADS must be set before numpy loads OpenBLAS, hence at the very top: implicit
warns (and slows down badly) when BLAS runs its own thread pool.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402


@dataclass(frozen=True)
class Planted:
    """A users x items matrix where each user group mostly likes its own block of items."""

    matrix: sp.csr_matrix
    train: sp.csr_matrix
    test: sp.csr_matrix
    user_group: np.ndarray
    item_group: np.ndarray


def planted_matrix(
    n_groups: int = 4,
    users_per_group: int = 50,
    items_per_group: int = 25,
    p_in: float = 0.3,
    p_out: float = 0.02,
    seed: int = 42,
) -> Planted:
    """Block structure plus a global popularity slope (low item ids are more popular), so the
    popularity baseline is meaningful but blind to the groups. 25% of each matrix's stored
    entries, drawn with ``seed``, are held out as the test matrix."""
    rng = np.random.default_rng(seed)
    user_group = np.repeat(np.arange(n_groups), users_per_group)
    item_group = np.repeat(np.arange(n_groups), items_per_group)
    slope = np.linspace(1.5, 0.5, n_groups * items_per_group)
    prob = np.where(user_group[:, None] == item_group[None, :], p_in, p_out) * slope[None, :]
    dense = (rng.random(prob.shape) < prob).astype(np.float32)
    matrix = sp.csr_matrix(dense)
    coo = matrix.tocoo()
    held_out = rng.random(coo.nnz) < 0.25

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (coo.data[mask], (coo.row[mask], coo.col[mask])), shape=matrix.shape
        )

    return Planted(matrix, part(~held_out), part(held_out), user_group, item_group)


@pytest.fixture(scope="session")
def planted() -> Planted:
    return planted_matrix()


@pytest.fixture(scope="session")
def small_matrix() -> sp.csr_matrix:
    """42 users x 30 items with counts 1-5: small enough for every model to fit in milliseconds."""
    matrix = planted_matrix(
        n_groups=3, users_per_group=14, items_per_group=10, p_in=0.5, p_out=0.05, seed=7
    ).matrix.copy()
    matrix.data = np.random.default_rng(7).integers(1, 6, matrix.nnz).astype(np.float32)
    return matrix

"""The baselines every session model is compared with, behind the session interface.

- :class:`SessionPopularity` (``session_popularity``): how often each item was clicked in the
  training sessions; the same list for every session.
- :class:`LastItemKNN` (``last_item_knn``): item-to-item cosine similarity over session
  co-occurrence (two items are alike when the same sessions hold them), scored from the
  session's *last* item only: order-blind beyond that one item. The issue's acceptance bar
  (session models beat it by >= 10% MRR@20 on planted sequences) is measured against it.
- :class:`FoldInSessionAdapter` (``champion_fold_in``): one of the shop's
  :class:`ml.models.Recommender` (ALS by default, any name of ``ml.models.MODEL_CLASSES``)
  fitted on the sessions x items 0/1 matrix, scoring a session by folding its items in as a new
  user (``recalculate_user=True``): how the shop serves anonymous visitors today. Saved
  pickle-free: the wrapped model's arrays under an ``inner_`` prefix, its name and parameters in
  the adapter's; the training sessions' own user factors are not kept (a session is always
  folded in), so the file holds what scoring needs.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from ml.constants import SEED
from ml.sessions.base import SessionRecommender
from ml.sessions.data import SessionData

_INNER = "inner_"


class SessionPopularity(SessionRecommender):
    """Training click counts of every item; the session itself is ignored."""

    name = "session_popularity"

    def __init__(self) -> None:
        super().__init__()
        self.counts = np.empty(0, dtype=np.float64)

    def _fit(self, data: SessionData) -> None:
        self.counts = np.bincount(data.items, minlength=data.n_items).astype(np.float64)

    def score(self, session_items: np.ndarray) -> np.ndarray:
        self._check_fitted()
        scores = self.counts.copy()
        scores[scores <= 0] = -np.inf
        return scores

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.counts = np.asarray(arrays["counts"], dtype=np.float64)


def cosine_cooccurrence(matrix: sp.csr_matrix, neighbours: int | None = None) -> sp.csr_matrix:
    """Items x items cosine of the columns of a 0/1 sessions x items matrix: ``c_ij /
    sqrt(n_i n_j)`` with ``c_ij`` the sessions holding both and ``n_i`` those holding ``i``; no
    diagonal; with ``neighbours``, each row keeps its largest entries only (ties by item index)."""
    binary = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    binary.data[:] = 1.0
    co = (binary.T @ binary).tocsr()
    co.setdiag(0.0)
    co.eliminate_zeros()
    support = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
    support[support == 0] = 1.0
    norm = sp.diags(1.0 / support)
    sims = (norm @ co @ norm).tocsr()
    if neighbours is not None and neighbours > 0:
        sims = _keep_top(sims, neighbours)
    sims.sort_indices()
    return sims


def _keep_top(sims: sp.csr_matrix, n: int) -> sp.csr_matrix:
    rows, cols, vals = [], [], []
    for i in range(sims.shape[0]):
        start, end = sims.indptr[i], sims.indptr[i + 1]
        idx, val = sims.indices[start:end], sims.data[start:end]
        if len(idx) > n:
            order = np.lexsort((idx, -val))[:n]
            idx, val = idx[order], val[order]
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(val)
    return sp.csr_matrix((np.concatenate(vals or [np.empty(0)]),
                          (np.concatenate(rows or [np.empty(0, int)]), np.concatenate(cols or [np.empty(0, int)]))),
                         shape=sims.shape)


class LastItemKNN(SessionRecommender):
    """Cosine similarity of every item to the session's last item (session co-occurrence).
    ``neighbours`` keeps each item's most similar items only (None: all). Items that never
    shared a session with the last item, and the last item itself, have no evidence (``-inf``)."""

    name = "last_item_knn"

    def __init__(self, neighbours: int | None = None) -> None:
        super().__init__(neighbours=None if neighbours is None else int(neighbours))
        self.similarity = sp.csr_matrix((0, 0))

    def _fit(self, data: SessionData) -> None:
        self.similarity = cosine_cooccurrence(data.session_item_matrix(), self.params["neighbours"])

    def score(self, session_items: np.ndarray) -> np.ndarray:
        self._check_fitted()
        scores = np.full(self.n_items, -np.inf)
        items = np.asarray(session_items, dtype=np.int64).ravel()
        if len(items):
            last = items[-1]
            start, end = self.similarity.indptr[last], self.similarity.indptr[last + 1]
            scores[self.similarity.indices[start:end]] = self.similarity.data[start:end]
        return scores

    def _get_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {"sim_data": s.data, "sim_indices": s.indices, "sim_indptr": s.indptr}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        n = len(self.item_ids)
        self.similarity = sp.csr_matrix((arrays["sim_data"], arrays["sim_indices"], arrays["sim_indptr"]),
                                        shape=(n, n))


class FoldInSessionAdapter(SessionRecommender):
    """A shop recommender (``model``, with ``model_params``) fitted on the sessions x items
    matrix; a session is scored as a new user folded in from its distinct items (weight 1 each,
    order ignored). ``random_state`` is passed to the wrapped model when it takes one and
    ``model_params`` does not set it."""

    name = "champion_fold_in"

    def __init__(self, model: str = "als", model_params: Mapping[str, Any] | None = None,
                 random_state: int = SEED) -> None:
        super().__init__(model=str(model), model_params=dict(model_params or {}), random_state=int(random_state))
        self.inner = None

    def _new_inner(self):
        import inspect

        from ml.models import MODEL_CLASSES

        cls = MODEL_CLASSES.get(self.params["model"])
        if cls is None:
            raise ValueError(f"unknown shop model {self.params['model']!r} "
                             f"(one of: {', '.join(sorted(MODEL_CLASSES))})")
        params = dict(self.params["model_params"])
        if "random_state" in inspect.signature(cls).parameters:
            params.setdefault("random_state", self.params["random_state"])
        return cls(**params)

    def _fit(self, data: SessionData) -> None:
        self.inner = self._new_inner().fit(data.session_item_matrix())

    def score(self, session_items: np.ndarray) -> np.ndarray:
        self._check_fitted()
        columns = np.unique(np.asarray(session_items, dtype=np.int64))
        if not len(columns):
            return np.full(self.n_items, -np.inf)
        values = np.ones(len(columns), dtype=np.float32)
        scores = self.inner._score_arrays(-1, columns, values, True)
        if scores is None:
            row = sp.csr_matrix((values, (np.zeros(len(columns), np.int64), columns)), shape=(1, self.n_items))
            scores = self.inner._score(-1, row, True)
        return np.array(scores, dtype=np.float64).ravel()

    def _get_arrays(self) -> dict[str, np.ndarray]:
        arrays = dict(self.inner._get_arrays())
        if "user_factors" in arrays:  # training sessions are never scored again: fold-in only
            arrays["user_factors"] = np.asarray(arrays["user_factors"])[:0]
        return {_INNER + key: value for key, value in arrays.items()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        inner = self._new_inner()
        inner._set_arrays({key[len(_INNER):]: value for key, value in arrays.items() if key.startswith(_INNER)})
        self.inner = inner

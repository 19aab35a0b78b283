"""The one interface every recommender implements, modelled on implicit's ``RecommenderBase``.

A model works on matrix indices only (the :class:`~ml.data.IdMap` lives outside it). Each model
turns a user into a dense vector of item scores (``_score``); this base class does the rest the
same way for all of them: filtering, deterministic top-N selection, batching, and saving to a
plain ``.npz`` (numpy arrays plus a JSON string of parameters, loadable with
``allow_pickle=False``), so serving can load any model with numpy alone.
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, Self, Sequence

import numpy as np
import scipy.sparse as sp

FORMAT_VERSION = 1
_NAME_KEY, _PARAMS_KEY, _VERSION_KEY = "meta_model_name", "meta_params", "meta_format_version"


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``n`` largest finite scores, best first.

    ``-inf`` (and NaN) marks items that must not be returned. Ties are broken by the smaller
    item index, so results never depend on the partition algorithm.
    """
    candidates = np.flatnonzero(scores > -np.inf)
    if n <= 0 or candidates.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float32)
    values = scores[candidates]
    if candidates.size > n:
        threshold = np.partition(values, candidates.size - n)[candidates.size - n]
        keep = values >= threshold
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))[:n]
    return candidates[order].astype(np.int64), values[order].astype(np.float32)


def cosine_neighbours(vectors: np.ndarray, index: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` rows of ``vectors`` most cosine-similar to row ``index`` (never ``index``
    itself), best first, as :func:`top_n` returns them.

    What the embedding models answer ``similar_items`` with (their item factors or embeddings
    as rows). Computed in float64; an all-zero row is similar to nothing (similarity 0).
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    norms[norms == 0] = 1e-10
    scores = vectors @ vectors[index] / (norms * norms[index])
    scores[index] = -np.inf
    return top_n(scores, n)


def as_user_rows(user_items: object, n_rows: int, n_items: int) -> sp.csr_matrix:
    """Validate the user-items argument: a sparse matrix with one row per requested user."""
    if not sp.issparse(user_items):
        raise ValueError("user_items must be a scipy sparse (CSR) matrix")
    rows = sp.csr_matrix(user_items)
    if rows.shape != (n_rows, n_items):
        raise ValueError(
            f"user_items must have shape ({n_rows}, {n_items}) (one row per user, one column per"
            f" item of the model), got {rows.shape}"
        )
    return rows


class Recommender(abc.ABC):
    """Abstract recommender: ``fit`` on a users x items CSR matrix, then recommend by index.

    Subclasses set ``name`` (the key stored in saved files), keep their constructor arguments in
    ``self.params`` (JSON-serialisable; ``cls(**params)`` must rebuild an unfitted model), and
    implement ``fit``, ``_score``, ``similar_items``, ``_get_arrays`` and ``_set_arrays``.
    """

    name: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type["Recommender"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name:
            Recommender._registry[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)

    # -- what each model provides -------------------------------------------------------------
    @property
    @abc.abstractmethod
    def n_items(self) -> int:
        """Number of items (columns) the fitted model scores; 0 before ``fit``."""

    @abc.abstractmethod
    def fit(self, user_items: sp.csr_matrix) -> Self:
        """Learn from a users x items matrix of non-negative interaction strengths."""

    @abc.abstractmethod
    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        """Float scores of every item for one user (``-inf`` where the model has no evidence)."""

    @abc.abstractmethod
    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` items most similar to ``itemid`` (never ``itemid`` itself), best first."""

    @abc.abstractmethod
    def _get_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named numpy arrays (what :meth:`save` writes)."""

    @abc.abstractmethod
    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore the fitted state from :meth:`_get_arrays` output."""

    def _score_batch(
        self, userids: np.ndarray, user_items: sp.csr_matrix, recalculate_user: bool
    ) -> np.ndarray:
        """Scores for several users (one row each). Models override it with a matrix product."""
        rows = [
            self._score(int(u), user_items[i], recalculate_user) for i, u in enumerate(userids)
        ]
        return np.vstack(rows) if rows else np.empty((0, self.n_items), np.float32)

    # -- shared behaviour ---------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.n_items == 0:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")

    def _apply_filters(
        self,
        scores: np.ndarray,
        user_rows: sp.csr_matrix,
        filter_already_liked_items: bool,
        filter_items: Sequence[int] | None,
    ) -> np.ndarray:
        scores = np.array(scores, dtype=np.float64, ndmin=2)
        if filter_already_liked_items:
            coo = user_rows.tocoo()
            scores[coo.row, coo.col] = -np.inf
        if filter_items is not None:
            banned = np.asarray(filter_items, dtype=np.int64).ravel()
            banned = banned[(banned >= 0) & (banned < scores.shape[1])]
            scores[:, banned] = -np.inf
        return scores

    def recommend(
        self,
        userid: int,
        user_items: sp.csr_matrix,
        N: int = 10,
        filter_already_liked_items: bool = True,
        filter_items: Sequence[int] | None = None,
        recalculate_user: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``N`` items for one user as ``(item indices, scores)``, best first.

        ``user_items`` is that user's 1 x n_items row (e.g. ``matrix[userid]``): it supplies the
        already-liked items to filter out, and is what models that score from a user's items use.
        ``filter_items`` are never returned (indices outside the catalogue are ignored).
        ``recalculate_user=True`` makes user-factor models compute the user from the row (fold-in)
        instead of using the trained factors. Fewer than ``N`` items come back when the model has
        no evidence for more (e.g. no neighbours), so callers can fall back to another model.
        """
        self._check_fitted()
        row = as_user_rows(user_items, 1, self.n_items)
        scores = self._score(int(userid), row, recalculate_user)
        scores = self._apply_filters(scores, row, filter_already_liked_items, filter_items)[0]
        return top_n(scores, N)

    def recommend_arrays(
        self,
        userid: int,
        columns: np.ndarray,
        values: np.ndarray,
        N: int = 10,
        *,
        filter_already_liked_items: bool = True,
        filter_items: np.ndarray | None = None,
        recalculate_user: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` with the user's row given as (column, value) arrays: the serving
        hot path. Models with a numpy scorer (``_score_arrays``) skip building sparse matrices,
        which cost more than the scoring itself; the others go through :meth:`recommend`.
        ``columns`` must be unique and within the catalogue."""
        self._check_fitted()
        scores = self._score_arrays(int(userid), columns, values, recalculate_user)
        if scores is None:
            row = sp.csr_matrix((values, (np.zeros(len(columns), np.int64), columns)), shape=(1, self.n_items))
            return self.recommend(userid, row, N, filter_already_liked_items, filter_items, recalculate_user)
        if filter_already_liked_items and len(columns):
            scores[columns[values != 0]] = -np.inf
        if filter_items is not None and len(filter_items):
            banned = np.asarray(filter_items, dtype=np.int64)
            scores[banned[(banned >= 0) & (banned < scores.shape[0])]] = -np.inf
        return top_n(scores, N)

    def _score_arrays(self, userid: int, columns: np.ndarray, values: np.ndarray,
                      recalculate_user: bool) -> np.ndarray | None:
        """Float64 scores of every item from the row's arrays (a new array the caller may
        change), or None when the model has no numpy path (``recommend_arrays`` then builds
        the row)."""
        return None

    def contributions(self, columns: np.ndarray, values: np.ndarray, items: np.ndarray) -> np.ndarray | None:
        """How much each of the user's items (``columns`` with ``values``, a row as arrays) adds
        to each of ``items``' scores: a ``len(items) x len(columns)`` array, or None when the
        model's score does not decompose over the user's items (popularity, neural models).
        What "Because you viewed X" names: the user's item that contributed most."""
        return None

    def recommend_batch(
        self,
        userids: Sequence[int],
        user_items: sp.csr_matrix,
        N: int = 10,
        filter_already_liked_items: bool = True,
        filter_items: Sequence[int] | None = None,
        recalculate_user: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` for many users: ``user_items`` has one row per entry of ``userids``.

        Returns two ``(len(userids), N)`` arrays; short lists are padded with item ``-1`` and
        score ``-inf``.
        """
        self._check_fitted()
        userids = np.asarray(userids, dtype=np.int64).ravel()
        rows = as_user_rows(user_items, len(userids), self.n_items)
        scores = self._score_batch(userids, rows, recalculate_user)
        scores = self._apply_filters(scores, rows, filter_already_liked_items, filter_items)
        ids = np.full((len(userids), N), -1, dtype=np.int64)
        values = np.full((len(userids), N), -np.inf, dtype=np.float32)
        for i, row_scores in enumerate(scores):
            top_ids, top_values = top_n(row_scores, N)
            ids[i, : len(top_ids)], values[i, : len(top_ids)] = top_ids, top_values
        return ids, values

    def _check_item(self, itemid: int) -> int:
        self._check_fitted()
        itemid = int(itemid)
        if not 0 <= itemid < self.n_items:
            raise IndexError(f"item {itemid} is outside the model's {self.n_items} items")
        return itemid

    def save(self, path: str | Path, extra_arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """Write the model to exactly ``path`` as an uncompressed ``.npz`` without pickles.

        ``extra_arrays`` (e.g. ``IdMap.to_arrays()``) are stored alongside so one file can carry
        a model and its id map; their names must not clash with the model's.
        """
        self._check_fitted()
        arrays = self._get_arrays()
        extra = dict(extra_arrays or {})
        clash = sorted(set(arrays) & set(extra) | {k for k in extra if k.startswith("meta_")})
        if clash:
            raise ValueError(f"extra array names clash with the model's: {', '.join(clash)}")
        meta = {
            _NAME_KEY: np.array(self.name),
            _PARAMS_KEY: np.array(json.dumps(self.params, sort_keys=True)),
            _VERSION_KEY: np.array(FORMAT_VERSION),
        }
        for key, value in {**arrays, **extra}.items():
            if np.asarray(value).dtype == object:
                raise TypeError(f"array {key!r} has object dtype and would need pickle")
        with open(path, "wb") as handle:
            np.savez(handle, **meta, **arrays, **extra)

    @classmethod
    def load(cls, path: str | Path) -> "Recommender":
        """Load a model saved by :meth:`save`, with ``allow_pickle=False``.

        Called on ``Recommender`` it returns whichever model class the file names; called on a
        subclass it also checks that the file holds that model.
        """
        with np.load(path, allow_pickle=False) as data:
            if not {_NAME_KEY, _PARAMS_KEY, _VERSION_KEY} <= set(data.files):
                raise ValueError(f"{path} is not a saved ml model (no model metadata)")
            name = str(data[_NAME_KEY])
            version = int(data[_VERSION_KEY])
            params = json.loads(str(data[_PARAMS_KEY]))
            arrays = {key: data[key] for key in data.files if not key.startswith("meta_")}
        if version > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than this code")
        model_cls = Recommender._registry.get(name)
        if model_cls is None:
            raise ValueError(f"{path}: unknown model {name!r}")
        if cls is not Recommender and model_cls is not cls:
            raise ValueError(f"{path} holds a {name!r} model, not {cls.name!r}")
        model = model_cls(**params)
        model._set_arrays(arrays)
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{type(self).__name__}({args})"

"""The one interface every session model implements: the session so far in, the next item out.

Unlike :class:`ml.models.Recommender` (a user's bag of items, by matrix row), a session model
reads an *ordered* list of item indices (the current session, oldest first) and scores every item
as the next one. It is fitted on :class:`~ml.sessions.data.SessionData`, keeps its item vocabulary
(``item_ids``, external ids as text) in its own file, and saves to a pickle-free ``.npz`` that
:func:`load_session_model` turns back into the right class with numpy alone: serving never
imports torch (GRU4Rec exports its weights as arrays).

Items the current session already holds are *not* filtered by default: shoppers go back to what
they looked at, and the session-rec protocol counts those hits.
"""

from __future__ import annotations

import abc
import json
from pathlib import Path
from typing import Any, ClassVar, Mapping, Self, Sequence

import numpy as np

from ml.models.base import top_n
from ml.sessions.data import SessionData

FORMAT_VERSION = 1
_NAME_KEY, _PARAMS_KEY, _VERSION_KEY, _ITEMS_KEY = (
    "meta_model_name", "meta_params", "meta_format_version", "meta_item_ids")


class SessionRecommender(abc.ABC):
    """Abstract session model. Subclasses set ``name``, keep constructor arguments in
    ``self.params`` (JSON-serialisable; ``cls(**params)`` rebuilds an unfitted model) and implement
    ``_fit``, ``score``, ``_get_arrays`` and ``_set_arrays``. Models with randomness take
    ``random_state``; models that train iteratively take ``time_budget_seconds``."""

    name: ClassVar[str] = ""
    _registry: ClassVar[dict[str, type["SessionRecommender"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name:
            SessionRecommender._registry[cls.name] = cls

    def __init__(self, **params: Any) -> None:
        self.params: dict[str, Any] = dict(params)
        self.item_ids: np.ndarray = np.empty(0, dtype=str)

    # -- what each model provides -------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, data: SessionData) -> None:
        """Learn from the training sessions (``data.item_ids`` is already stored)."""

    @abc.abstractmethod
    def score(self, session_items: np.ndarray) -> np.ndarray:
        """Float64 scores of every item as the session's next one, a new array the caller may
        change; ``-inf`` where the model has no evidence. ``session_items``: item indices of the
        session so far, oldest first (may be empty, may repeat items)."""

    @abc.abstractmethod
    def _get_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as named numpy arrays (what :meth:`save` writes)."""

    @abc.abstractmethod
    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore the fitted state from :meth:`_get_arrays` output."""

    # -- shared behaviour ---------------------------------------------------------------------
    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def fit(self, data: SessionData) -> Self:
        if data.n_items == 0:
            raise ValueError("there are no items to learn from")
        self.item_ids = np.asarray(data.item_ids, dtype=str)
        self._fit(data)
        return self

    def _check_fitted(self) -> None:
        if self.n_items == 0:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load()")

    def _session_array(self, session_items: Sequence[int] | np.ndarray) -> np.ndarray:
        items = np.asarray(session_items, dtype=np.int64).ravel()
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise IndexError(f"a session item is outside the model's {self.n_items} items")
        return items

    def recommend(self, session_items: Sequence[int] | np.ndarray, N: int = 20,
                  filter_items: Sequence[int] | np.ndarray | None = None,
                  filter_session_items: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top ``N`` next items for the session as ``(item indices, scores)``, best first.
        ``filter_items`` are never returned; ``filter_session_items`` also leaves out what the
        session holds (the shop's widgets do; the offline protocol does not). Fewer than ``N``
        come back when the model has evidence for fewer."""
        self._check_fitted()
        items = self._session_array(session_items)
        scores = np.array(self.score(items), dtype=np.float64)
        if filter_session_items and len(items):
            scores[items] = -np.inf
        if filter_items is not None and len(filter_items):
            banned = np.asarray(filter_items, dtype=np.int64)
            scores[banned[(banned >= 0) & (banned < self.n_items)]] = -np.inf
        return top_n(scores, N)

    def save(self, path: str | Path) -> None:
        """Write the model to exactly ``path`` as an uncompressed ``.npz`` without pickles."""
        self._check_fitted()
        arrays = self._get_arrays()
        for key, value in arrays.items():
            if key.startswith("meta_"):
                raise ValueError(f"array name {key!r} is reserved")
            if np.asarray(value).dtype == object:
                raise TypeError(f"array {key!r} has object dtype and would need pickle")
        meta = {
            _NAME_KEY: np.array(self.name),
            _PARAMS_KEY: np.array(json.dumps(self.params, sort_keys=True)),
            _VERSION_KEY: np.array(FORMAT_VERSION),
            _ITEMS_KEY: np.asarray(self.item_ids, dtype=str),
        }
        with open(path, "wb") as handle:
            np.savez(handle, **meta, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "SessionRecommender":
        """Load a model saved by :meth:`save` (``allow_pickle=False``). Called on the base class
        it returns whichever class the file names; on a subclass it also checks the class."""
        with np.load(path, allow_pickle=False) as data:
            if not {_NAME_KEY, _PARAMS_KEY, _VERSION_KEY, _ITEMS_KEY} <= set(data.files):
                raise ValueError(f"{path} is not a saved session model (no model metadata)")
            name = str(data[_NAME_KEY])
            version = int(data[_VERSION_KEY])
            params = json.loads(str(data[_PARAMS_KEY]))
            item_ids = data[_ITEMS_KEY]
            arrays = {key: data[key] for key in data.files if not key.startswith("meta_")}
        if version > FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version} is newer than this code")
        model_cls = SessionRecommender._registry.get(name)
        if model_cls is None:
            raise ValueError(f"{path}: unknown session model {name!r}")
        if cls is not SessionRecommender and model_cls is not cls:
            raise ValueError(f"{path} holds a {name!r} model, not {cls.name!r}")
        model = model_cls(**params)
        model.item_ids = np.asarray(item_ids, dtype=str)
        model._set_arrays(arrays)
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{type(self).__name__}({args})"


#: The modules that define session models: imported by :func:`load_session_model` so that every
#: class is registered (none of them imports torch at import time).
SESSION_MODEL_MODULES = ("ml.sessions.baselines", "ml.sessions.knn", "ml.sessions.gru4rec")


def load_session_model(path: str | Path) -> SessionRecommender:
    """Any saved session model, as its own class (numpy only)."""
    import importlib

    for module in SESSION_MODEL_MODULES:
        importlib.import_module(module)
    return SessionRecommender.load(path)

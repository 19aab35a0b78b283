"""A published session model answering with external ids, as the web widgets need it.

:class:`SessionServer` wraps any :class:`~ml.sessions.base.SessionRecommender` (loaded with
numpy only): it turns the visit's item ids (text, oldest first) into the model's indices, leaves
out what the caller excludes and what the visit already holds, and answers ``[(item id, score)]``
best first. Items the model never saw are ignored (a product added since training); a visit with
none it knows gets ``[]``, so the widget's next step takes over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ml.sessions.base import SessionRecommender, load_session_model

#: The file a version's session model is published as (an extra of the version).
SESSION_MODEL_FILE = "session.npz"


class SessionServer:
    """One session model in a web worker (immutable after construction: shared by threads)."""

    def __init__(self, model: SessionRecommender) -> None:
        model._check_fitted()
        self.model = model
        # a dict, not a pandas Index: a visit is a handful of ids, and get_indexer's fixed cost
        # (~40 us a call, two calls a request) was more than the model's scoring
        self._index = {str(item): number for number, item in enumerate(model.item_ids.tolist())}

    @classmethod
    def load(cls, path: str | Path) -> "SessionServer":
        return cls(load_session_model(path))

    @property
    def name(self) -> str:
        return self.model.name

    def _indices(self, item_ids: Iterable[str]) -> np.ndarray:
        index = self._index
        found = [number for number in (index.get(str(i)) for i in item_ids) if number is not None]
        return np.array(found, dtype=np.int64)

    def next_items(self, visit: Sequence[str], n: int = 10, exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The ``n`` likeliest next items after ``visit`` (item ids, oldest first), never one of
        the visit's items nor of ``exclude``; ``[]`` when the model knows none of the visit."""
        items = self._indices(visit)
        if n <= 0 or len(items) == 0:
            return []
        ids, scores = self.model.recommend(items, N=n, filter_items=self._indices(exclude),
                                           filter_session_items=True)
        return list(zip(self.model.item_ids[ids].tolist(), scores.astype(np.float64).tolist()))

"""Non-personalised baselines: global popularity and time-decayed ("trending") popularity.

They are the floor every personalised model must beat offline, and the last step of every
serving fallback chain (they can answer for anyone, even a visitor with no history).
"""

from __future__ import annotations

from typing import Literal, Mapping, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data.idmap import IdMap
from ml.data.interactions import build_interactions
from ml.models.base import Recommender, top_n


class _ItemScoreRecommender(Recommender):
    """A model whose state is one score per item, the same for every user."""

    def __init__(self, **params: object) -> None:
        super().__init__(**params)
        self.item_scores = np.empty(0, dtype=np.float32)

    @property
    def n_items(self) -> int:
        return len(self.item_scores)

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        scores = self.item_scores.astype(np.float64)
        scores[scores <= 0] = -np.inf  # nobody interacted: no reason to show it
        return scores

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        return np.tile(self._score(0, user_items, recalculate_user), (len(userids), 1))

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most popular other items: popularity has no notion of similarity, but this keeps
        "related products" widgets filled when no better model is available."""
        itemid = self._check_item(itemid)
        scores = self._score(0, None, False)
        scores[itemid] = -np.inf
        return top_n(scores, N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.item_scores = np.asarray(arrays["item_scores"], dtype=np.float32)


class PopularityRecommender(_ItemScoreRecommender):
    """Global popularity: the same list for everyone, most popular first.

    ``count="users"`` ranks items by how many distinct users interacted with them (robust to one
    visitor viewing a page a hundred times); ``count="weight"`` by total interaction strength.
    """

    name = "popularity"

    def __init__(self, count: Literal["users", "weight"] = "users") -> None:
        if count not in ("users", "weight"):
            raise ValueError("count must be 'users' or 'weight'")
        super().__init__(count=count)

    def fit(self, user_items: sp.csr_matrix) -> Self:
        matrix = sp.csc_matrix(user_items, dtype=np.float64)
        matrix.eliminate_zeros()
        if self.params["count"] == "users":
            self.item_scores = np.diff(matrix.indptr).astype(np.float32)
        else:
            self.item_scores = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        return self


class RecentPopularityRecommender(_ItemScoreRecommender):
    """Trending items: popularity where each event counts ``0.5 ** (age / half_life_days)``, and
    each user's (decayed) weight on an item is capped at ``user_cap`` when one is given.

    A sparse matrix carries no event times, so the decay must be applied while building it:
    either call :meth:`fit_events` with the raw events (it builds the decayed matrix with
    ``half_life_days``), or call :meth:`fit` on a matrix already built by
    ``build_interactions(..., time_decay_half_life_days=...)``. ``fit`` sums each item's column.
    """

    name = "recent_popularity"

    def __init__(self, half_life_days: float = 7.0, user_cap: float | None = None) -> None:
        if not half_life_days > 0:
            raise ValueError("half_life_days must be > 0")
        if user_cap is not None and not user_cap > 0:
            raise ValueError("user_cap must be > 0 or None")
        super().__init__(half_life_days=float(half_life_days), user_cap=None if user_cap is None else float(user_cap))

    def fit(self, user_items: sp.csr_matrix) -> Self:
        matrix = sp.csr_matrix(user_items, dtype=np.float64)
        if self.params.get("user_cap") is not None:
            # One user's weight on one item is capped: a visitor who reloads a page a hundred
            # times, or adds and removes it fifty times, moves the trend no more than one purchase.
            matrix.data = np.minimum(matrix.data, self.params["user_cap"])
        self.item_scores = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        return self

    def fit_events(
        self,
        events: pd.DataFrame,
        id_map: IdMap,
        weights: Mapping[str, float] | None = None,
        reference_time: object = None,
    ) -> Self:
        """Fit from events (which need a ``timestamp`` column) on the columns of ``id_map``.

        ``reference_time`` ("now") defaults to the latest event.
        """
        matrix, _ = build_interactions(
            events,
            weights=weights,
            time_decay_half_life_days=self.params["half_life_days"],
            reference_time=reference_time,
            id_map=id_map,
        )
        return self.fit(matrix)

"""Relevance blended with the visitor's business-unit affinity: the candidate for marketing's two goals.

Collaborative models (EASE, ALS) find the asset a visitor will ask for next (hit rate) but
wander across business units; popularity within the visitor's units stays in the units
(business-unit hit rate) but misses the asset. Neither serves both goals, so this model blends
them per visitor::

    score(i) = (1 - weight) * relevance(i) + weight * affinity(i)

- ``relevance``: the base model's scores, min-max scaled to [0, 1] over the items it has evidence
  for (items with ``-inf`` stay ``-inf``), so the blend weight means the same for every visitor
  whatever the base model's score scale;
- ``affinity``: the share of the visitor's interaction strength spent in the item's business
  units, scaled so the visitor's main unit is 1 (an item in several units takes the best one);
  items of unknown unit have 0.

``weight`` 0 is the base model, 1 ranks the visitor's units first with the base model breaking
ties (a small fraction of relevance is always kept for that). The weight is tuned on a
validation split (:mod:`ml.resources.tuning`). The base model is any :class:`Recommender` by
its registered name; its arrays are saved inside this model's ``.npz`` with a prefix.
"""

from __future__ import annotations

from typing import Any, Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, top_n
from ml.resources.recommender import ItemUnits

_BASE_PREFIX = "base__"
_TIE_BREAK = 1e-3  # share of relevance kept at weight 1, so ties inside a unit follow the base model


class UnitBlendRecommender(ItemUnits, Recommender):
    """``(1 - weight) * scaled base relevance + weight * business-unit affinity``.

    Call :meth:`set_item_units` before :meth:`fit` (as for
    :class:`~ml.resources.recommender.UnitPopularityRecommender`).
    """

    name = "unit_blend"

    def __init__(self, base: str = "ease", base_params: Mapping[str, Any] | None = None,
                 weight: float = 0.5) -> None:
        if not 0.0 <= float(weight) <= 1.0:
            raise ValueError(f"weight must be in [0, 1], got {weight}")
        if base == self.name or base not in Recommender._registry:
            raise ValueError(f"unknown base model {base!r}")
        super().__init__(base=str(base), base_params=dict(base_params or {}), weight=float(weight))
        self.base_model: Recommender = Recommender._registry[base](**self.params["base_params"])
        self._no_units()

    @property
    def n_items(self) -> int:
        return self.base_model.n_items

    def fit(self, user_items: sp.csr_matrix) -> Self:
        self._check_units(user_items.shape[1])
        self.base_model.fit(user_items)
        return self

    def with_weight(self, weight: float) -> "UnitBlendRecommender":
        """The same fitted base and units at another weight (the tuning sweep refits nothing)."""
        other = UnitBlendRecommender(self.params["base"], self.params["base_params"], weight)
        other.base_model, other.item_units, other.unit_names = self.base_model, self.item_units, self.unit_names
        return other

    def affinity(self, user_items: sp.spmatrix) -> np.ndarray:
        """Users x items: share of each visitor's strength in the item's best unit, main unit 1."""
        rows = sp.csr_matrix(user_items, dtype=np.float64)
        unit_strength = np.asarray((rows @ self.item_units).todense(), dtype=np.float64)
        top = unit_strength.max(axis=1, keepdims=True) if unit_strength.shape[1] else np.zeros((rows.shape[0], 1))
        shares = np.divide(unit_strength, top, out=np.zeros_like(unit_strength), where=top > 0)
        result = np.zeros((rows.shape[0], self.item_units.shape[0]))
        coo = self.item_units.tocoo()
        for item, unit in zip(coo.row, coo.col):  # items x units is tiny (an item has 1-2 units)
            np.maximum(result[:, item], shares[:, unit], out=result[:, item])
        return result

    def _blend(self, relevance: np.ndarray, affinity: np.ndarray) -> np.ndarray:
        relevance = np.array(relevance, dtype=np.float64, ndmin=2)
        finite = np.isfinite(relevance)
        masked = np.where(finite, relevance, np.nan)
        with np.errstate(all="ignore"):
            low = np.nanmin(masked, axis=1, keepdims=True)
            span = np.nanmax(masked, axis=1, keepdims=True) - low
        low, span = np.nan_to_num(low), np.nan_to_num(span)
        scaled = np.divide(relevance - low, span, out=np.ones_like(relevance), where=finite & (span > 0))
        weight = self.params["weight"]
        blended = (1.0 - weight + _TIE_BREAK * weight) * scaled + weight * affinity
        return np.where(finite, blended, -np.inf)

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        relevance = self.base_model._score_batch(userids, user_items, recalculate_user)
        return self._blend(relevance, self.affinity(user_items))

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The base model's neighbours, re-ordered by the same blend with ``itemid`` as the profile."""
        itemid = self._check_item(itemid)
        ids, scores = self.base_model.similar_items(itemid, N=self.n_items)
        relevance = np.full(self.n_items, -np.inf)
        relevance[ids] = scores
        row = sp.csr_matrix(([1.0], ([0], [itemid])), shape=(1, self.n_items))
        blended = self._blend(relevance, self.affinity(row))[0]
        blended[itemid] = -np.inf
        return top_n(blended, N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        arrays = {_BASE_PREFIX + key: value for key, value in self.base_model._get_arrays().items()}
        return {**arrays, **self._unit_arrays()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.base_model._set_arrays({key[len(_BASE_PREFIX):]: value for key, value in arrays.items()
                                     if key.startswith(_BASE_PREFIX)})
        self._read_unit_arrays(arrays, self.base_model.n_items)

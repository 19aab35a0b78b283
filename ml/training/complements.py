"""Fitting "frequently bought together" (:class:`~ml.models.complements.ComplementsRecommender`)
from an events frame and, optionally, an items frame.

The items frame is what the catalogue knows and the events do not: one row per item with
``item_id`` and any of ``category`` (the leaf category), ``brand`` and ``price``. It tells
substitutes (same leaf, similar price) from complements and lets an item never bought yet borrow
the accessories of its category and brand. Without it the model still works: the baskets alone
say what goes together, and view-similarity alone pushes substitutes down.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import ITEM_COL
from ml.data.idmap import IdMap
from ml.models.complements import ComplementsRecommender
from ml.training.baskets import basket_matrices

#: The optional columns of an items frame (besides ``item_id``).
ITEM_ATTRIBUTES = ("category", "brand", "price")


@dataclass(frozen=True)
class ItemAttributes:
    """An items frame aligned to the columns of an id map (None: the frame lacks the column)."""

    category: np.ndarray | None = None
    brand: np.ndarray | None = None
    price: np.ndarray | None = None


def align_items(items: pd.DataFrame | None, id_map: IdMap) -> ItemAttributes:
    """Each id-map column's category, brand (object arrays, None unknown) and price (NaN unknown).

    Rows of items the events never mention are ignored; a duplicated ``item_id`` keeps its
    first row. An items frame without ``item_id`` is refused (it could not be aligned)."""
    if items is None or len(items) == 0:
        return ItemAttributes()
    if ITEM_COL not in items.columns:
        raise ValueError(f"the items frame needs an {ITEM_COL!r} column")
    frame = items.assign(**{ITEM_COL: items[ITEM_COL].astype(str)}).drop_duplicates(ITEM_COL)
    frame = frame.set_index(ITEM_COL).reindex(id_map.item_ids)
    found: dict[str, np.ndarray] = {}
    for column in ("category", "brand"):
        if column in frame.columns:
            values = frame[column].astype(object)
            found[column] = np.array([None if pd.isna(v) or str(v) == "" else str(v) for v in values], dtype=object)
    if "price" in frame.columns:
        found["price"] = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=np.float64)
    return ItemAttributes(**found)


def fit_complements(
    events: pd.DataFrame,
    id_map: IdMap,
    user_items: sp.csr_matrix,
    similarity: sp.spmatrix | None,
    items: pd.DataFrame | None = None,
    params: dict | None = None,
) -> tuple[ComplementsRecommender, int]:
    """The fitted model and the number of baskets it learnt from.

    ``user_items`` is the weighted users x items matrix (each item's summed weight is its
    interest: how much of its category's attention it gets); ``similarity`` the "similar items"
    matrix whose high values mark substitutes."""
    baskets, viewed = basket_matrices(events, id_map, with_views=True)
    attributes = align_items(items, id_map)
    interest = np.asarray(sp.csr_matrix(user_items).sum(axis=0)).ravel()
    model = ComplementsRecommender(**(params or {})).fit(
        baskets, viewed=viewed, category=attributes.category, brand=attributes.brand,
        price=attributes.price, similarity=similarity, interest=interest,
    )
    return model, baskets.shape[0]

"""Why an item is recommended: the visitor's own item that contributed most to its score.

"Because you viewed X" must name an item the shopper actually interacted with and must come from
the model's own evidence, not a story made up afterwards. Models whose score decomposes over the
visitor's items say how much each adds (:meth:`ml.models.base.Recommender.contributions`: EASE's
weights, item-kNN's similarities, ALS's folded-in solve, exactly); for the others (popularity,
neural models) the version's item-kNN ("similar items") model stands in: the visitor's item most
similar to the recommended one. Items with no positive contribution get no evidence, and the
caller falls back to a reason that names no item ("Popular in Y").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ml.artifacts import RECOMMENDER, SIMILAR
from ml.serving import LoadedVersion


def evidence(version: LoadedVersion, user_id: str | None, recent_items: Sequence[tuple],
             item_ids: Sequence[str], per_item: int = 3) -> list[list[str]]:
    """Per item of ``item_ids``, up to ``per_item`` of the visitor's items (external ids) that
    added most to its score, strongest first ([] without evidence). The visitor's row is the one
    the recommendation was scored from: their training row plus ``recent_items``."""
    _, columns, values, _ = version.visitor_arrays(user_id, recent_items)
    result: list[list[str]] = [[] for _ in item_ids]
    items = version.id_map.item_indices(list(item_ids))
    known = np.flatnonzero(items >= 0)
    if not len(columns) or not len(known):
        return result
    table = None
    for role in (RECOMMENDER, SIMILAR):
        model = version.models.get(role)
        table = model.contributions(columns, values, items[known]) if model is not None else None
        if table is not None:
            break
    if table is None:
        return result
    table = np.array(table, dtype=np.float64)
    table[columns[None, :] == items[known][:, None]] = 0.0  # an item is never its own reason
    # one sort for the whole table (a sort per recommended item was most of a page's reasons)
    order = np.argsort(-table, axis=1, kind="stable")[:, :per_item]
    strongest = np.take_along_axis(table, order, axis=1)
    names = version.id_map.item_ids[columns[order]]
    for row, position in enumerate(known.tolist()):
        result[position] = names[row][strongest[row] > 0].tolist()
    return result

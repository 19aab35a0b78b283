"""Events -> baskets x items matrix for the "customers who bought this also bought" model.

Orders are the truest baskets, but a young shop has few of them (the demo shop: ~1,400 orders,
most with one item, giving ~50 item pairs). Carts that were filled together but never checked
out carry the same "goes together" signal, so a basket is:

- an order: the events sharing a ``basket_id`` (the order id of transaction events);
- otherwise, the cart events (add-to-cart, transaction) of one visit that produced no order:
  grouped by (user, ``session_id``) when that column exists, else by (user, UTC day).

A visit that did check out contributes its order only, never also its cart, so one purchase is
never counted twice (which would let a single order pass ``min_support=2`` on its own).

:func:`basket_matrices` also returns what each basket's visit *viewed* without carting: the
shopper who carts a laptop and then looks at a bag says something about laptops and bags even
when the bag stays on the shelf ("frequently bought together" uses it at a lower weight).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.constants import EVENT_COL, ITEM_COL, TIME_COL, USER_COL
from ml.data.idmap import IdMap
from ml.data.timeutil import to_utc_series

BASKET_COL = "basket_id"
SESSION_COL = "session_id"
#: Event types that put an item in a basket (a view does not).
BASKET_EVENTS = ("addtocart", "transaction")


def visit_keys(events: pd.DataFrame) -> pd.Series:
    """(user, session) where the session is known, else (user, UTC day), else the user."""
    visit = pd.Series("", index=events.index, dtype=object)
    if TIME_COL in events.columns:
        visit[:] = "day:" + to_utc_series(events[TIME_COL]).dt.strftime("%Y-%m-%d").to_numpy()
    if SESSION_COL in events.columns:
        known = events[SESSION_COL].notna()
        visit[known] = "session:" + events.loc[known, SESSION_COL].astype(str)
    return events[USER_COL].astype(str) + "\x1f" + visit


def basket_keys(events: pd.DataFrame) -> pd.Series:
    """One basket key per event (``None`` for events that belong to no basket)."""
    keys = pd.Series(None, index=events.index, dtype=object)
    in_cart = (
        events[EVENT_COL].astype(str).isin(BASKET_EVENTS)
        if EVENT_COL in events.columns
        else pd.Series(True, index=events.index)
    )
    has_order = (
        events[BASKET_COL].notna() & in_cart
        if BASKET_COL in events.columns
        else pd.Series(False, index=events.index)
    )
    visits = visit_keys(events)
    ordered_visits = set(visits[has_order])
    loose = in_cart & ~has_order & ~visits.isin(ordered_visits)
    if has_order.any():
        keys[has_order] = "order\x1f" + events.loc[has_order, BASKET_COL].astype(str)
    keys[loose] = "visit\x1f" + visits[loose]
    return keys


def _binary_rows(rows: np.ndarray, columns: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    known = columns >= 0
    matrix = sp.csr_matrix(
        (np.ones(int(known.sum()), np.float32), (rows[known], columns[known])), shape=shape
    )
    matrix.data[:] = 1.0  # repeats of an item in one basket count once
    return matrix


def basket_matrix(events: pd.DataFrame, id_map: IdMap) -> sp.csr_matrix:
    """Binary baskets x items matrix on the columns of ``id_map`` (unknown items dropped)."""
    return basket_matrices(events, id_map)[0]


def basket_matrices(
    events: pd.DataFrame, id_map: IdMap, with_views: bool = False
) -> tuple[sp.csr_matrix, sp.csr_matrix | None]:
    """(baskets x items, the same rows x items viewed in the basket's visit but not in the
    basket) on the columns of ``id_map``; the second is None unless ``with_views``.

    An order's visits are those of its purchase events; views count only in visits that have a
    basket (a visit without a cart says nothing about what is bought together).
    """
    keys = basket_keys(events)
    chosen = keys.notna().to_numpy()
    columns = id_map.item_indices(events.loc[chosen, ITEM_COL].astype(str))
    rows, labels = pd.factorize(keys[chosen].to_numpy(), sort=True)
    shape = (len(labels), id_map.n_items)
    baskets = _binary_rows(rows, columns, shape)
    if not with_views:
        return baskets, None
    if EVENT_COL not in events.columns:  # no event types: no way to tell a view from a cart
        return baskets, sp.csr_matrix(shape, dtype=np.float32)
    visits = visit_keys(events)
    # visit -> basket row (a visit with two orders keeps its first: a rare case, one row is enough)
    visit_row = pd.Series(rows, index=visits[chosen].to_numpy())
    visit_row = visit_row[~visit_row.index.duplicated(keep="first")]
    is_view = (events[EVENT_COL].astype(str) == "view").to_numpy()
    view_rows = visits[is_view].map(visit_row)
    placed = view_rows.notna().to_numpy()
    view_columns = id_map.item_indices(events.loc[is_view, ITEM_COL].astype(str)[placed])
    viewed = _binary_rows(view_rows[placed].to_numpy(np.int64), view_columns, shape)
    viewed = viewed - viewed.multiply(baskets)  # carted items are in the basket already
    viewed.eliminate_zeros()
    return baskets, sp.csr_matrix(viewed, dtype=np.float32)

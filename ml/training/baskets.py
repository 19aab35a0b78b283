"""Events -> baskets x items matrix for the "customers who bought this also bought" model.

Orders are the truest baskets, but a young shop has few of them (the demo shop: ~1,400 orders,
most with one item, giving ~50 item pairs). Carts that were filled together but never checked
out carry the same "goes together" signal, so a basket is:

- an order: the events sharing a ``basket_id`` (the order id of transaction events);
- otherwise, the cart events (add-to-cart, transaction) of one visit that produced no order:
  grouped by (user, ``session_id``) when that column exists, else by (user, UTC day).

A visit that did check out contributes its order only, never also its cart, so one purchase is
never counted twice (which would let a single order pass ``min_support=2`` on its own).
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


def _visit_keys(events: pd.DataFrame) -> pd.Series:
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
    visits = _visit_keys(events)
    ordered_visits = set(visits[has_order])
    loose = in_cart & ~has_order & ~visits.isin(ordered_visits)
    if has_order.any():
        keys[has_order] = "order\x1f" + events.loc[has_order, BASKET_COL].astype(str)
    keys[loose] = "visit\x1f" + visits[loose]
    return keys


def basket_matrix(events: pd.DataFrame, id_map: IdMap) -> sp.csr_matrix:
    """Binary baskets x items matrix on the columns of ``id_map`` (unknown items dropped)."""
    keys = basket_keys(events)
    chosen = keys.notna().to_numpy()
    columns = id_map.item_indices(events.loc[chosen, ITEM_COL].astype(str))
    rows, _ = pd.factorize(keys[chosen].to_numpy(), sort=True)
    known = columns >= 0
    n_baskets = int(rows.max()) + 1 if len(rows) else 0
    matrix = sp.csr_matrix(
        (np.ones(int(known.sum()), np.float32), (rows[known], columns[known])),
        shape=(n_baskets, id_map.n_items),
    )
    matrix.data[:] = 1.0  # repeats of an item in one basket count once
    return matrix

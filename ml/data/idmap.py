"""Mapping between external ids (strings) and contiguous matrix indices.

As in LightFM's ``Dataset``, the mapping lives outside the models: a model only ever sees row and
column numbers, and the ``IdMap`` that produced them is saved next to the model artifact so that
serving can translate a visitor or product id into an index and back again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ml.constants import ITEM_COL, USER_COL

_USER_KEY = "idmap_user_ids"
_ITEM_KEY = "idmap_item_ids"


def _as_id_array(values: Iterable[object]) -> np.ndarray:
    """Return ``values`` as a 1-d unicode array (never object dtype, so it saves without pickle).

    Numbers become their ``str`` (``12`` -> ``"12"``): ids are compared as strings everywhere.
    """
    if not isinstance(values, (np.ndarray, pd.Series, pd.Index, list, tuple)):
        values = list(values)
    array = np.asarray(values)
    if array.dtype.kind != "U":
        array = array.astype(object).astype(str) if array.size else np.empty(0, dtype="<U1")
    return array.reshape(-1)


# Below this many ids a loop of hash lookups beats one vectorised ``get_indexer``, whose fixed
# cost (~30 us) is most of a web request's model call (a visitor's few recent items).
_LOOKUP_LOOP_BELOW = 64


def _positions(index: pd.Index, ids: Iterable[object]) -> np.ndarray:
    if not isinstance(ids, (list, tuple)) or len(ids) >= _LOOKUP_LOOP_BELOW:
        return index.get_indexer(_as_id_array(ids)).astype(np.int64)
    found = np.empty(len(ids), dtype=np.int64)
    for k, value in enumerate(ids):
        try:
            found[k] = index.get_loc(str(value))
        except KeyError:
            found[k] = -1
    return found


def _check_unique(ids: np.ndarray, what: str) -> None:
    if len(pd.unique(ids)) != len(ids):
        raise ValueError(f"{what} ids must be unique")


@dataclass(frozen=True, eq=False)
class IdMap:
    """Users and items, each in index order: ``user_ids[i]`` is the external id of row ``i``.

    Ids are strings (ids such as 38-digit cookies do not fit in 64-bit integers). Unknown ids map
    to ``-1`` in the vectorised lookups so callers can drop them with one mask.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    _users: pd.Index = field(init=False, repr=False)
    _items: pd.Index = field(init=False, repr=False)

    def __post_init__(self) -> None:
        users = _as_id_array(self.user_ids)
        items = _as_id_array(self.item_ids)
        _check_unique(users, "user")
        _check_unique(items, "item")
        object.__setattr__(self, "user_ids", users)
        object.__setattr__(self, "item_ids", items)
        object.__setattr__(self, "_users", pd.Index(users))
        object.__setattr__(self, "_items", pd.Index(items))

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, user_col: str = USER_COL, item_col: str = ITEM_COL
    ) -> "IdMap":
        """Build the map from the distinct ids of a DataFrame, each sorted.

        Sorting (rather than order of first appearance) makes the indices independent of the
        row order, so the same events always give the same matrix.
        """
        for col in (user_col, item_col):
            if col not in frame.columns:
                raise ValueError(f"events are missing the column {col!r}")
            if frame[col].isna().any():
                raise ValueError(f"column {col!r} contains missing ids")
        users = np.sort(pd.unique(frame[user_col].astype(str).to_numpy()))
        items = np.sort(pd.unique(frame[item_col].astype(str).to_numpy()))
        return cls(users, items)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_id: object) -> int:
        """Row of one user; raises ``KeyError`` for an unknown id."""
        return int(self._users.get_loc(str(user_id)))

    def item_index(self, item_id: object) -> int:
        """Column of one item; raises ``KeyError`` for an unknown id."""
        return int(self._items.get_loc(str(item_id)))

    def user_indices(self, user_ids: Iterable[object]) -> np.ndarray:
        """Rows of many users (int64), ``-1`` where the id is unknown."""
        return _positions(self._users, user_ids)

    def item_indices(self, item_ids: Iterable[object]) -> np.ndarray:
        """Columns of many items (int64), ``-1`` where the id is unknown."""
        return _positions(self._items, item_ids)

    def has_user(self, user_id: object) -> bool:
        return str(user_id) in self._users

    def has_item(self, item_id: object) -> bool:
        return str(item_id) in self._items

    def extend(
        self, user_ids: Iterable[object] = (), item_ids: Iterable[object] = ()
    ) -> "IdMap":
        """Return a new map with unseen ids appended; existing indices never move.

        Used to give visitors who arrived after training a row of their own (fold-in) without
        invalidating the trained model's rows and columns.
        """
        new_users = [u for u in pd.unique(_as_id_array(user_ids)) if u not in self._users]
        new_items = [i for i in pd.unique(_as_id_array(item_ids)) if i not in self._items]
        return IdMap(
            np.concatenate([self.user_ids, _as_id_array(new_users)]),
            np.concatenate([self.item_ids, _as_id_array(new_items)]),
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays to store in an ``.npz`` (unicode dtype, loadable with ``allow_pickle=False``)."""
        return {_USER_KEY: self.user_ids, _ITEM_KEY: self.item_ids}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "IdMap":
        """Rebuild the map from :meth:`to_arrays` output, or from an opened ``np.load`` file."""
        return cls(np.asarray(arrays[_USER_KEY]), np.asarray(arrays[_ITEM_KEY]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return np.array_equal(self.user_ids, other.user_ids) and np.array_equal(
            self.item_ids, other.item_ids
        )

    __hash__ = None  # type: ignore[assignment]

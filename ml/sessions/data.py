"""Browsing sessions as the session models read them: ordered item indices per session.

A session is what one visitor did in one sitting, in time order. Three sources produce them:

- the shop's events, which carry the browsing session each request belonged to;
- the Retailrocket log (visitor, time, item), cut into sessions at 30 idle minutes
  (:func:`sessionise`, the rule of the session-rec benchmark);
- YOOCHOOSE clicks, which carry their session id.

:class:`SessionData` stores them flat, CSR-like: ``items[offsets[s]:offsets[s + 1]]`` are session
``s``'s item indices in the order they happened, ``times`` the matching Unix seconds. Items are
indices into ``item_ids`` (external ids as text), the vocabulary a model keeps with itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from ml.data.timeutil import to_utc_series

#: Idle time that ends a session when the data has no session id (session-rec, Retailrocket).
IDLE_MINUTES = 30.0
SESSION_COL, ITEM_COL, TIME_COL = "session_id", "item_id", "timestamp"


def _unix_seconds(values: pd.Series) -> np.ndarray:
    """Seconds since the epoch (float64) of a time column: datetimes or numbers of seconds."""
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=np.float64)
    utc = to_utc_series(values)
    return (utc - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds().to_numpy(np.float64)


def sessionise(frame: pd.DataFrame, user_col: str, time_col: str = TIME_COL,
               idle_minutes: float = IDLE_MINUTES) -> pd.Series:
    """A session id per row: a user's events, in time order, start a new session after more than
    ``idle_minutes`` without one. Ids are ``"<user>:<n>"`` (n counts from 0 per user), aligned
    with ``frame``'s index."""
    seconds = pd.Series(_unix_seconds(frame[time_col]), index=frame.index)
    users = frame[user_col].astype(str)
    order = np.lexsort((seconds.to_numpy(), users.to_numpy()))
    sorted_users = users.to_numpy()[order]
    sorted_seconds = seconds.to_numpy()[order]
    new_user = np.r_[True, sorted_users[1:] != sorted_users[:-1]]
    gap = np.r_[np.inf, np.diff(sorted_seconds)] > idle_minutes * 60.0
    starts = new_user | gap
    # the session number within the user: starts counted since the user's first row
    counts = np.cumsum(starts)
    first_of_user = np.maximum.accumulate(np.where(new_user, np.arange(len(order)), 0))
    number = counts - counts[first_of_user]
    ids = np.empty(len(order), dtype=object)
    ids[order] = [f"{u}:{n}" for u, n in zip(sorted_users, number)]
    return pd.Series(ids, index=frame.index, name=SESSION_COL)


@dataclass
class SessionData:
    """Sessions as flat arrays (see the module docstring). Build with :meth:`from_frame`."""

    session_ids: np.ndarray  # (n_sessions,) text
    offsets: np.ndarray  # (n_sessions + 1,) int64
    items: np.ndarray  # (n_events,) int32 indices into item_ids
    times: np.ndarray  # (n_events,) float64 Unix seconds
    item_ids: np.ndarray  # (n_items,) text: the vocabulary

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.session_ids) + 1 or self.offsets[0] != 0 \
                or self.offsets[-1] != len(self.items) or len(self.times) != len(self.items):
            raise ValueError("offsets, items and times do not describe the sessions")
        if len(self.items) and (self.items.min() < 0 or self.items.max() >= len(self.item_ids)):
            raise ValueError("an item index is outside the vocabulary")

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, session_col: str = SESSION_COL, item_col: str = ITEM_COL,
                   time_col: str = TIME_COL, item_ids: Iterable[object] | None = None) -> "SessionData":
        """Sessions from one row per event. Rows are ordered by session, then time (stable, so
        events of the same second keep the file's order). ``item_ids`` fixes the vocabulary (rows
        whose item is not in it are dropped); by default it is every item seen, sorted."""
        missing = [c for c in (session_col, item_col, time_col) if c not in frame.columns]
        if missing:
            raise ValueError(f"the events are missing the column(s): {', '.join(missing)}")
        items = frame[item_col].astype(str).to_numpy()
        sessions = frame[session_col].astype(str).to_numpy()
        seconds = _unix_seconds(frame[time_col])
        vocabulary = (np.unique(items) if item_ids is None
                      else np.asarray([str(i) for i in item_ids]))
        index = pd.Index(vocabulary)
        if not index.is_unique:
            raise ValueError("item_ids has duplicates")
        codes = index.get_indexer(items)
        known = codes >= 0
        sessions, seconds, codes = sessions[known], seconds[known], codes[known]
        session_codes, session_ids = pd.factorize(sessions, sort=True)
        order = np.lexsort((np.arange(len(codes)), seconds, session_codes))
        counts = np.bincount(session_codes, minlength=len(session_ids))
        offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
        return cls(np.asarray(session_ids, dtype=str), offsets, codes[order].astype(np.int32),
                   seconds[order], vocabulary.astype(str))

    @property
    def n_sessions(self) -> int:
        return len(self.session_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_events(self) -> int:
        return len(self.items)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def session(self, s: int) -> np.ndarray:
        """Session ``s``'s item indices, in order."""
        return self.items[self.offsets[s]:self.offsets[s + 1]]

    def session_times(self, s: int) -> np.ndarray:
        return self.times[self.offsets[s]:self.offsets[s + 1]]

    @property
    def start_times(self) -> np.ndarray:
        """Each session's first event time (NaN for an empty session)."""
        out = np.full(self.n_sessions, np.nan)
        nonempty = self.lengths > 0
        out[nonempty] = self.times[self.offsets[:-1][nonempty]]
        return out

    @property
    def end_times(self) -> np.ndarray:
        """Each session's last event time (NaN for an empty session)."""
        out = np.full(self.n_sessions, np.nan)
        nonempty = self.lengths > 0
        out[nonempty] = self.times[self.offsets[1:][nonempty] - 1]
        return out

    def subset(self, keep: np.ndarray) -> "SessionData":
        """The sessions where the boolean mask ``keep`` is true (same vocabulary)."""
        keep = np.asarray(keep, dtype=bool)
        lengths = self.lengths[keep]
        event_mask = np.repeat(keep, self.lengths)
        return SessionData(self.session_ids[keep], np.r_[0, np.cumsum(lengths)].astype(np.int64),
                           self.items[event_mask], self.times[event_mask], self.item_ids)

    def session_item_matrix(self):
        """The sessions x items 0/1 matrix (a session holds an item or not), CSR float32."""
        import scipy.sparse as sp

        rows = np.repeat(np.arange(self.n_sessions), self.lengths)
        matrix = sp.csr_matrix((np.ones(self.n_events, np.float32), (rows, self.items)),
                               shape=(self.n_sessions, self.n_items))
        matrix.data[:] = 1.0  # duplicates summed above: presence only
        return matrix

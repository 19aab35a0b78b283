"""The session-rec preprocessing and time split (Ludewig et al., rn5l/session-rec), on
:class:`~ml.sessions.data.SessionData`.

Preprocessing (:func:`preprocess`, session-rec's ``filter_data``, one pass in this order):

1. sessions with fewer than 2 events are dropped;
2. events of items with fewer than ``min_item_support`` (5) events left are dropped;
3. sessions left with fewer than ``min_session_length`` (2) events are dropped.

The vocabulary is then the items still present.

Time split (:func:`time_split`): the end of the data is its latest event. Window ``w`` (0 = the
latest) tests the sessions whose *first* event falls in ``[end - (w + 1) * test_days,
end - w * test_days)`` (window 0 includes the end itself) and trains on every session that
started before that window (later sessions are not used). session-rec splits on a session's
*last* event instead; we split on the first so a test session is whole and a training session can
only overlap the window by its own tail. Test events whose item is not among the training items
are removed, then test sessions shorter than 2 events are dropped. ``train`` keeps the training
items as its vocabulary; ``test`` uses the same vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.sessions.data import SessionData

DAY_SECONDS = 86_400.0
MIN_ITEM_SUPPORT = 5
MIN_SESSION_LENGTH = 2


def keep_events(data: SessionData, mask: np.ndarray) -> SessionData:
    """``data`` with only the events where ``mask`` holds (sessions may become empty; same
    vocabulary)."""
    mask = np.asarray(mask, dtype=bool)
    session_of_event = np.repeat(np.arange(data.n_sessions), data.lengths)
    lengths = np.bincount(session_of_event[mask], minlength=data.n_sessions)
    return SessionData(data.session_ids, np.r_[0, np.cumsum(lengths)].astype(np.int64),
                       data.items[mask], data.times[mask], data.item_ids)


def compact(data: SessionData) -> SessionData:
    """``data`` without empty sessions and with the vocabulary cut to the items it holds (in
    their original order)."""
    data = data.subset(data.lengths > 0)
    used = np.unique(data.items)
    remap = np.full(data.n_items, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return SessionData(data.session_ids, data.offsets, remap[data.items].astype(np.int32), data.times,
                       data.item_ids[used])


def preprocess(data: SessionData, min_item_support: int = MIN_ITEM_SUPPORT,
               min_session_length: int = MIN_SESSION_LENGTH) -> SessionData:
    """session-rec's filter (module doc), vocabulary compacted."""
    data = data.subset(data.lengths >= 2)
    support = np.bincount(data.items, minlength=data.n_items)
    data = keep_events(data, support[data.items] >= min_item_support)
    return compact(data.subset(data.lengths >= min_session_length))


def restrict_to(data: SessionData, item_ids: np.ndarray) -> SessionData:
    """``data`` re-indexed onto the vocabulary ``item_ids``: events of other items removed."""
    import pandas as pd

    codes = pd.Index(np.asarray(item_ids, dtype=str)).get_indexer(data.item_ids[data.items])
    known = codes >= 0
    data = keep_events(data, known)
    return SessionData(data.session_ids, data.offsets, codes[known].astype(np.int32), data.times,
                       np.asarray(item_ids, dtype=str))


@dataclass(frozen=True)
class Split:
    train: SessionData
    test: SessionData
    window: int
    test_from: float  # Unix seconds: the window's first second
    test_to: float  # Unix seconds: the window's end (exclusive but for window 0)
    test_sessions_before_filter: int


def time_split(data: SessionData, test_days: float, window: int = 0) -> Split:
    """The train/test split of window ``window`` (module doc). ``data`` should be preprocessed."""
    if test_days <= 0:
        raise ValueError("test_days must be > 0")
    if data.n_events == 0:
        raise ValueError("there are no sessions to split")
    end = float(data.times.max())
    test_to = end - window * test_days * DAY_SECONDS
    test_from = test_to - test_days * DAY_SECONDS
    starts = data.start_times
    in_window = (starts >= test_from) & ((starts < test_to) if window else (starts <= test_to))
    train = compact(data.subset(starts < test_from))
    if train.n_sessions == 0:
        raise ValueError(f"window {window}: no session started before the test window "
                         f"({test_days:g} days): the data spans too short a time")
    test = restrict_to(data.subset(in_window), train.item_ids)
    test = test.subset(test.lengths >= 2)
    return Split(train, test, window, test_from, test_to, int(in_window.sum()))


def sample_sessions(data: SessionData, max_sessions: int | None, seed: int) -> SessionData:
    """At most ``max_sessions`` sessions, a seeded uniform sample without replacement (kept in
    their order); all of them when ``max_sessions`` is None or not smaller."""
    if max_sessions is None or data.n_sessions <= max_sessions:
        return data
    keep = np.zeros(data.n_sessions, dtype=bool)
    keep[np.random.default_rng(seed).choice(data.n_sessions, size=max_sessions, replace=False)] = True
    return data.subset(keep)

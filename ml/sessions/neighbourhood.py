"""The index the session-neighbourhood models share (:mod:`ml.sessions.knn`), in sparse arrays.

Session kNN (Ludewig et al., the session-rec benchmark ``algorithms/knn``) finds, for the current
session, the training sessions that share items with it, keeps the ``sample_size`` most recent of
those as candidates, scores the candidates' similarity, and lets the ``k`` most similar vote for
their items. What every variant needs from the training data is held here:

- training sessions renumbered by end time (oldest first, ties in the data's session order), so a
  session's number *is* its recency and "the most recent candidates" is "the largest numbers";
- ``sessions``: session -> items CSR (each distinct item once, columns sorted), the data being the
  item's 1-based position in the session at its *last* occurrence (session-rec's ``pos_last``);
- ``items``: the transpose, item -> sessions CSR, sessions ascending (so by recency), same data;
- ``end_times``: each session's last event time, Unix seconds.

Serving never loops over sessions or items in Python: the current session's few items select
slices of the item -> sessions lists, numpy groups them (:meth:`SessionIndex.candidates`), and
the chosen neighbours' rows are gathered flat (:meth:`SessionIndex.neighbour_entries`). Only the
last ``sample_size`` sessions of each item's list are read: a session among the ``sample_size``
most recent of the union is among the ``sample_size`` most recent of every list that holds it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml.sessions.base import SessionRecommender
from ml.sessions.data import SessionData


def flat_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without the loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(np.asarray(starts, dtype=np.int64) - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def distinct_of_sorted_runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for values that are a few ascending runs (the
    concatenated item -> sessions lists of a query's items).

    A stable argsort (timsort for these dtypes) merges the runs in about linear time, where
    ``np.unique`` quicksorts from scratch: 0.07 ms instead of 0.36 ms for four popular items'
    10,000 sessions of the demo shop, once per session-model call of every page."""
    values = np.asarray(values)
    if len(values) == 0:
        return values[:0].copy(), np.empty(0, np.int64)
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.empty(len(ordered), dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(len(ordered), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def last_positions(session_items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct items of an ordered session (sorted) and the 1-based position of each one's
    last occurrence: a repeated item counts where it was seen last, as in session-rec."""
    items = np.asarray(session_items, dtype=np.int64)
    reversed_items = items[::-1]
    distinct, first_in_reversed = np.unique(reversed_items, return_index=True)
    return distinct, len(items) - first_in_reversed


@dataclass
class Candidates:
    """The candidate neighbours of one query and which query items each one holds.

    ``sessions`` are session numbers, ascending (oldest first). Each entry ``e`` says candidate
    ``entry_candidate[e]`` holds query item number ``entry_query[e]`` (an index into the query's
    distinct items) at position ``entry_position[e]`` of its own (1-based, last occurrence)."""

    sessions: np.ndarray
    entry_candidate: np.ndarray
    entry_query: np.ndarray
    entry_position: np.ndarray

    def sum_per_candidate(self, entry_values: np.ndarray) -> np.ndarray:
        return np.bincount(self.entry_candidate, weights=entry_values, minlength=len(self.sessions))

    def max_per_candidate(self, entry_values: np.ndarray) -> np.ndarray:
        out = np.zeros(len(self.sessions), dtype=np.float64)
        # values of out's dtype: maximum.at has a fast loop only when they match (positions are
        # int32, and the casting loop cost 0.3 ms of a 0.5 ms STAN call)
        np.maximum.at(out, self.entry_candidate, np.asarray(entry_values, dtype=np.float64))
        return out


class SessionIndex:
    """The training sessions as sparse matrices (see the module docstring)."""

    def __init__(self, sessions: sp.csr_matrix, items: sp.csr_matrix, end_times: np.ndarray):
        self.sessions = sessions
        self.items = items
        self.end_times = np.asarray(end_times, dtype=np.float64)
        self.session_lengths = np.diff(sessions.indptr)  # distinct items per session

    @classmethod
    def build(cls, data: SessionData) -> SessionIndex:
        lengths = data.lengths
        nonempty = np.flatnonzero(lengths > 0)
        end_times = data.end_times[nonempty]
        by_end = nonempty[np.lexsort((nonempty, end_times))]  # ties: the data's order
        number = np.full(data.n_sessions, -1, dtype=np.int64)
        number[by_end] = np.arange(len(by_end))
        session = number[np.repeat(np.arange(data.n_sessions), lengths)]
        first = np.repeat(data.offsets[:-1], lengths)
        position = np.arange(data.n_events, dtype=np.int64) - first + 1
        item = data.items.astype(np.int64)
        # one entry per (session, item): its last occurrence
        order = np.lexsort((position, item, session))
        session, item, position = session[order], item[order], position[order]
        last = np.r_[(session[1:] != session[:-1]) | (item[1:] != item[:-1]), True][:len(item)]
        session, item, position = session[last], item[last], position[last].astype(np.int32)
        shape = (len(by_end), data.n_items)
        row_starts = np.r_[0, np.cumsum(np.bincount(session, minlength=shape[0]))]
        sessions = sp.csr_matrix((position, item.astype(np.int32), row_starts), shape=shape)
        by_item = np.lexsort((session, item))
        column_starts = np.r_[0, np.cumsum(np.bincount(item, minlength=shape[1]))]
        items = sp.csr_matrix((position[by_item], session[by_item].astype(np.int32), column_starts),
                              shape=(shape[1], shape[0]))
        return cls(sessions, items, data.end_times[by_end])

    @property
    def n_sessions(self) -> int:
        return self.sessions.shape[0]

    @property
    def n_items(self) -> int:
        return self.sessions.shape[1]

    def document_frequency(self) -> np.ndarray:
        """How many training sessions hold each item."""
        return np.diff(self.items.indptr)

    # -- serving ------------------------------------------------------------------------------
    def candidates(self, query_items: np.ndarray, sample_size: int) -> Candidates:
        """The sessions holding any of ``query_items`` (distinct item indices), the
        ``sample_size`` most recent of them (all when ``sample_size`` is 0)."""
        indptr = self.items.indptr
        starts = indptr[query_items].astype(np.int64)
        ends = indptr[query_items + 1].astype(np.int64)
        if sample_size > 0:
            starts = np.maximum(starts, ends - sample_size)
        lengths = ends - starts
        flat = flat_ranges(starts, lengths)
        sessions, inverse = distinct_of_sorted_runs(self.items.indices[flat])
        query = np.repeat(np.arange(len(query_items)), lengths)
        positions = self.items.data[flat]
        if 0 < sample_size < len(sessions):
            cut = len(sessions) - sample_size
            keep = inverse >= cut
            sessions, inverse, query, positions = (
                sessions[cut:], inverse[keep] - cut, query[keep], positions[keep])
        return Candidates(sessions.astype(np.int64), inverse.astype(np.int64), query, positions)

    def neighbour_entries(self, sessions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The chosen neighbours' items, flat: ``(neighbour number, item, position)`` per entry,
        the neighbour number being the index into ``sessions``."""
        indptr = self.sessions.indptr
        starts = indptr[sessions].astype(np.int64)
        lengths = indptr[sessions + 1].astype(np.int64) - starts
        flat = flat_ranges(starts, lengths)
        owner = np.repeat(np.arange(len(sessions)), lengths)
        return owner, self.sessions.indices[flat].astype(np.int64), self.sessions.data[flat]

    # -- persistence --------------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        s = self.sessions
        return {
            "session_indptr": s.indptr.astype(np.int64),
            "session_items": s.indices.astype(np.int32),
            "session_positions": s.data.astype(np.int32),
            "session_end_times": self.end_times,
            "index_shape": np.asarray(s.shape, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> SessionIndex:
        """Rebuild from :meth:`to_arrays` (the item -> sessions transpose is derived: a CSR to
        CSC conversion keeps each column's rows ascending)."""
        shape = tuple(int(n) for n in arrays["index_shape"])
        parts = (np.asarray(arrays["session_positions"], dtype=np.int32),
                 np.asarray(arrays["session_items"], dtype=np.int32),
                 np.asarray(arrays["session_indptr"], dtype=np.int64))
        sessions = sp.csr_matrix(parts, shape=shape)
        items = sessions.tocsc()
        items = sp.csr_matrix((items.data, items.indices, items.indptr), shape=(shape[1], shape[0]))
        return cls(sessions, items, arrays["session_end_times"])


def top_k_recent(similarity: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest positive values of ``similarity`` (candidates in recency
    order, oldest first); ties at the cut go to the most recent candidates. Unordered."""
    positive = np.flatnonzero(similarity > 0)
    if k <= 0 or len(positive) <= k:
        return positive if k > 0 else np.empty(0, np.int64)
    values = similarity[positive]
    threshold = np.partition(values, len(values) - k)[len(values) - k]
    above = positive[values > threshold]
    ties = positive[values == threshold]
    return np.concatenate([above, ties[len(ties) - (k - len(above)):]])


class NeighbourhoodRecommender(SessionRecommender):
    """What the session-kNN models share: the index, its files, and the flow of :meth:`score`
    (candidates -> similarity -> top ``k`` -> votes). Subclasses provide :meth:`_similarity`
    and :meth:`_votes`."""

    def __init__(self, **params) -> None:
        for key in ("k", "sample_size"):
            if int(params[key]) < 0:
                raise ValueError(f"{key} must not be negative")
        super().__init__(**params)
        self.index: SessionIndex | None = None

    def _fit(self, data: SessionData) -> None:
        self._set_index(SessionIndex.build(data))

    def _set_index(self, index: SessionIndex) -> None:
        self.index = index

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return self.index.to_arrays()

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._set_index(SessionIndex.from_arrays(arrays))

    @abc.abstractmethod
    def _similarity(self, candidates: Candidates, query: np.ndarray, positions: np.ndarray,
                    length: int) -> np.ndarray:
        """Each candidate's similarity to the query (distinct items ``query``, their last
        1-based ``positions`` in the session of ``length`` events); 0 = not a neighbour."""

    def _votes(self, candidates: Candidates, chosen: np.ndarray, similarity: np.ndarray,
               owner: np.ndarray, items: np.ndarray, item_positions: np.ndarray,
               positions: np.ndarray, length: int) -> np.ndarray:
        """What each neighbour entry (``owner`` = index into ``chosen``, ``items``,
        ``item_positions`` in the neighbour) adds to its item's score; by default the
        neighbour's similarity (``similarity`` is already restricted to ``chosen``)."""
        return similarity[owner]

    def score(self, session_items: np.ndarray) -> np.ndarray:
        """Votes of the ``k`` nearest neighbour sessions; ``-inf`` for items no neighbour holds.
        An empty session (or one whose items no training session holds) has no neighbours:
        every score is ``-inf``."""
        self._check_fitted()
        items = self._session_array(session_items)
        scores = np.full(self.n_items, -np.inf)
        if len(items) == 0 or self.index.n_sessions == 0:
            return scores
        query, positions = last_positions(items)
        candidates = self.index.candidates(query, int(self.params["sample_size"]))
        if len(candidates.sessions) == 0:
            return scores
        similarity = self._similarity(candidates, query, positions, len(items))
        chosen = top_k_recent(similarity, int(self.params["k"]))
        if len(chosen) == 0:
            return scores
        chosen = np.sort(chosen)
        owner, neighbour_items, neighbour_positions = self.index.neighbour_entries(
            candidates.sessions[chosen])
        votes = self._votes(candidates, chosen, similarity[chosen], owner, neighbour_items,
                            neighbour_positions, positions, len(items))
        total = np.bincount(neighbour_items, weights=votes, minlength=self.n_items)
        evidence = np.bincount(neighbour_items, weights=votes > 0, minlength=self.n_items) > 0
        scores[evidence] = total[evidence]
        return scores

"""Session-neighbourhood models: SKNN, V-SKNN and STAN, after the session-rec benchmark.

All three (Ludewig et al., "Empirical analysis of session-based recommendation algorithms";
session-rec ``algorithms/knn/sknn.py``, ``vsknn.py``, ``stan.py``) recommend what the training
sessions most similar to the current one went on to hold:

1. candidates: the ``sample_size`` most recent training sessions (by end time) that share at
   least one item with the current session (``sample_size=0``: all of them);
2. similarity of each candidate to the current session, each model its own;
3. the ``k`` most similar candidates are the neighbours (ties at the cut: the more recent);
4. an item's score is the sum of the votes of the neighbours holding it (by default the
   neighbour's similarity); ``-inf`` where no neighbour holds it.

The models are deterministic and score with numpy/scipy on the shared sparse index of
:mod:`ml.sessions.neighbourhood`. Items of the current session are scored like any other
(session-rec's ``remind=True``); :meth:`recommend` can filter them. An empty session, or one whose
items no training session holds, has no neighbours: every score is ``-inf``.

Deliberate differences from session-rec: the cosine is the real cosine (session-rec's ``sknn``
computes ``|a & b| / sqrt(|a|) * sqrt(|b|)``); the ``linear`` decays are clamped at 0 (session-rec
gives weight 0 to every position past the 10th, and negative score weights past step 10); IDF
counts sessions holding the item (session-rec divides by its number of events, which can go
negative); scores are not divided by their maximum (rank-neutral).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.sessions.neighbourhood import Candidates, NeighbourhoodRecommender

SECONDS_PER_DAY = 86_400.0

#: Weight of the current session's item at 1-based ``position`` of ``length`` events (V-SKNN's
#: ``weighting``): the most recent items weigh most, except under ``same``.
POSITION_WEIGHTS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "same": lambda i, n: np.ones(len(i)),
    "div": lambda i, n: i / n,
    "linear": lambda i, n: np.maximum(0.0, 1.0 - 0.1 * (n - i)),
    "quadratic": lambda i, n: (i / n) ** 2,
    "log": lambda i, n: 1.0 / np.log10(n - i + 1.7),
}
#: Weight of a neighbour's votes by ``step``, how far back (1 = the last event) the most recent
#: current-session item it holds was seen (V-SKNN's ``weighting_score``).
STEP_WEIGHTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "same": lambda j: np.ones(len(j)),
    "div": lambda j: 1.0 / j,
    "linear": lambda j: np.maximum(0.0, 1.0 - 0.1 * j),
    "quadratic": lambda j: 1.0 / j**2,
    "log": lambda j: 1.0 / np.log10(j + 1.7),
}


def _choice(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r}")
    return value


def _weighted_cosine(candidates: Candidates, lengths: np.ndarray,
                     weights: np.ndarray) -> np.ndarray:
    """``sum of the shared items' weights / (|weights| * sqrt(candidate's distinct items))``:
    the cosine of the weighted current session and the candidate's binary item set."""
    norm = np.sqrt(np.sum(weights**2))
    if norm == 0:
        return np.zeros(len(candidates.sessions))
    shared = candidates.sum_per_candidate(weights[candidates.entry_query])
    return shared / (norm * np.sqrt(lengths[candidates.sessions]))


class SessionKNN(NeighbourhoodRecommender):
    """Session kNN (session-rec ``ContextKNN``): sessions as binary item sets.

    ``similarity``: ``"cosine"`` (``|s & n| / sqrt(|s| |n|)``) or ``"jaccard"``
    (``|s & n| / |s | n|``); a neighbour votes its similarity for each of its items.

    Defaults: session-rec's tuned SKNN for Retailrocket (session-based, window) uses
    ``k=50, sample_size=5000, similarity=cosine``; we keep its sample and cosine and take
    ``k=100``, a little more recall for a top-20 widget on a shop whose sessions are short.
    """

    name = "sknn"

    def __init__(self, k: int = 100, sample_size: int = 5000, similarity: str = "cosine") -> None:
        super().__init__(k=int(k), sample_size=int(sample_size),
                         similarity=_choice("similarity", similarity, {"cosine", "jaccard"}))

    def _similarity(self, candidates, query, positions, length):
        shared = np.bincount(candidates.entry_candidate, minlength=len(candidates.sessions))
        theirs = self.index.session_lengths[candidates.sessions]
        if self.params["similarity"] == "jaccard":
            return shared / (len(query) + theirs - shared)
        return shared / np.sqrt(len(query) * theirs)


class VSKNN(NeighbourhoodRecommender):
    """Vector-multiplication session kNN (session-rec ``VMContextKNN``).

    The current session is a vector over its distinct items weighted by the position of their
    last occurrence (``weighting``, see :data:`POSITION_WEIGHTS`; ``linear``: the last event 1,
    each step back 0.1 less). ``similarity``: ``"vec"`` (dot product with the candidate's binary
    items over the number of distinct current items) or ``"cosine"``. A neighbour's vote is its
    similarity times ``STEP_WEIGHTS[weighting_score](step)``, ``step`` counting back to the most
    recent current item it holds, and times ``1 + idf_weighting * idf(item)`` with
    ``idf(item) = log(training sessions / sessions holding item)`` (``idf_weighting=0``: off).

    Defaults: session-rec's constructor (``vec``, ``div`` step weights, no IDF) with the linear
    position decay, ``k=100`` and ``sample_size=2500`` (its Retailrocket configurations range
    over ``k`` 50-1500 and samples 500-2500; beyond ~100 neighbours the extra votes are tiny).
    """

    name = "vsknn"

    def __init__(self, k: int = 100, sample_size: int = 2500, weighting: str = "linear",
                 weighting_score: str = "div", similarity: str = "vec",
                 idf_weighting: float = 0.0) -> None:
        if float(idf_weighting) < 0:
            raise ValueError("idf_weighting must not be negative")
        super().__init__(k=int(k), sample_size=int(sample_size),
                         weighting=_choice("weighting", weighting, POSITION_WEIGHTS),
                         weighting_score=_choice("weighting_score", weighting_score, STEP_WEIGHTS),
                         similarity=_choice("similarity", similarity, {"vec", "cosine"}),
                         idf_weighting=float(idf_weighting))
        self.idf = np.empty(0)

    def _set_index(self, index) -> None:
        super()._set_index(index)
        frequency = index.document_frequency()
        self.idf = np.zeros(index.n_items)
        seen = frequency > 0
        self.idf[seen] = np.log(index.n_sessions / frequency[seen])

    def _query_weights(self, positions: np.ndarray, length: int) -> np.ndarray:
        return POSITION_WEIGHTS[self.params["weighting"]](positions.astype(np.float64), length)

    def _similarity(self, candidates, query, positions, length):
        weights = self._query_weights(positions, length)
        if self.params["similarity"] == "cosine":
            return _weighted_cosine(candidates, self.index.session_lengths, weights)
        return candidates.sum_per_candidate(weights[candidates.entry_query]) / len(query)

    def _votes(self, candidates, chosen, similarity, owner, items, item_positions, positions,
               length):
        latest = candidates.max_per_candidate(positions[candidates.entry_query])[chosen]
        decay = STEP_WEIGHTS[self.params["weighting_score"]](length - latest + 1.0)
        votes = (similarity * decay)[owner]
        if self.params["idf_weighting"]:
            votes = votes * (1.0 + self.params["idf_weighting"] * self.idf[items])
        return votes


class STAN(NeighbourhoodRecommender):
    """Sequence and Time Aware Neighbourhood (Garg et al., SIGIR 2019; session-rec ``STAN``).

    Three exponential decays, each switched off by ``None``:

    - ``lambda_spw``: the current session's item at 1-based position ``p`` (last occurrence) of
      ``L`` events weighs ``exp((p - L) / lambda_spw)``; the similarity is the cosine of that
      weighted vector and the candidate's binary items;
    - ``lambda_snh`` (days): the similarity is multiplied by
      ``exp(-(t_ref - t_end) / lambda_snh)``, ``t_end`` the candidate's end time and ``t_ref`` the
      newest training session's end, the same for every request, so the ranking is the one
      "now" would give (the factors differ by a common constant);
    - ``lambda_inh``: in a neighbour, item ``i`` votes ``similarity * exp(-|p(i) - p*| /
      lambda_inh)``, ``p(i)`` its last position there and ``p*`` the last position there of any
      item the current session holds (session-rec's ``pos_i_star``).

    Defaults: session-rec's Retailrocket "stan-hr" configuration (``k=200, sample_size=5000,
    lambda_spw=3.62, lambda_snh=40, lambda_inh=7.24``), the one tuned for hit rate at 20, which
    is what a recommendation widget shows. (Its "stan-mrr" one, ``k=500, sample_size=1000,
    1.81, 100, 0.4525``, favours the very first slot.)
    """

    name = "stan"

    def __init__(self, k: int = 200, sample_size: int = 5000, lambda_spw: float | None = 3.62,
                 lambda_snh: float | None = 40.0, lambda_inh: float | None = 7.24) -> None:
        lambdas = {"lambda_spw": lambda_spw, "lambda_snh": lambda_snh, "lambda_inh": lambda_inh}
        for key, value in lambdas.items():
            if value is not None and not float(value) > 0:
                raise ValueError(f"{key} must be positive (or None to switch it off)")
        super().__init__(k=int(k), sample_size=int(sample_size),
                         **{key: None if v is None else float(v) for key, v in lambdas.items()})

    def _similarity(self, candidates, query, positions, length):
        spw = self.params["lambda_spw"]
        weights = (np.ones(len(query)) if spw is None
                   else np.exp((positions.astype(np.float64) - length) / spw))
        similarity = _weighted_cosine(candidates, self.index.session_lengths, weights)
        snh = self.params["lambda_snh"]
        if snh is not None:
            end_times = self.index.end_times
            age = end_times[-1] - end_times[candidates.sessions]
            similarity = similarity * np.exp(-age / (snh * SECONDS_PER_DAY))
        return similarity

    def _votes(self, candidates, chosen, similarity, owner, items, item_positions, positions,
               length):
        votes = similarity[owner]
        inh = self.params["lambda_inh"]
        if inh is not None:
            star = candidates.max_per_candidate(candidates.entry_position)[chosen]
            votes = votes * np.exp(-np.abs(item_positions - star[owner]) / inh)
        return votes

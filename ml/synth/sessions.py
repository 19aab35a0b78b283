"""Browsing sessions with planted sequential patterns, and writers of them in the YOOCHOOSE and
Retailrocket layouts (for the importers, the session protocol and the benchmarks).

The pattern: ``n_chains`` *chains*, each an ordered run of ``chain_length`` distinct items drawn
from a small pool of ``chain_items`` items, so every pool item sits in several chains (about
``n_chains * chain_length / chain_items``) at different positions. A session picks a chain
(Zipf-like chain popularity), starts at its beginning (or, with ``mid_start``, at a random
position) and follows it for 2 or more steps. So the next item is a function of the chain, which
the last item alone does not tell (it belongs to several chains, and co-occurrence cannot tell
what came before it from what comes after) but the last two or three items in order do. On top,
each click is a *noise* click with probability ``noise``: an item from the whole catalogue of
``n_items``, drawn by a long-tailed popularity, inserted between the chain's steps.

Visitors: sessions are grouped into visitors (1-5 sessions each) whose sessions lie more than
30 idle minutes apart, while clicks within a session are at most ~20 minutes apart, so cutting a
visitor's clicks at 30 idle minutes (:func:`ml.sessions.data.sessionise`, the Retailrocket
rule) gives back exactly the generated sessions. Everything is deterministic for ``seed``; the
cost is linear in the events (vectorised), so 10M events take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

START_SECONDS = 1_430_622_000  # 2015-05-03, inside the Retailrocket reader's accepted range
FIRST_ITEM_ID = 100_000  # integer item ids (the public layouts need integers)


@dataclass(frozen=True)
class SessionSynthConfig:
    n_sessions: int = 5_000
    n_items: int = 500
    n_chains: int = 60
    chain_length: int = 6
    chain_items: int = 90
    noise: float = 0.1
    mid_start: float = 0.3  # share of sessions that start mid-chain
    days: float = 30.0
    seed: int = 42


@dataclass(frozen=True)
class PlantedSessions:
    """``events``: one row per click, ordered by session then time: ``session_id`` and
    ``visitor_id`` (int64), ``item_id`` (int64), ``timestamp`` (float Unix seconds) and ``noise``
    (bool: not a chain step). ``chains``: ``(n_chains, chain_length)`` item ids."""

    events: pd.DataFrame
    chains: np.ndarray
    config: SessionSynthConfig


def _zipf(rng: np.random.Generator, pool: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, pool + 1) ** exponent
    return rng.permutation(pool)[rng.choice(pool, size=size, p=weights / weights.sum())]


def _within(lengths: np.ndarray) -> np.ndarray:
    """0, 1, ... counting within each run of ``lengths``."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


def generate_sessions(config: SessionSynthConfig = SessionSynthConfig()) -> PlantedSessions:
    """Sessions with planted chains (module doc)."""
    c = config
    if c.chain_length < 3 or c.chain_items < c.chain_length or c.n_items < c.chain_items:
        raise ValueError("need chain_length >= 3 and chain_length <= chain_items <= n_items")
    rng = np.random.default_rng(c.seed)
    chains = np.stack([rng.choice(c.chain_items, size=c.chain_length, replace=False) for _ in range(c.n_chains)])
    chain = _zipf(rng, c.n_chains, c.n_sessions, 0.6)
    start = np.where(rng.random(c.n_sessions) < c.mid_start, rng.integers(0, c.chain_length - 1, c.n_sessions), 0)
    room = c.chain_length - start  # >= 2
    steps = 2 + np.floor(rng.random(c.n_sessions) * (room - 1)).astype(np.int64)
    # chain clicks
    owner = np.repeat(np.arange(c.n_sessions), steps)
    position = _within(steps)
    items = chains[chain[owner], start[owner] + position]
    keys = position + 0.5
    # noise clicks, inserted between the steps at random
    n_noise = rng.binomial(steps, c.noise / (1.0 - c.noise)) if c.noise > 0 else np.zeros(c.n_sessions, np.int64)
    noise_owner = np.repeat(np.arange(c.n_sessions), n_noise)
    noise_items = _zipf(rng, c.n_items, len(noise_owner), 1.0)
    noise_keys = rng.random(len(noise_owner)) * steps[noise_owner]
    owner = np.r_[owner, noise_owner]
    items = np.r_[items, noise_items]
    is_noise = np.r_[np.zeros(len(keys), bool), np.ones(len(noise_owner), bool)]
    order = np.lexsort((np.r_[keys, noise_keys], owner))
    owner, items, is_noise = owner[order], items[order], is_noise[order]
    lengths = np.bincount(owner, minlength=c.n_sessions)
    # times: clicks 5 s .. 20 min apart; visitors of 1-5 sessions, sessions > 30 min apart
    gaps = np.minimum(5.0 + rng.exponential(60.0, len(owner)), 1_200.0)
    gaps[np.cumsum(lengths) - lengths] = 0.0
    offsets = np.cumsum(gaps)
    offsets -= np.repeat(offsets[np.cumsum(lengths) - lengths], lengths)
    span = offsets[np.cumsum(lengths) - 1]
    per_visitor = np.minimum(rng.geometric(0.55, c.n_sessions), 5)
    per_visitor = per_visitor[: int(np.searchsorted(np.cumsum(per_visitor), c.n_sessions)) + 1]
    per_visitor[-1] -= per_visitor.sum() - c.n_sessions
    visitor = np.repeat(np.arange(len(per_visitor)), per_visitor)
    begin = rng.random(c.n_sessions) * c.days * 86_400.0
    begin = begin[np.lexsort((begin, visitor))]  # each visitor's sessions in time order
    rank_in_visitor = _within(per_visitor)
    for r in range(1, int(per_visitor.max())):  # more than 31 idle minutes after the previous one
        later = np.flatnonzero(rank_in_visitor == r)
        begin[later] = np.maximum(begin[later], begin[later - 1] + span[later - 1] + 1_860.0)
    session_start = START_SECONDS + begin
    # session ids by start time, as a log numbers them
    rank = np.empty(c.n_sessions, np.int64)
    rank[np.argsort(session_start, kind="stable")] = np.arange(1, c.n_sessions + 1)
    events = pd.DataFrame({
        "session_id": rank[owner], "visitor_id": visitor[owner] + 1,
        "item_id": (items + FIRST_ITEM_ID).astype(np.int64),
        "timestamp": np.repeat(session_start, lengths) + offsets, "noise": is_noise,
    })
    events = events.sort_values(["session_id", "timestamp"], kind="stable").reset_index(drop=True)
    return PlantedSessions(events, chains + FIRST_ITEM_ID, config)


def _iso_ms(seconds: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(np.round(seconds.to_numpy() * 1000).astype(np.int64), unit="ms")
    return stamps.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"


def write_yoochoose_clicks(events: pd.DataFrame, path: str | Path) -> Path:
    """``session_id,timestamp,item_id,category`` lines, no header (YOOCHOOSE clicks layout);
    category ``0`` (unknown) or ``1``-``12`` from the item id."""
    path = Path(path)
    category = np.where(events["item_id"].to_numpy() % 3 == 0, 0, events["item_id"].to_numpy() % 12 + 1)
    out = pd.DataFrame({"session_id": events["session_id"], "timestamp": _iso_ms(events["timestamp"]).to_numpy(),
                        "item_id": events["item_id"], "category": category})
    out.to_csv(path, header=False, index=False)
    return path


def write_retailrocket_events(events: pd.DataFrame, path: str | Path) -> Path:
    """``events.csv`` of the Retailrocket layout: every click a ``view`` of its visitor, in time
    order, millisecond timestamps, empty transaction ids."""
    path = Path(path)
    ordered = events.sort_values(["timestamp", "session_id"], kind="stable")
    out = pd.DataFrame({"timestamp": np.round(ordered["timestamp"].to_numpy() * 1000).astype(np.int64),
                        "visitorid": ordered["visitor_id"].to_numpy(), "event": "view",
                        "itemid": ordered["item_id"].to_numpy(), "transactionid": ""})
    out.to_csv(path, index=False)
    return path

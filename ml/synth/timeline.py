"""Event batches and time placement for :mod:`ml.synth.shop`.

The simulation builds events as column batches (session, position, sub-step, item, type) and
only at the end places them in time: within a session by dwell times, sessions by a seasonal
start pushed apart so one shopper's sessions never overlap.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_SESSION_GAP = 1800                  # seconds between sessions of one shopper (sessionizer-safe)
VIEW_DWELL_MEDIAN_S = 35.0
EVENT_TYPES = np.array(["view", "addtocart", "removefromcart", "transaction"], dtype=object)
VIEW, ATC, REMOVE, TX = 0, 1, 2, 3
# Order of events sharing a browsing position: a removal comes before that position's view,
# a cart add and the complement's view/add follow it, the checkout follows the last position.
SUB_REMOVE, SUB_VIEW, SUB_CART, SUB_COMPLEMENT_VIEW, SUB_COMPLEMENT_CART, SUB_CHECKOUT = -1, 0, 1, 2, 3, 4
Events = dict[str, np.ndarray]  # columns session, pos, sub, item, type (all int64)


@dataclass
class Sessions:
    """Planned sessions (row j = session j); start offsets are seconds from the window start."""

    owner: np.ndarray
    length: np.ndarray       # number of browsing views
    focus: np.ndarray        # leaf the session is about
    device: np.ndarray
    raw_start: np.ndarray    # seasonal draw, before overlapping sessions are pushed apart


def first_in_group(*keys: np.ndarray) -> np.ndarray:
    """Mask of rows whose key tuple appears for the first time (rows already in order)."""
    return ~pd.DataFrame({str(i): k for i, k in enumerate(keys)}).duplicated().to_numpy()


def part(session: np.ndarray, pos: np.ndarray, sub: int | np.ndarray, item: np.ndarray, etype: int) -> Events:
    """An event batch; scalars are broadcast to the batch length."""
    cols = {"session": session, "pos": pos, "sub": sub, "item": item, "type": etype}
    return {k: np.broadcast_to(np.asarray(v, dtype=np.int64), session.shape) for k, v in cols.items()}


def concat(*parts: Events) -> Events:
    """Concatenate event batches column by column."""
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def take(ev: Events, index: np.ndarray) -> Events:
    """Select rows (mask or indices) of an event batch."""
    return {k: v[index] for k, v in ev.items()}


def in_session_order(ev: Events) -> Events:
    """Sort by session, position, then sub-step (removal < view < cart < complement < checkout)."""
    return take(ev, np.lexsort((ev["sub"], ev["pos"], ev["session"])))



def within_session_offsets(rng: np.random.Generator, ev: Events) -> np.ndarray:
    """Seconds from the session start for events already in session order.

    Gaps: view dwell lognormal (median 35 s), cart/removal a few seconds, checkout one to
    seven minutes; all lines of one checkout share its timestamp.
    """
    etype, session, n = ev["type"], ev["session"], len(ev["type"])
    dwell = np.clip(rng.lognormal(np.log(VIEW_DWELL_MEDIAN_S), 0.9, n), 3, 1200).astype(np.int64)
    gap = np.select([etype == VIEW, etype == ATC, etype == REMOVE],
                    [dwell, rng.integers(4, 45, n), rng.integers(4, 60, n)], rng.integers(60, 400, n))
    starts = np.r_[True, session[1:] != session[:-1]]
    repeat_tx = (etype == TX) & np.r_[False, etype[:-1] == TX] & ~starts
    total = np.cumsum(np.where(starts | repeat_tx, 0, gap))
    return total - total[np.flatnonzero(starts)][np.cumsum(starts) - 1]


def place_sessions(raw_start: np.ndarray, duration: np.ndarray, owner: np.ndarray, horizon: int) -> np.ndarray:
    """Push a shopper's overlapping sessions apart (>= MIN_SESSION_GAP) and keep them in the window.

    new_start[i] = D[i] + cummax_{j<=i}(start[j] - D[j]) with D the running sum of
    duration + gap within the shopper: the sequential "start after the previous one ends"
    rule in vectorised form.
    """
    order = np.lexsort((raw_start, owner))
    step = duration[order] + MIN_SESSION_GAP
    csum = np.cumsum(step) - step
    group_first = np.r_[True, owner[order][1:] != owner[order][:-1]]
    d = csum - csum[np.flatnonzero(group_first)][np.cumsum(group_first) - 1]
    placed = np.empty_like(raw_start)
    placed[order] = pd.Series(raw_start[order] - d).groupby(owner[order]).cummax().to_numpy() + d
    return np.maximum(np.minimum(placed, horizon - 1 - duration), 0)


def timeline(rng: np.random.Generator, sess: Sessions, ev: Events,
              days: int) -> tuple[Events, np.ndarray, np.ndarray]:
    """Absolute second offsets of all events, sorted by time; returns (events, seconds, session rank)."""
    ev = in_session_order(ev)
    offset = within_session_offsets(rng, ev)
    n_sessions = len(sess.length)
    duration = np.zeros(n_sessions, dtype=np.int64)
    np.maximum.at(duration, ev["session"], offset)
    placed = place_sessions(sess.raw_start, duration, sess.owner, days * 86400)
    rank = np.empty(n_sessions, dtype=np.int64)
    rank[np.lexsort((np.arange(n_sessions), placed))] = np.arange(n_sessions)
    seconds = placed[ev["session"]] + offset
    order = np.lexsort((np.arange(len(seconds)), rank[ev["session"]], seconds))
    return take(ev, order), seconds[order], rank

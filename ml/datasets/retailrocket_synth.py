"""Synthetic files in the exact Retailrocket and YOOCHOOSE layouts, to time and test importers
without the real (large, separately licensed) downloads.

:func:`write_retailrocket` writes ``events.csv``, ``item_properties_part1.csv``,
``item_properties_part2.csv`` and ``category_tree.csv`` with the real file's proportions:
96.7% views, 2.5% add-to-carts, 0.8% transaction rows grouped into transactions of 1-4 items
(the real mean is 1.27), ~235k items and ~1.4M visitors at the full 2.76M events (both scaled
linearly below that), Zipf-like (long-tailed) visitor activity and item popularity, 4.5 months
of timestamps, and lines in no particular order (the real file is not sorted either, which is
the hard case for index maintenance). Property snapshots: 1-2 ``categoryid``, 1-3
``available`` and 1-3 ``790`` (price, ``n``-prefixed) per item plus hashed noise properties.

:func:`write_yoochoose` writes small ``yoochoose-clicks.dat`` / ``yoochoose-buys.dat`` files.
Everything is deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FULL_EVENTS = 2_756_101
FULL_ITEMS = 235_061
FULL_VISITORS = 1_407_580
SHARES = {"view": 0.9667, "addtocart": 0.0252, "transaction": 0.0081}
START_MS, END_MS = 1_430_622_000_000, 1_442_545_000_000  # 2015-05-03 .. 2015-09-18
FULL_CATEGORIES = 1_669


def _zipf_choice(rng: np.random.Generator, pool: int, size: int, exponent: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, pool + 1) ** exponent
    picks = rng.choice(pool, size=size, p=weights / weights.sum())
    return rng.permutation(pool)[picks]  # popular ids are scattered, not the smallest


def _transactions(rng, rows: int, visitors: np.ndarray, items: np.ndarray) -> pd.DataFrame:
    sizes = np.minimum(rng.geometric(0.78, size=rows), 4)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), rows)) + 1]
    sizes[-1] -= sizes.sum() - rows
    sizes = sizes[sizes > 0]
    basket = np.repeat(np.arange(len(sizes)), sizes)
    when = rng.integers(START_MS, END_MS, size=len(sizes))
    who = visitors[rng.integers(0, len(visitors), size=len(sizes))]
    return pd.DataFrame({
        "timestamp": when[basket] + rng.integers(0, 3, size=rows), "visitorid": who[basket],
        "event": "transaction", "itemid": items[rng.integers(0, len(items), size=rows)],
        "transactionid": pd.array(rng.permutation(len(sizes) * 3)[: len(sizes)][basket], dtype="Int64"),
    })


def synthetic_events(n_events: int, seed: int = 1) -> pd.DataFrame:
    """The events table of :func:`write_retailrocket` (columns as in ``events.csv``)."""
    rng = np.random.default_rng(seed)
    n_items = max(10, round(FULL_ITEMS * n_events / FULL_EVENTS))
    n_visitors = max(10, round(FULL_VISITORS * n_events / FULL_EVENTS * 1.6))  # not all get events
    n_tx = max(1, round(n_events * SHARES["transaction"]))
    n_cart = max(1, round(n_events * SHARES["addtocart"]))
    n_view = n_events - n_tx - n_cart
    visitor_ids = rng.permutation(n_visitors * 2)[:n_visitors]  # sparse ids like the real file
    item_ids = rng.permutation(n_items * 2)[:n_items]
    visitors = visitor_ids[_zipf_choice(rng, n_visitors, n_view + n_cart, 0.55)]
    items = item_ids[_zipf_choice(rng, n_items, n_view + n_cart, 0.9)]
    browsing = pd.DataFrame({
        "timestamp": rng.integers(START_MS, END_MS, size=n_view + n_cart), "visitorid": visitors,
        "event": np.where(np.arange(n_view + n_cart) < n_view, "view", "addtocart"), "itemid": items,
        "transactionid": pd.array([None] * (n_view + n_cart), dtype="Int64"),
    })
    buyers = visitors[: max(1, n_cart)]  # buyers are browsers too
    frame = pd.concat([browsing, _transactions(rng, n_tx, buyers, items[: max(1, n_cart)])], ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _properties(rng, item_ids: np.ndarray, categories: np.ndarray) -> pd.DataFrame:
    parts = []
    for name, low, high in (("categoryid", 1, 3), ("available", 1, 4), ("790", 1, 4), ("888", 1, 3), ("6", 0, 2)):
        counts = rng.integers(low, high, size=len(item_ids))
        items = np.repeat(item_ids, counts)
        n = len(items)
        if name == "categoryid":
            values = categories[rng.integers(0, len(categories), size=n)].astype(str)
        elif name == "available":
            values = np.where(rng.random(n) < 0.7, "1", "0")
        elif name == "790":
            values = np.char.add("n", np.char.mod("%.3f", np.round(rng.lognormal(9, 1.2, size=n) / 120) * 120))
        else:
            values = np.char.add(rng.integers(1, 1_300_000, size=n).astype(str), " n24.000 424566")
        parts.append(pd.DataFrame({"timestamp": rng.integers(START_MS, END_MS, size=n), "itemid": items,
                                   "property": name, "value": values}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def write_retailrocket(folder: str | Path, n_events: int = FULL_EVENTS, seed: int = 1) -> dict[str, Path]:
    """Write the four Retailrocket files into ``folder``; returns their paths by role
    (``events``, ``properties1``, ``properties2``, ``categories``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 7)
    events = synthetic_events(n_events, seed)
    paths = {"events": folder / "events.csv", "properties1": folder / "item_properties_part1.csv",
             "properties2": folder / "item_properties_part2.csv", "categories": folder / "category_tree.csv"}
    events.to_csv(paths["events"], index=False, na_rep="", lineterminator="\n")
    n_categories = int(min(FULL_CATEGORIES, max(5, events["itemid"].nunique() // 100)))
    category_ids = rng.permutation(n_categories * 2)[:n_categories]
    roots = max(1, n_categories // 60)
    parents = [pd.NA] * roots + [int(category_ids[rng.integers(0, i)]) for i in range(roots, n_categories)]
    tree = pd.DataFrame({"categoryid": category_ids, "parentid": pd.array(parents, dtype="Int64")})
    tree.iloc[rng.permutation(n_categories)].to_csv(paths["categories"], index=False, na_rep="", lineterminator="\n")
    properties = _properties(rng, np.sort(events["itemid"].unique()), category_ids)
    half = len(properties) // 2
    properties.iloc[:half].to_csv(paths["properties1"], index=False, lineterminator="\n")
    properties.iloc[half:].to_csv(paths["properties2"], index=False, lineterminator="\n")
    return paths


def write_yoochoose(folder: str | Path, n_sessions: int = 1_000, seed: int = 1) -> dict[str, Path]:
    """Write ``yoochoose-clicks.dat`` and ``yoochoose-buys.dat`` (no header, ISO times with a
    ``Z``); about 5% of sessions buy. Returns the paths (``clicks``, ``buys``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sessions = np.sort(rng.choice(n_sessions * 10, size=n_sessions, replace=False)) + 1
    lengths = rng.integers(1, 8, size=n_sessions)
    session = np.repeat(sessions, lengths)
    start = np.repeat(rng.integers(1_396_310_400_000, 1_411_948_800_000, size=n_sessions), lengths)
    step = np.concatenate([np.arange(k) for k in lengths]) * rng.integers(5_000, 120_000, size=len(session))
    when = pd.to_datetime(start + step, unit="ms").strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    n_items = max(10, n_sessions // 4)
    item = 214_500_000 + _zipf_choice(rng, n_items, len(session), 0.9)
    kind = rng.random(len(session))
    category = np.where(kind < 0.6, "0", np.where(kind < 0.85, (rng.integers(1, 13, len(session))).astype(str),
                        np.where(kind < 0.93, "S", rng.integers(2_000_000_000, 2_099_999_999, len(session)).astype(str))))
    clicks = pd.DataFrame({"session": session, "timestamp": when, "item": item, "category": category})
    paths = {"clicks": folder / "yoochoose-clicks.dat", "buys": folder / "yoochoose-buys.dat"}
    clicks.to_csv(paths["clicks"], index=False, header=False, lineterminator="\n")
    bought = clicks[np.repeat(rng.random(n_sessions) < 0.05, lengths) & (rng.random(len(clicks)) < 0.5)]
    buys = pd.DataFrame({"session": bought["session"], "timestamp": bought["timestamp"], "item": bought["item"],
                         "price": np.where(rng.random(len(bought)) < 0.2, 0, rng.integers(300, 30_000, len(bought))),
                         "quantity": np.where(rng.random(len(bought)) < 0.2, 0, rng.integers(1, 4, len(bought)))})
    buys.to_csv(paths["buys"], index=False, header=False, lineterminator="\n")
    return paths

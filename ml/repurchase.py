"""Which categories people buy again, and after how long: what "Buy it again" is timed by.

From purchases (who, item, when) and each item's category: per category, the buyers, the buyers
who bought the same item again on a later day, and the median number of days between one
purchase of an item and that buyer's next purchase of it. A category is **repeat-purchase** when
at least ``min_repeat_buyers`` people and ``min_repeat_share`` of its buyers re-bought an item of it
(coffee beans, socks), not when one customer bought two tents.

An item is **due** for a buyer once ``due_share`` of its category's median interval has passed
since their last purchase of it; the most overdue first, and never once ``stale_factor`` times
the interval has passed (they moved on).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

import numpy as np
import pandas as pd

from ml.constants import ITEM_COL, TIME_COL, USER_COL
from ml.data.timeutil import to_utc_series


@dataclass(frozen=True)
class CategoryCycle:
    buyers: int
    repeat_buyers: int
    median_days: float

    @property
    def repeat_share(self) -> float:
        return self.repeat_buyers / self.buyers if self.buyers else 0.0


def repurchase_cycles(purchases: pd.DataFrame, item_category: Mapping[str, int],
                      min_repeat_buyers: int = 3, min_repeat_share: float = 0.02) -> dict[int, CategoryCycle]:
    """The repeat-purchase categories of ``purchases`` (columns user_id, item_id, timestamp)."""
    if purchases.empty:
        return {}
    frame = pd.DataFrame({
        USER_COL: purchases[USER_COL].astype(str).to_numpy(),
        ITEM_COL: purchases[ITEM_COL].astype(str).to_numpy(),
        "day": to_utc_series(purchases[TIME_COL]).dt.floor("D").to_numpy(),
    })
    frame["category"] = frame[ITEM_COL].map(item_category)
    frame = frame.dropna(subset=["category"]).drop_duplicates([USER_COL, ITEM_COL, "day"])
    frame = frame.sort_values([USER_COL, ITEM_COL, "day"], ignore_index=True)
    same = (frame[USER_COL].shift() == frame[USER_COL]) & (frame[ITEM_COL].shift() == frame[ITEM_COL])
    gaps = (frame["day"] - frame["day"].shift()).dt.total_seconds() / 86_400.0
    frame["gap"] = np.where(same, gaps, np.nan)
    cycles = {}
    for category, group in frame.groupby("category"):
        buyers = group[USER_COL].nunique()
        repeaters = group.loc[group["gap"].notna(), USER_COL].nunique()
        if repeaters >= min_repeat_buyers and repeaters / buyers >= min_repeat_share:
            cycles[int(category)] = CategoryCycle(int(buyers), int(repeaters), float(group["gap"].median()))
    return cycles


def due_items(bought_at: Mapping[int, datetime], item_category: Mapping[int, int],
              cycles: Mapping[int, CategoryCycle], now: datetime,
              due_share: float = 0.8, stale_factor: float = 4.0) -> list[int]:
    """Items whose repurchase is due (see the module doc), the most overdue first."""
    scored = []
    for item, when in bought_at.items():
        cycle = cycles.get(item_category.get(item, -1))
        if cycle is None or cycle.median_days <= 0:
            continue
        ratio = (now - when).total_seconds() / 86_400.0 / cycle.median_days
        if due_share <= ratio < stale_factor:
            scored.append((-ratio, item))
    return [item for _, item in sorted(scored)]

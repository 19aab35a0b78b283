"""The click model's features: one definition shared by training and serving.

Every feature is categorical text (numbers are bucketed), computed by the same vectorised
functions for the 300k impression rows of a training job and for the 100 candidates of one
request, so the two can never drift apart. The buckets that depend on the data (price and
popularity quantiles) are fitted at training time and published with the model
(:class:`Buckets`).

- user side: ``segment`` (lifecycle segment from order count and recency), ``recency`` and
  ``frequency`` buckets of the shopper's orders before the impression, ``device``, ``hour``,
  ``weekday``, ``top_category`` (the category the shopper has viewed most);
- item / campaign side: ``category``, ``department``, ``brand``, ``price`` and ``popularity``
  buckets, ``offer`` (a campaign's offer kind; ``none`` for products);
- context: ``widget``, ``position`` (0-9, later positions together) and ``retrieval`` (the
  bucket of the item's rank in the retrieval model's list for this shopper).

A campaign banner is scored like an item whose category/brand is the campaign's target and
whose price/popularity are ``campaign``.

The functions take and return plain numpy arrays (a dict of columns per side): pandas would
cost more than the model itself on the 100 rows of a request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

USER_FEATURES = ("segment", "recency", "frequency", "device", "hour", "weekday", "top_category")
ITEM_FEATURES = ("category", "department", "brand", "price", "popularity", "offer")
CONTEXT_FEATURES = ("widget", "position", "retrieval")
FEATURE_COLUMNS = USER_FEATURES + ITEM_FEATURES + CONTEXT_FEATURES

NONE = "none"
ANY = "any"
CAMPAIGN = "campaign"
BANNER = "banner"
UNSCORED = "unscored"
LAST_POSITION = 9  # positions beyond are one bucket: few widgets are wider, clicks there are rare
RANK_EDGES = (5, 20, 50, 100)  # retrieval rank buckets: 1-5, 6-20, 21-50, 51-100, 101+
LAPSED_AFTER_DAYS = 60


Columns = dict[str, np.ndarray]


@dataclass(frozen=True)
class Buckets:
    """Quantile edges fitted on the training data (saved with the model)."""

    price: np.ndarray
    popularity: np.ndarray

    @classmethod
    def fit(cls, prices, popularity, n: int = 8) -> "Buckets":
        return cls(_edges(prices, n), _edges(popularity, n))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"price_edges": self.price, "popularity_edges": self.popularity}

    @classmethod
    def from_arrays(cls, arrays) -> "Buckets":
        return cls(np.asarray(arrays["price_edges"], float), np.asarray(arrays["popularity_edges"], float))


def _numbers(values) -> np.ndarray:
    """Floats with NaN for missing (None, NaN, pd.NA); Decimal prices become floats."""
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(float)
    return np.array([np.nan if pd.isna(v) else float(v) for v in array.ravel()], dtype=float)


def _edges(values, n: int) -> np.ndarray:
    numbers = _numbers(values)
    numbers = numbers[~np.isnan(numbers)]
    if numbers.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(numbers, np.linspace(0, 1, n + 1)[1:-1]))


def _bucket(values, edges: np.ndarray, prefix: str) -> np.ndarray:
    numbers = _numbers(values)
    labels = np.char.add(prefix, np.searchsorted(edges, numbers, side="right").astype(str))
    return np.where(np.isnan(numbers), NONE, labels).astype(object)


def _text(values, missing: str) -> np.ndarray:
    return np.array([missing if pd.isna(v) else str(v) for v in values], dtype=object)


def ids_as_text(ids, missing: str) -> np.ndarray:
    """Database ids as text ("12", not "12.0" after a round trip through floats)."""
    return np.array([missing if pd.isna(v) else str(int(v)) for v in ids], dtype=object)


# -- user side ---------------------------------------------------------------------------------


def recency(days_since_order) -> np.ndarray:
    days = _numbers(days_since_order)
    with np.errstate(invalid="ignore"):
        return np.select([days < 7, days < 30, days < 90, days >= 90],
                         ["week", "month", "quarter", "older"], "never").astype(object)


def frequency(orders) -> np.ndarray:
    count = np.nan_to_num(_numbers(orders))
    return np.select([count <= 0, count == 1, count <= 3], ["0", "1", "2-3"], "4+").astype(object)


def segment(orders, days_since_order) -> np.ndarray:
    """Lifecycle segment (the R and F of RFM): prospect, new buyer, repeat, loyal, lapsed, at risk."""
    count = np.nan_to_num(_numbers(orders))
    days = np.nan_to_num(_numbers(days_since_order), nan=np.inf)
    lapsed = days > LAPSED_AFTER_DAYS
    return np.select(
        [count <= 0, lapsed & (count == 1), lapsed, count == 1, count <= 3],
        ["prospect", "lapsed", "at risk", "new buyer", "repeat"], "loyal",
    ).astype(object)


def user_columns(orders, days_since_order, device, moment, top_category) -> Columns:
    """User-side features: order count before the moment, days since the last order (NaN:
    none), device, the moment (naive UTC) and the most-viewed category id (None: none)."""
    moments = np.asarray(moment, dtype="datetime64[s]")
    day = moments.astype("datetime64[D]")
    hours = ((moments - day).astype("timedelta64[h]").astype(int)).astype(str)
    weekdays = ((day.astype(np.int64) + 3) % 7).astype(str)  # 1970-01-01 was a Thursday; Monday = 0
    return {
        "segment": segment(orders, days_since_order),
        "recency": recency(days_since_order),
        "frequency": frequency(orders),
        "device": _text(device, "desktop"),
        "hour": hours.astype(object),
        "weekday": weekdays.astype(object),
        "top_category": ids_as_text(top_category, NONE),
    }


def user_values(orders: int, days_since_order: float | None, device: str | None, moment: datetime,
                top_category: int | None) -> tuple[str, ...]:
    """:func:`user_columns` for one shopper, in ``USER_FEATURES`` order, in plain Python: a page
    asks once or twice per request, where one-element numpy selects cost ~0.2 ms a call. The
    columns stay the definition (training uses them); a test holds the two equal."""
    count = orders if orders == orders and orders is not None else 0  # NaN or None: no orders
    days = days_since_order if days_since_order is not None and days_since_order == days_since_order else None
    if count <= 0:
        segment_ = "prospect"
    elif days is None or days > LAPSED_AFTER_DAYS:
        segment_ = "lapsed" if count == 1 else "at risk"
    else:
        segment_ = "new buyer" if count == 1 else "repeat" if count <= 3 else "loyal"
    if days is None:
        recency_ = "never"
    else:
        recency_ = "week" if days < 7 else "month" if days < 30 else "quarter" if days < 90 else "older"
    frequency_ = "0" if count <= 0 else "1" if count == 1 else "2-3" if count <= 3 else "4+"
    moment = moment.replace(microsecond=0)
    return (segment_, recency_, frequency_, "desktop" if device is None else str(device), str(moment.hour),
            str(moment.weekday()), NONE if top_category is None else str(int(top_category)))


# -- item / campaign side ------------------------------------------------------------------------


def item_columns(category_id, department, brand, price, popularity, buckets: Buckets) -> Columns:
    """Item-side features of products."""
    n = len(category_id)
    return {
        "category": ids_as_text(category_id, NONE),
        "department": _text(department, NONE),
        "brand": _text(brand, NONE),
        "price": _bucket(price, buckets.price, "p"),
        "popularity": _bucket(popularity, buckets.popularity, "q"),
        "offer": np.full(n, NONE, dtype=object),
    }


def campaign_columns(target_category_id, department, target_brand, offer_kind) -> Columns:
    """Campaign-side features: what the banner promotes, and its offer kind."""
    n = len(target_category_id)
    return {
        "category": ids_as_text(target_category_id, ANY),
        "department": _text(department, ANY),
        "brand": _text(target_brand, ANY),
        "price": np.full(n, CAMPAIGN, dtype=object),
        "popularity": np.full(n, CAMPAIGN, dtype=object),
        "offer": _text(offer_kind, NONE),
    }


# -- context -------------------------------------------------------------------------------------


def position(positions) -> np.ndarray:
    return np.minimum(np.asarray(positions, dtype=int), LAST_POSITION).astype(str).astype(object)


def retrieval(ranks) -> np.ndarray:
    """Bucket of a 1-based retrieval rank; NaN (the model did not score it) is ``unscored``."""
    numbers = _numbers(ranks)
    labels = np.char.add("r", np.searchsorted(np.asarray(RANK_EDGES), np.nan_to_num(numbers), side="left").astype(str))
    return np.where(np.isnan(numbers), UNSCORED, labels).astype(object)

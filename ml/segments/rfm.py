"""RFM: recency, frequency and monetary value per customer, quintile scores and named segments.

Values (at a reference time, usually "now" or the training cut-off):

- ``recency_days``: whole days from the customer's last order to the reference time;
- ``frequency``: number of orders;
- ``monetary``: total spend (sum of the order totals).

Scores 1-5 are quintiles, higher is better (for recency: more recent = higher). A customer's
score is ``1 + floor(5 * below / (n - 1))`` (capped at 5), where ``below`` is the number of
customers strictly worse on that measure and ``n`` the number of customers. So:

- with distinct values this is an equal-frequency quintile split (10 customers score
  1,1,2,2,3,3,4,4,5,5) and it stays symmetric for tiny shops (3 customers score 1, 3, 5; 2
  score 1, 5; a lone customer gets the neutral 3);
- ties share a score, deterministically and whatever the row order: the score of the lowest
  tied customer. This matters for frequency, where most customers of a young shop have exactly
  one order: ``rank(method="first")`` would spread identical one-time buyers over scores 1-3
  (and so over different segments) by the accident of their id order; here they all score 1,
  and a customer only scores high by beating others.

Segments use the widely used R x FM map (as in Putler's RFM segments): ``FM`` is the mean of
the F and M scores rounded half up, ``(F + M + 1) // 2``. The cells of :data:`SEGMENT_MAP`
(rows R = 5 .. 1, columns FM = 1 .. 5)::

            FM=1          FM=2                FM=3            FM=4             FM=5
    R=5     New           Potential Loyalist  Loyal           Champions        Champions
    R=4     Promising     Potential Loyalist  Loyal           Champions        Champions
    R=3     Promising     Need Attention      Need Attention  Loyal            Loyal
    R=2     Hibernating   Hibernating         At Risk         At Risk          Can't Lose Them
    R=1     Lost          Lost                At Risk         Can't Lose Them  Can't Lose Them
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.data.timeutil import to_utc_timestamp
from ml.segments.frames import CREATED_COL, CUSTOMER_COL, ORDER_COL, TOTAL_COL, prepare_orders

CHAMPIONS = "Champions"
LOYAL = "Loyal"
POTENTIAL_LOYALIST = "Potential Loyalist"
NEW = "New"
PROMISING = "Promising"
NEED_ATTENTION = "Need Attention"
AT_RISK = "At Risk"
CANT_LOSE = "Can't Lose Them"
HIBERNATING = "Hibernating"
LOST = "Lost"

#: Every segment name, best customers first (the order reports list them in).
SEGMENTS: tuple[str, ...] = (
    CHAMPIONS, LOYAL, POTENTIAL_LOYALIST, NEW, PROMISING,
    NEED_ATTENTION, AT_RISK, CANT_LOSE, HIBERNATING, LOST,
)

#: ``SEGMENT_MAP[r][fm]`` is the segment of R score ``r`` and combined FM score ``fm`` (index 0
#: unused so the scores index directly). Rows are listed R = 1 .. 5 here; the module docstring
#: shows the same table with R = 5 on top.
SEGMENT_MAP: tuple[tuple[str, ...], ...] = (
    ("",) * 6,
    ("", LOST, LOST, AT_RISK, CANT_LOSE, CANT_LOSE),
    ("", HIBERNATING, HIBERNATING, AT_RISK, AT_RISK, CANT_LOSE),
    ("", PROMISING, NEED_ATTENTION, NEED_ATTENTION, LOYAL, LOYAL),
    ("", PROMISING, POTENTIAL_LOYALIST, LOYAL, CHAMPIONS, CHAMPIONS),
    ("", NEW, POTENTIAL_LOYALIST, LOYAL, CHAMPIONS, CHAMPIONS),
)

#: Columns of :func:`compute_rfm`'s result (indexed by ``customer_id``).
RFM_COLUMNS: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "fm_score", "segment",
)


def quintile_scores(values: np.ndarray | pd.Series, higher_is_better: bool = True) -> np.ndarray:
    """Scores 1-5 by ``1 + floor(5 * below / (n - 1))`` (see the module docstring); int8.

    ``below`` counts the values strictly worse than each one, so ties share the score of the
    lowest tied value. One value scores 3; an empty input gives an empty array.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        return np.empty(0, dtype=np.int8)
    if n == 1:
        return np.full(1, 3, dtype=np.int8)
    if not higher_is_better:
        x = -x
    below = np.searchsorted(np.sort(x), x, side="left")
    return (1 + np.minimum(4, (5 * below) // (n - 1))).astype(np.int8)


def segment_of_scores(r_score: int, fm_score: int) -> str:
    """The segment name of one (R, FM) score pair, both in 1..5."""
    if not (1 <= r_score <= 5 and 1 <= fm_score <= 5):
        raise ValueError(f"scores must be in 1..5, got R={r_score}, FM={fm_score}")
    return SEGMENT_MAP[r_score][fm_score]


def compute_rfm(orders: pd.DataFrame, reference_time: object) -> pd.DataFrame:
    """RFM values, scores and segment per customer, indexed by ``customer_id`` (sorted).

    ``orders`` needs ``customer_id, order_id, created_at, total``; orders after
    ``reference_time`` are ignored (the values are "as of" that time). Columns:
    :data:`RFM_COLUMNS`.
    """
    frame = prepare_orders(orders)
    reference = to_utc_timestamp(reference_time)
    frame = frame[frame[CREATED_COL] <= reference]
    if frame.empty:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in RFM_COLUMNS})
        return empty.rename_axis(CUSTOMER_COL)
    grouped = frame.groupby(CUSTOMER_COL, sort=True)
    last = grouped[CREATED_COL].max()
    result = pd.DataFrame(
        {
            "recency_days": ((reference - last) // pd.Timedelta(days=1)).astype(np.int64),
            "frequency": grouped[ORDER_COL].nunique().astype(np.int64),
            "monetary": grouped[TOTAL_COL].sum().astype(np.float64),
        }
    )
    result["r_score"] = quintile_scores(result["recency_days"], higher_is_better=False)
    result["f_score"] = quintile_scores(result["frequency"])
    result["m_score"] = quintile_scores(result["monetary"])
    result["fm_score"] = ((result["f_score"].astype(int) + result["m_score"] + 1) // 2).astype(
        np.int8
    )
    result["segment"] = [
        SEGMENT_MAP[r][fm] for r, fm in zip(result["r_score"], result["fm_score"])
    ]
    result.index.name = CUSTOMER_COL
    return result[list(RFM_COLUMNS)]


def segment_sizes(rfm: pd.DataFrame) -> dict[str, int]:
    """Customers per segment, every segment listed (0 when empty), in :data:`SEGMENTS` order."""
    counts = rfm["segment"].value_counts() if len(rfm) else pd.Series(dtype=np.int64)
    return {name: int(counts.get(name, 0)) for name in SEGMENTS}

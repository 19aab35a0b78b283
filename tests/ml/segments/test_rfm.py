"""RFM values, quintile scores and segment names on customers whose answer was worked out by
hand (the arithmetic is in the comments), plus the edge cases: ties, tiny shops, row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.segments.rfm import (
    SEGMENT_MAP,
    SEGMENTS,
    compute_rfm,
    quintile_scores,
    segment_of_scores,
    segment_sizes,
)

REFERENCE = "2026-01-31T00:00:00Z"


def hand_orders() -> pd.DataFrame:
    rows = [
        # A: last order Jan 30 00:00 -> 1 day; 3 orders; 100 + 50 + 150 = 300
        ("A", "a1", "2026-01-30T00:00:00Z", 100.0),
        ("A", "a2", "2026-01-25T10:00:00Z", 50.0),
        ("A", "a3", "2026-01-20T10:00:00Z", 150.0),
        # B: last order Jan 29 06:00 -> 1.75 days, floored to 1 (a tie with A); 1 order; 20
        ("B", "b1", "2026-01-29T06:00:00Z", 20.0),
        # C: last order Jan 1 -> 30 days; 2 orders; 500 + 400 = 900
        ("C", "c1", "2026-01-01T00:00:00Z", 500.0),
        ("C", "c2", "2025-12-15T00:00:00Z", 400.0),
        # D: last order Nov 2 -> 29 + 31 + 30 = 90 days; 1 order; 10
        ("D", "d1", "2025-11-02T00:00:00Z", 10.0),
        # E: last order Dec 1 -> 30 + 31 = 61 days; 2 orders; 60 + 60 = 120
        ("E", "e1", "2025-12-01T00:00:00Z", 60.0),
        ("E", "e2", "2025-11-20T00:00:00Z", 60.0),
        # after the reference time: ignored
        ("A", "a4", "2026-02-02T00:00:00Z", 999.0),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "created_at", "total"])


@pytest.fixture(scope="module")
def rfm() -> pd.DataFrame:
    return compute_rfm(hand_orders(), REFERENCE)


def test_values(rfm):
    assert rfm.index.tolist() == ["A", "B", "C", "D", "E"]
    assert rfm["recency_days"].tolist() == [1, 1, 30, 90, 61]
    assert rfm["frequency"].tolist() == [3, 1, 2, 1, 2]
    assert rfm["monetary"].tolist() == [300.0, 20.0, 900.0, 10.0, 120.0]


def test_scores(rfm):
    # n = 5, score = 1 + min(4, floor(5 * below / 4)): below 0 -> 1, 1 -> 2, 2 -> 3, 3 -> 4, 4 -> 5.
    # Recency (fewer days is better): below = customers with strictly more days.
    #   A, B (1 day): C, E, D are worse -> 3 -> 4; C (30): E, D -> 2 -> 3; E (61): D -> 2; D -> 1.
    assert rfm["r_score"].tolist() == [4, 4, 3, 1, 2]
    # Frequency: A (3): 4 below -> 5; C, E (2): B, D below -> 3; B, D (1): none -> 1.
    assert rfm["f_score"].tolist() == [5, 1, 3, 1, 3]
    # Monetary: C 900 -> 5, A 300 -> 4, E 120 -> 3, B 20 -> 2, D 10 -> 1.
    assert rfm["m_score"].tolist() == [4, 2, 5, 1, 3]
    # FM = (F + M + 1) // 2: A (5+4+1)//2 = 5, B (1+2+1)//2 = 2, C (3+5+1)//2 = 4,
    # D (1+1+1)//2 = 1, E (3+3+1)//2 = 3.
    assert rfm["fm_score"].tolist() == [5, 2, 4, 1, 3]


def test_segments(rfm):
    # A R4 FM5 Champions; B R4 FM2 Potential Loyalist; C R3 FM4 Loyal; D R1 FM1 Lost;
    # E R2 FM3 At Risk.
    assert rfm["segment"].tolist() == [
        "Champions", "Potential Loyalist", "Loyal", "Lost", "At Risk",
    ]
    sizes = segment_sizes(rfm)
    assert list(sizes) == list(SEGMENTS)
    assert sizes["Champions"] == 1 and sizes["New"] == 0 and sum(sizes.values()) == 5


def test_row_order_does_not_matter(rfm):
    shuffled = hand_orders().sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(compute_rfm(shuffled, REFERENCE), rfm)


def test_quintiles_of_distinct_values_are_equal_sized():
    # 10 values: below = 0..9, floor(5 * below / 9) = 0,0,1,1,2,2,3,3,4,5 -> capped at 4.
    assert quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert np.bincount(quintile_scores(np.arange(1000)))[1:].tolist() == [200] * 5
    assert quintile_scores(np.arange(10), higher_is_better=False).tolist() == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1,
    ]


def test_ties_share_the_lowest_score():
    # Six one-order customers and four with more orders: all six one-timers score 1, whatever
    # their position; 2 (below 6): 1 + floor(30 / 9) = 4; 3 (below 8): capped 5.
    scores = quintile_scores([1, 1, 2, 1, 1, 3, 1, 2, 1, 3])
    assert scores.tolist() == [1, 1, 4, 1, 1, 5, 1, 4, 1, 5]


@pytest.mark.parametrize(
    "values, expected",
    [
        ([], []), ([7.0], [3]), ([1.0, 2.0], [1, 5]), ([1.0, 2.0, 3.0], [1, 3, 5]),
        ([5.0, 5.0], [1, 1]),
    ],
)
def test_fewer_than_five_customers(values, expected):
    assert quintile_scores(values).tolist() == expected


def test_tiny_shop_still_gets_segments():
    orders = hand_orders()
    one = compute_rfm(orders[orders["customer_id"] == "C"], REFERENCE)
    # A lone customer scores the neutral 3 everywhere: R3, FM3 -> Need Attention.
    assert one[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [3, 3, 3]
    assert one["segment"].tolist() == ["Need Attention"]
    assert compute_rfm(orders.iloc[:0], REFERENCE).empty


def test_segment_map_covers_every_cell_and_every_segment():
    cells = {segment_of_scores(r, fm) for r in range(1, 6) for fm in range(1, 6)}
    assert cells == set(SEGMENTS)
    assert SEGMENT_MAP[5][1] == "New" and SEGMENT_MAP[1][5] == "Can't Lose Them"
    with pytest.raises(ValueError):
        segment_of_scores(0, 3)

"""Business-unit metrics on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.resources import (
    COUNT_BUCKETS,
    average_intra_type_similarity,
    bu_hit_rate_at_k,
    by_count_bucket,
    by_unit,
    strongest_items,
    top_hit_rate_at_k,
    visitor_unit_hits,
)

# item:         0      1      2           3 (unknown)  4
ITEM_UNITS = [{"a"}, {"b"}, {"a", "b"}, set(), {"c"}]


def test_bu_hit_rate_by_hand():
    recommended = [
        [1, 2, 3, 4],  # profile {0} -> units {a}: only item 2 (a, b) hits -> 1/4
        [0, 1],  # profile {3}: unknown unit only -> skipped
        [0, 2, 3],  # profile {1, 4} -> {b, c}: item 2 hits; short list still / k -> 1/4
        [2, 2, 0, 4],  # profile {0}: item 2 counted once, item 0 hits -> 2/4
    ]
    consumed = [{0}, {3}, {1, 4}, {0}]
    hits = visitor_unit_hits(recommended, consumed, ITEM_UNITS, k=4)
    np.testing.assert_allclose(hits, [0.25, np.nan, 0.25, 0.5])
    assert bu_hit_rate_at_k(recommended, consumed, ITEM_UNITS, k=4) == pytest.approx(1 / 3)


def test_only_the_first_k_suggestions_count():
    assert bu_hit_rate_at_k([[1, 0, 2]], [{0}], ITEM_UNITS, k=1) == 0.0
    assert bu_hit_rate_at_k([[1, 0, 2]], [{0}], ITEM_UNITS, k=2) == 0.5
    assert bu_hit_rate_at_k([[1, 0, 2]], [{0}], ITEM_UNITS, k=3) == pytest.approx(2 / 3)


def test_top_hit_rate_uses_the_strongest_interactions_with_ties():
    train = sp.csr_matrix(np.array([
        [6.0, 2.0, 0.0, 0.0, 0.0],  # strongest: item 0 (a)
        [0.0, 3.0, 0.0, 0.0, 3.0],  # tie: items 1 and 4 (b, c)
        [0.0, 0.0, 0.0, 0.0, 0.0],  # nothing
    ]))
    strongest = strongest_items(train)
    assert strongest == [{0}, {1, 4}, set()]
    recommended = [[1, 4], [0, 4], [0]]
    # row 0: {a}: items 1 (b), 4 (c) miss -> 0; row 1: {b, c}: item 4 hits -> 1/2; row 2 skipped
    assert top_hit_rate_at_k(recommended, strongest, ITEM_UNITS, k=2) == pytest.approx(0.25)
    # against every consumed asset, row 0 also has b (item 1) -> 1/2
    consumed = [{0, 1}, {1, 4}, set()]
    assert bu_hit_rate_at_k(recommended, consumed, ITEM_UNITS, k=2) == pytest.approx(0.5)
    assert strongest_items(train, rows=[1]) == [{1, 4}]


def test_no_visitor_left_gives_zero_and_bad_input_is_refused():
    assert bu_hit_rate_at_k([[0]], [{3}], ITEM_UNITS, k=10) == 0.0
    assert bu_hit_rate_at_k([], [], ITEM_UNITS, k=10) == 0.0
    with pytest.raises(ValueError, match="k must be"):
        bu_hit_rate_at_k([[0]], [{0}], ITEM_UNITS, k=0)
    with pytest.raises(ValueError, match="visitors"):
        bu_hit_rate_at_k([[0]], [{0}, {1}], ITEM_UNITS, k=1)


def test_per_unit_averages_count_a_visitor_in_each_of_their_units():
    values = {"bu": np.array([1.0, 0.0, 0.5, np.nan])}
    members = [{0}, {1}, {2}, {3}]  # units: {a}, {b}, {a, b}, unknown
    table = by_unit(values, members, ITEM_UNITS)
    assert table == {
        "a": {"bu": 0.75, "n_visitors": 2},
        "b": {"bu": 0.25, "n_visitors": 2},
    }
    assert by_unit(np.array([0.2]), [{4}], ITEM_UNITS) == {"c": {"value": 0.2, "n_visitors": 1}}


def test_breakdown_by_interaction_count():
    assert [label for label, _, _ in COUNT_BUCKETS] == ["2", "3", "4-5", "6-9", "10+"]
    counts = [2, 2, 3, 5, 4, 10, 37]
    hits = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    rows = by_count_bucket({"hit_rate@10": hits}, counts)
    assert [(r["bucket"], r["n_visitors"], r["hit_rate@10"]) for r in rows] == [
        ("2", 2, 0.5), ("3", 1, 1.0), ("4-5", 2, 0.5), ("6-9", 0, 0.0), ("10+", 2, 0.5)]


def test_average_intra_type_similarity_by_hand():
    similarity = np.array([
        [1.0, 0.8, 0.2, 0.0],
        [0.6, 1.0, 0.4, 0.0],
        [0.2, 0.4, 1.0, 0.9],
        [0.0, 0.0, 0.9, 1.0],
    ])
    types = ["Ebook", "Ebook", "Webinar", "None"]
    # Ebook: ordered pairs (0, 1) and (1, 0): (0.8 + 0.6) / 2; one-item types have no pairs
    expected = {"Ebook": 0.7}
    assert average_intra_type_similarity(similarity, types) == pytest.approx(expected)
    assert average_intra_type_similarity(sp.csr_matrix(similarity), types) == pytest.approx(
        expected)
    three = ["Ebook", "Ebook", "Ebook", "None"]  # 6 ordered pairs: (0.8+0.6+0.2+0.2+0.4+0.4)/6
    assert average_intra_type_similarity(similarity, three)["Ebook"] == pytest.approx(2.6 / 6)
    with pytest.raises(ValueError, match="4 x 4"):
        average_intra_type_similarity(similarity[:3, :3], types)

"""The filler's diversity step on product cards: MMR picks the missing slots from the model's
over-fetched candidates; the rest follows in the model's order; none changes nothing."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from storefront.catalog.snapshot import CategoryNode, ProductCard
from storefront.recommendations.diversity import diversify


def _card(pid: int, category: int, brand: str) -> ProductCard:
    node = CategoryNode(category, f"c{category}", f"c{category}", None, None)
    return ProductCard(pid, f"S{pid}", f"P{pid}", brand, Decimal("1"), 5, True, category, 0.0, datetime(2026, 1, 1), node)


def test_diversify_spreads_the_first_slots_and_keeps_the_rest_in_order():
    # the model's ranking: four of category 1, then one each of 2 and 3, then more of 1 (brands all differ)
    cards = [_card(i, c, f"b{i}") for i, c in enumerate([1, 1, 1, 1, 2, 3, 1, 1, 1, 1], start=1)]
    assert diversify(cards, "none", 3) == cards
    high = diversify(cards, "high", 3)
    assert [c.id for c in high[:3]] == [1, 5, 6]  # the best, then the other categories
    assert [c.id for c in high[3:9]] == [2, 3, 4, 7, 8, 9]  # the rest of the pool (3 x 3) in model order
    assert high[9:] == cards[9:]  # beyond the pool: untouched
    assert sorted(c.id for c in high) == [c.id for c in cards]


def test_diversify_reads_brands_and_tolerates_tiny_lists():
    # four categories; the second shares the first's brand (half alike): high passes it over,
    # low keeps it (rank relevance 1, 2/3, 1/3, 0: 0.5 * 2/3 - 0.5 * 0.5 < 0.5 * 1/3)
    cards = [_card(1, 1, "x"), _card(2, 2, "x"), _card(3, 3, "y"), _card(4, 4, "z")]
    assert [c.id for c in diversify(cards, "high", 2)[:2]] == [1, 3]
    assert [c.id for c in diversify(cards, "low", 2)[:2]] == [1, 2]
    no_brand = [_card(1, 1, ""), _card(2, 1, ""), _card(3, 2, "")]
    assert [c.id for c in diversify(no_brand, "high", 2)[:2]] == [1, 3]
    assert diversify(cards[:1], "high", 3) == cards[:1]
    assert diversify([], "high", 3) == []
    assert diversify(cards, "unknown-level", 2) == cards

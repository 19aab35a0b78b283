"""The merchandising rules as a pure function, one kind at a time, on plain product cards: a boost
moves an item up, a bury down, a pin places it, an exclusion removes it; a rule not in force (ended,
not started, switched off, another widget's) does nothing; a pin the business rules forbid is not
shown; every touched product carries its rule's id."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from storefront.catalog.snapshot import CategoryNode, ProductCard
from storefront.recommendations.merchandising.apply import Rule, apply, in_force, pins_of, record_of

NOW = datetime(2026, 6, 1, 12, 0)
WIDGET = "home_for_you"


def _card(pid: int, category: int = 1, brand: str = "") -> ProductCard:
    node = CategoryNode(category, f"c{category}", f"c{category}", None, None)
    return ProductCard(pid, f"S{pid}", f"P{pid}", brand or f"b{pid}", Decimal("1"), 5, True, category, 0.0,
                       datetime(2026, 1, 1), node)


CARDS = [_card(i) for i in range(1, 11)]  # the step's ranking: 1 first, 10 last; every brand differs


def _ids(applied) -> list[int]:
    return [card.id for card in applied.products]


def test_a_boost_moves_an_item_up_by_dividing_its_rank():
    boost = Rule(1, "boost", WIDGET, factor=2.0, brand="b6")
    applied = apply(CARDS, [boost], WIDGET, NOW)
    assert _ids(applied) == [1, 2, 6, 3, 4, 5, 7, 8, 9, 10]  # rank 6 / 2 = 3, ahead of the untouched third
    assert applied.touched == {6: (1,)}
    big = apply(CARDS, [Rule(2, "boost", WIDGET, factor=100.0, brand="B10")], WIDGET, NOW)  # brands ignore case
    assert _ids(big)[0] == 10


def test_a_bury_moves_an_item_down_and_rules_multiply():
    bury = Rule(1, "bury", WIDGET, factor=0.5, brand="b2")
    assert _ids(apply(CARDS, [bury], WIDGET, NOW)) == [1, 3, 4, 2, 5, 6, 7, 8, 9, 10]  # rank 2 / 0.5 = 4
    assert _ids(apply(CARDS, [Rule(1, "boost", WIDGET, factor=1.5, brand="b3")], WIDGET, NOW))[:3] == [1, 3, 2]
    assert _ids(apply(CARDS, [Rule(1, "bury", WIDGET, factor=0.1, brand="b1")], WIDGET, NOW))[-1] == 1
    # a category (with its subcategories, as resolved) and a product rule on the same item multiply
    boosted = apply(CARDS, [Rule(3, "boost", WIDGET, factor=2.0, categories=frozenset({1}), products=(8,)),
                            Rule(4, "boost", WIDGET, factor=2.0, brand="b8")], WIDGET, NOW)
    assert _ids(boosted)[:3] == [1, 8, 2] and boosted.touched == {8: (3, 4)}


def test_a_category_or_campaign_target_matches_on_every_criterion_it_has():
    cards = [_card(1, 1, "acme"), _card(2, 2, "acme"), _card(3, 2, "lumen"), _card(4, 3, "lumen")]
    campaign = Rule(7, "boost", factor=10.0, brand="lumen", categories=frozenset({2, 3}))  # all widgets
    applied = apply(cards, [campaign], WIDGET, NOW)
    assert _ids(applied) == [3, 4, 1, 2] and set(applied.touched) == {3, 4}
    assert not Rule(8, "boost", factor=2.0).matches(cards[0])  # no target: matches nothing


def test_exclude_removes_what_it_matches_and_says_so():
    applied = apply(CARDS, [Rule(5, "exclude", WIDGET, products=(2, 4))], WIDGET, NOW)
    assert _ids(applied) == [1, 3, 5, 6, 7, 8, 9, 10]
    assert applied.removed == {2: (5,), 4: (5,)}
    assert record_of(applied.products, applied.touched, applied.removed) == {"5": []}


def test_a_pin_places_its_products_at_their_positions():
    pin = Rule(9, "pin", WIDGET, products=(10, 7), positions=(1, 4))
    applied = apply(CARDS, [pin], WIDGET, NOW, n=6)
    assert _ids(applied) == [10, 1, 2, 7, 3, 4]  # n kept: room left for the two pins
    assert applied.touched == {10: (9,), 7: (9,)}
    assert record_of(applied.products, applied.touched) == {"9": [0, 3]}
    # a product the step did not propose is pinned all the same, when the business rules allow it
    outsider = _card(99)
    applied = apply(CARDS, [Rule(9, "pin", WIDGET, products=(99,), positions=(2,))], WIDGET, NOW,
                    pinnable={99: outsider}, n=4)
    assert _ids(applied) == [1, 99, 2, 3]
    # a position beyond the widget's length shows the pin last
    assert _ids(apply(CARDS[:2], [Rule(9, "pin", WIDGET, products=(99,), positions=(8,))], WIDGET, NOW,
                      pinnable={99: outsider})) == [1, 2, 99]


def test_a_pin_the_business_rules_forbid_is_not_shown():
    """The filler passes as ``pinnable`` only the eligible pinned products: out of stock,
    inactive, in the cart, bought or the page's own product are left out, so they never show
    and their slot is filled as usual."""
    pin = Rule(9, "pin", WIDGET, products=(99, 3), positions=(1, 2))
    applied = apply(CARDS, [pin], WIDGET, NOW, pinnable={3: CARDS[2]}, n=4)  # 99: out of stock, say
    assert _ids(applied) == [1, 3, 2, 4]
    assert 99 not in applied.touched


def test_at_most_max_pins_oldest_rules_first_and_a_taken_position_moves_on():
    rules = [Rule(2, "pin", WIDGET, products=(20, 21), positions=(1, 2)),
             Rule(1, "pin", WIDGET, products=(10, 11), positions=(1, 5))]
    pins = pins_of(in_force(rules, WIDGET, NOW), max_pins=3)
    assert [(p.rule_id, p.product_id, p.position) for p in pins] == [(1, 10, 1), (1, 11, 5), (2, 20, 2)]


def test_exclusion_beats_a_pin():
    rules = [Rule(1, "pin", WIDGET, products=(3,), positions=(1,)), Rule(2, "exclude", WIDGET, products=(3,))]
    applied = apply(CARDS, rules, WIDGET, NOW, n=3)
    assert _ids(applied) == [1, 2, 4] and applied.removed == {3: (2,)}


def test_a_rule_not_in_force_does_nothing():
    hour = timedelta(hours=1)
    idle = [
        Rule(1, "boost", WIDGET, factor=50.0, brand="b10", starts_at=NOW - 2 * hour, ends_at=NOW - hour),  # ended
        Rule(2, "boost", WIDGET, factor=50.0, brand="b10", starts_at=NOW + hour),  # not started
        Rule(3, "boost", WIDGET, factor=50.0, brand="b10", active=False),  # switched off
        Rule(4, "boost", "cart_for_you", factor=50.0, brand="b10"),  # another widget's
        Rule(5, "pin", WIDGET, products=(9,), positions=(1,), ends_at=NOW),  # ends_at is exclusive
        Rule(6, "exclude", WIDGET, products=(1,), starts_at=NOW + hour),
    ]
    applied = apply(CARDS, idle, WIDGET, NOW, n=5)
    assert _ids(applied) == [1, 2, 3, 4, 5] and applied.touched == {} and applied.removed == {}
    assert record_of(applied.products, applied.touched, applied.removed) is None
    live = Rule(7, "boost", WIDGET, factor=50.0, brand="b10", starts_at=NOW, ends_at=NOW + hour)  # starts inclusive
    assert _ids(apply(CARDS, [*idle, live], WIDGET, NOW))[0] == 10

"""The pricing rules (README "Promotions") as pure functions: each offer type, targets, stacking,
rounding to the cent and never below zero. No database: ``storefront.orders.pricing`` is pure."""
from __future__ import annotations

from decimal import Decimal

import pytest

from storefront.orders.pricing import LineInput, Promotion, ShippingRule, cents, price

D = Decimal
SHIP = ShippingRule(D("4.95"), D("50.00"))
NO_SHIP = ShippingRule(D("0"), None)
COOKWARE, POTS, LAMPS = 1, 2, 3  # POTS is a subcategory of COOKWARE


def line(product_id: int, price_: str, quantity: int = 1, category: int = POTS, brand: str = "Acme") -> LineInput:
    return LineInput(product_id, category, brand, D(price_), quantity)


def promo(campaign_id: int, kind: str, value: str | None = None, buy: int | None = None, *,
          categories=None, brand=None, products=None) -> Promotion:
    return Promotion(campaign_id, f"Campaign {campaign_id}", kind, f"label {campaign_id}",
                     D(value) if value else None, buy,
                     frozenset(categories) if categories is not None else None, brand,
                     frozenset(products) if products is not None else None)


def test_no_promotion_charges_list_prices_and_the_shipping_fee():
    priced = price([line(1, "19.99", 2), line(2, "5.00")], [], SHIP)
    assert (priced.subtotal, priced.goods_discount, priced.shipping, priced.total) == (
        D("44.98"), D("0"), D("4.95"), D("49.93"))
    assert priced.free_shipping_gap == D("5.02")


def test_goods_at_the_threshold_ship_free_and_the_threshold_counts_after_discounts():
    assert price([line(1, "50.00")], [], SHIP).shipping == D("0")
    discounted = price([line(1, "50.00")], [promo(1, "percent_off", "10")], SHIP)
    assert (discounted.goods, discounted.shipping, discounted.total) == (D("45.00"), D("4.95"), D("49.95"))


def test_percent_off_covers_a_category_and_its_subcategories_only():
    cookware = promo(1, "percent_off", "30", categories={COOKWARE, POTS})
    priced = price([line(1, "66.99", category=POTS), line(2, "20.00", category=LAMPS)], [cookware], NO_SHIP)
    assert priced.line(1).discount == D("20.10")  # 30% of 66.99 = 20.097 -> 20.10
    assert priced.line(1).total == D("46.89")
    assert priced.line(2).discount == D("0")
    assert [(d.campaign_id, d.amount, d.product_id) for d in priced.discounts] == [(1, D("20.10"), 1)]


def test_brand_and_product_targets():
    by_brand = promo(1, "percent_off", "10", brand="Lumen")
    by_product = promo(2, "amount_off", "3", products={2})
    both = promo(3, "percent_off", "50", categories={LAMPS}, brand="Acme")  # Acme lamps only
    priced = price([line(1, "10.00", brand="Lumen"), line(2, "10.00"), line(3, "10.00", category=LAMPS)],
                   [by_brand, by_product, both], NO_SHIP)
    assert [priced.line(p).discount for p in (1, 2, 3)] == [D("1.00"), D("3.00"), D("5.00")]


def test_amount_off_is_per_unit_and_never_below_zero():
    priced = price([line(1, "4.00", 3), line(2, "25.00", 2)], [promo(1, "amount_off", "10")], NO_SHIP)
    assert priced.line(1).total == D("0.00") and priced.line(1).discount == D("12.00")
    assert priced.line(2).discount == D("20.00") and priced.line(2).total == D("30.00")
    assert priced.total == D("30.00")


def test_a_hundred_percent_off_and_free_shipping_make_a_free_order_not_a_negative_one():
    priced = price([line(1, "9.99", 2)], [promo(1, "percent_off", "100"), promo(2, "free_shipping")], SHIP)
    assert (priced.goods, priced.shipping, priced.total) == (D("0.00"), D("0.00"), D("0.00"))


def test_one_percent_or_amount_discount_per_line_the_best_for_the_shopper():
    ten_percent = promo(1, "percent_off", "10")
    five_dollars = promo(2, "amount_off", "5")
    cheap = price([line(1, "30.00")], [ten_percent, five_dollars], NO_SHIP)  # 3.00 vs 5.00
    dear = price([line(1, "80.00")], [ten_percent, five_dollars], NO_SHIP)  # 8.00 vs 5.00
    assert [(d.campaign_id, d.amount) for d in cheap.discounts] == [(2, D("5.00"))]
    assert [(d.campaign_id, d.amount) for d in dear.discounts] == [(1, D("8.00"))]
    tie = price([line(1, "50.00")], [promo(7, "amount_off", "5"), promo(3, "percent_off", "10")], NO_SHIP)
    assert [d.campaign_id for d in tie.discounts] == [3]  # equal savings: the lowest campaign id


def test_buy_n_get_one_applies_per_eligible_quantity():
    buy_two = promo(1, "buy_n_get_one", buy=2)
    assert price([line(1, "10.00", 2)], [buy_two], NO_SHIP).line(1).discount == D("0")
    assert price([line(1, "10.00", 3)], [buy_two], NO_SHIP).line(1).discount == D("10.00")
    assert price([line(1, "10.00", 5)], [buy_two], NO_SHIP).line(1).free_units == 1
    assert price([line(1, "10.00", 6)], [buy_two], NO_SHIP).line(1).discount == D("20.00")


def test_buy_n_get_one_mixes_the_campaigns_products_and_frees_the_cheapest_of_each_group():
    buy_one = promo(1, "buy_n_get_one", buy=1, categories={POTS})
    priced = price([line(1, "30.00"), line(2, "12.00", 2), line(3, "99.00", category=LAMPS)], [buy_one], NO_SHIP)
    # units 30, 12, 12 (the lamp is not covered): groups (30, 12) -> one 12 free; the last 12 pays
    assert (priced.line(1).discount, priced.line(2).discount, priced.line(2).free_units) == (D("0"), D("12.00"), 1)
    assert priced.line(3).discount == D("0")


def test_a_line_takes_the_most_generous_buy_n_campaign_only():
    priced = price([line(1, "10.00", 4)], [promo(1, "buy_n_get_one", buy=3), promo(2, "buy_n_get_one", buy=1)], NO_SHIP)
    assert [(d.campaign_id, d.amount) for d in priced.discounts] == [(2, D("20.00"))]


def test_buy_n_combines_with_a_percent_off_on_the_units_paid_for():
    priced = price([line(1, "10.00", 3)], [promo(1, "buy_n_get_one", buy=2), promo(2, "percent_off", "10")], NO_SHIP)
    assert [(d.campaign_id, d.amount) for d in priced.discounts] == [(1, D("10.00")), (2, D("2.00"))]
    assert priced.line(1).total == D("18.00")


def test_free_shipping_combines_with_anything_when_an_item_is_covered():
    fashion = promo(1, "free_shipping", categories={LAMPS})
    percent = promo(2, "percent_off", "10")
    mixed = price([line(1, "10.00", category=LAMPS), line(2, "10.00")], [fashion, percent], SHIP)
    assert mixed.shipping_fee == D("4.95") and mixed.shipping == D("0")
    assert mixed.shipping_discount.campaign_id == 1 and mixed.shipping_discount.amount == D("4.95")
    assert mixed.total == D("18.00") and mixed.saved == D("6.95")
    uncovered = price([line(2, "10.00")], [fashion], SHIP)
    assert uncovered.shipping == D("4.95") and uncovered.shipping_discount is None
    over = price([line(1, "60.00", category=LAMPS)], [fashion], SHIP)  # nothing to waive over the threshold
    assert over.shipping == D("0") and over.shipping_discount is None


@pytest.mark.parametrize("value, expected", [("2.345", "2.35"), ("2.344", "2.34"), ("0.005", "0.01"), ("1", "1.00")])
def test_money_rounds_half_up_to_the_cent(value, expected):
    assert cents(D(value)) == D(expected)


def test_percentages_round_per_line_half_up():
    priced = price([line(1, "0.15", 1), line(2, "1.05", 3)], [promo(1, "percent_off", "10")], NO_SHIP)
    assert priced.line(1).discount == D("0.02")  # 0.015 -> 0.02 (half up, not to even)
    assert priced.line(2).discount == D("0.32")  # 3 x 1.05 x 10% = 0.315 -> 0.32
    assert priced.line(2).total == D("2.83")


def test_an_empty_cart_costs_nothing():
    priced = price([], [promo(1, "free_shipping")], SHIP)
    assert (priced.total, priced.shipping, priced.discounts) == (D("0"), D("0"), [])

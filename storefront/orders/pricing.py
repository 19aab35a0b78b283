"""Pricing a cart with the live promotions: a pure function of the lines, the promotions and the
shipping rule (no database, no Flask), so the cart page, the checkout page and the order price the
same way, and the stacking rules are tested on their own. README "Promotions" states the rules:

1. **Buy N, get one free** is counted per campaign over every unit it covers in the cart (mix and
   match across its products): the units sorted by price, most expensive first, every (N+1)-th is
   free, so each free unit is the cheapest of its group. A line takes part in one such campaign at
   most: the one with the smallest N (the most generous), then the lowest id.
2. **Percent off / amount off**: at most one per line, the one that takes the most off that line
   (ties: the lowest campaign id). It applies to the units the line pays for (a free unit is not
   discounted again). An amount is taken off each unit, never more than its price.
3. **Free shipping** combines with anything: it waives the shipping fee when any line is covered.
4. Money is ``Decimal``, rounded to the cent with ``ROUND_HALF_UP`` once per line and discount;
   nothing is ever below zero.
5. Shipping: ``fee`` unless the goods (after discounts) reach ``free_over``.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from storefront.models.campaigns import AMOUNT_OFF, BUY_N_GET_ONE, FREE_SHIPPING, PERCENT_OFF

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value) -> Decimal:
    """``value`` rounded to the cent, halves up (2.345 -> 2.35)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    """What pricing needs of a cart line."""

    product_id: int
    category_id: int
    brand: str
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class Promotion:
    """A live campaign's offer and the products it covers (``category_ids``: the target category
    and every category below it; None for "any")."""

    campaign_id: int
    name: str
    promo_type: str
    label: str  # how a discount line names it ("30% off · Cookware week")
    value: Decimal | None = None
    buy: int | None = None
    category_ids: frozenset[int] | None = None
    brand: str | None = None
    product_ids: frozenset[int] | None = None

    def covers(self, line: LineInput) -> bool:
        if self.category_ids is not None and line.category_id not in self.category_ids:
            return False
        if self.brand is not None and line.brand != self.brand:
            return False
        return self.product_ids is None or line.product_id in self.product_ids


@dataclass(frozen=True)
class ShippingRule:
    fee: Decimal
    free_over: Decimal | None = None  # goods at or over this ship free; None: never


@dataclass(frozen=True)
class Discount:
    """One discount line: a campaign's saving on one cart line (``product_id``) or on the
    shipping (``product_id`` None)."""

    campaign_id: int
    promo_type: str
    label: str
    amount: Decimal
    product_id: int | None = None


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    unit_price: Decimal
    quantity: int
    gross: Decimal  # unit price x quantity
    discounts: tuple[Discount, ...] = ()
    free_units: int = 0

    @property
    def discount(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def total(self) -> Decimal:
        return self.gross - self.discount


@dataclass(frozen=True)
class Pricing:
    lines: tuple[PricedLine, ...]
    shipping_fee: Decimal  # before a free-shipping campaign; 0 once the goods reach free_over
    shipping_discount: Discount | None
    free_over: Decimal | None
    promotions: tuple[Promotion, ...] = field(default=(), repr=False)

    @classmethod
    def empty(cls) -> Pricing:
        return cls((), ZERO, None, None)

    def line(self, product_id: int) -> PricedLine | None:
        return next((line for line in self.lines if line.product_id == product_id), None)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.gross for line in self.lines), ZERO)

    @property
    def discounts(self) -> list[Discount]:
        """Every discount line, the cart lines' first (in line order), then the shipping's."""
        found = [d for line in self.lines for d in line.discounts]
        return found + ([self.shipping_discount] if self.shipping_discount else [])

    @property
    def discounts_by_campaign(self) -> list[tuple[str, Decimal]]:
        """(label, amount) per campaign, its lines' discounts summed, in order of appearance."""
        summed: dict[tuple[int, str], Decimal] = {}
        for discount in self.discounts:
            key = (discount.campaign_id, discount.label)
            summed[key] = summed.get(key, ZERO) + discount.amount
        return [(label, amount) for (_, label), amount in summed.items()]

    @property
    def goods_discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), ZERO)

    @property
    def goods(self) -> Decimal:
        """What the items cost after their discounts (what ``free_over`` is measured on)."""
        return self.subtotal - self.goods_discount

    @property
    def shipping(self) -> Decimal:
        return self.shipping_fee - (self.shipping_discount.amount if self.shipping_discount else ZERO)

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping

    @property
    def saved(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def free_shipping_gap(self) -> Decimal | None:
        """How much more (in goods) would ship free, when a fee is due and a threshold exists."""
        if self.free_over is None or self.shipping == ZERO or not self.lines:
            return None
        return max(self.free_over - self.goods, CENT)


def _buy_n_free_units(lines: Sequence[LineInput], promotions: Sequence[Promotion]) -> dict[int, tuple[Promotion, int]]:
    """product id -> (its buy-N campaign, how many of its units are free): rule 1."""
    chosen: dict[int, Promotion] = {}
    for line in lines:
        offers = [p for p in promotions if p.promo_type == BUY_N_GET_ONE and p.covers(line)]
        if offers:
            chosen[line.product_id] = min(offers, key=lambda p: (p.buy, p.campaign_id))
    free: dict[int, tuple[Promotion, int]] = {}
    for promotion in {p.campaign_id: p for p in chosen.values()}.values():
        units = sorted(
            ((line.unit_price, line.product_id) for line in lines if chosen.get(line.product_id) is promotion
             for _ in range(line.quantity)),
            key=lambda unit: (-unit[0], unit[1]),
        )
        group = promotion.buy + 1
        for position in range(group - 1, len(units), group):  # the last (cheapest) of each group
            product_id = units[position][1]
            free[product_id] = (promotion, free.get(product_id, (promotion, 0))[1] + 1)
    return free


def _price_cut(promotion: Promotion, unit_price: Decimal, units: int) -> Decimal:
    """What a percent-off or amount-off campaign takes off ``units`` units (rule 2)."""
    if promotion.promo_type == PERCENT_OFF:
        return min(cents(unit_price * units * promotion.value / 100), unit_price * units)
    return cents(min(promotion.value, unit_price) * units)


def price(lines: Iterable[LineInput], promotions: Iterable[Promotion], shipping: ShippingRule) -> Pricing:
    """The cart's lines with their discounts, its shipping and total, by the rules above."""
    lines, promotions = list(lines), list(promotions)
    if not lines:
        return Pricing((), ZERO, None, shipping.free_over, tuple(promotions))
    free_units = _buy_n_free_units(lines, promotions)
    priced = []
    for line in lines:
        unit_price = cents(line.unit_price)
        discounts = []
        free_promo, free = free_units.get(line.product_id, (None, 0))
        if free:
            discounts.append(Discount(free_promo.campaign_id, BUY_N_GET_ONE, free_promo.label,
                                      cents(unit_price * free), line.product_id))
        paid = line.quantity - free
        cuts = [(_price_cut(p, unit_price, paid), p) for p in promotions
                if p.promo_type in (PERCENT_OFF, AMOUNT_OFF) and p.covers(line)]
        if cuts and paid > 0:
            amount, best = min(cuts, key=lambda cut: (-cut[0], cut[1].campaign_id))
            if amount > ZERO:
                discounts.append(Discount(best.campaign_id, best.promo_type, best.label, amount, line.product_id))
        priced.append(PricedLine(line.product_id, unit_price, line.quantity, unit_price * line.quantity,
                                 tuple(discounts), free))
    goods = sum((line.total for line in priced), ZERO)
    fee = ZERO if shipping.free_over is not None and goods >= shipping.free_over else cents(shipping.fee)
    waiver = None
    if fee > ZERO:
        waivers = [p for p in promotions if p.promo_type == FREE_SHIPPING and any(p.covers(line) for line in lines)]
        if waivers:
            chosen = min(waivers, key=lambda p: p.campaign_id)
            waiver = Discount(chosen.campaign_id, FREE_SHIPPING, chosen.label, fee)
    return Pricing(tuple(priced), fee, waiver, shipping.free_over, tuple(promotions))


def promotion_of(campaign, label: str, descendants: Callable[[int], frozenset[int]]) -> Promotion | None:
    """The ``Promotion`` of a campaign (a ``Campaign`` or a ``CampaignCard``), None when it takes
    nothing off (no discount, or no structured offer)."""
    if campaign.promo_type not in (PERCENT_OFF, AMOUNT_OFF, FREE_SHIPPING, BUY_N_GET_ONE):
        return None
    category = campaign.target_category_id
    return Promotion(
        campaign_id=campaign.id, name=campaign.name, promo_type=campaign.promo_type, label=label,
        value=Decimal(campaign.promo_value) if campaign.promo_value is not None else None, buy=campaign.promo_buy,
        category_ids=descendants(category) if category is not None else None,
        brand=campaign.target_brand or None,
        product_ids=frozenset(campaign.target_product_ids) if campaign.target_product_ids else None,
    )

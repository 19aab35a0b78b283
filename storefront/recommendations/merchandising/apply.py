"""What merchandising rules do to a widget's ranked candidates: a pure function of the
candidates, the rules and the moment (no app, no database, no clock), so every kind is tested
on plain cards.

**Boost and bury** change *rank relevance*: the candidate at 1-based rank ``r`` of what a step
proposes scores ``1 / r``, times the factor ``f`` of every boost or bury rule it matches (rules
multiply), and the candidates are sorted again by that score: the item lands at rank ``r / f``,
ahead of the untouched item of that rank when boosted, behind it when buried (other ties go to
the one the step ranked higher). So x2 takes an item from rank 6 to rank 3, x0.5 from rank 3 to
rank 6: a factor divides the rank, whatever the model's own scores (a model's, a fallback's
popularity order, the click model's re-ranking: the filler sees only the order) and however many
candidates there are. A boost re-ranks candidates; it does not add products the step did not
propose.

**Exclude** removes every candidate it matches (and a pinned product it matches: never showing
something beats showing it somewhere).

**Pin** puts listed products at 1-based positions of the widget, whatever the steps proposed,
if the business rules allow them (the caller passes only the eligible ones: active, in stock,
not in the cart, not bought, not the page's product, not on the page already), so a rule never
breaks a business rule: a forbidden pinned product is not shown and its slot is filled as usual.
At most ``max_pins`` pins per widget (the oldest rules first); a position already taken moves a
later pin to the next free one; a widget shorter than a position shows the pin last.

Every product a rule touched carries the rule's id: boosted or buried (matched, moved or not),
pinned, or removed by an exclusion; the widget's impression records them (``record_of``).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from storefront.models.merchandising import ALL_WIDGETS, BOOST, BURY, EXCLUDE, PIN

DEFAULT_MAX_PINS = 3


class Card(Protocol):
    """What a rule reads of a product (``storefront.catalog.snapshot.ProductCard`` has it)."""

    id: int
    brand: str
    category_id: int


C = TypeVar("C", bound=Card)


@dataclass(frozen=True)
class Rule:
    """A rule as a widget applies it, its target resolved: a category with its subcategories, a
    campaign as its category and brand (both, when it names both), with the campaign's dates."""

    id: int
    kind: str
    widget: str = ALL_WIDGETS
    factor: float = 1.0
    brand: str | None = None
    categories: frozenset[int] | None = None
    products: tuple[int, ...] = ()
    positions: tuple[int, ...] = ()  # a pin's 1-based positions, one per product
    starts_at: datetime = datetime.min
    ends_at: datetime | None = None  # exclusive; None: no end
    active: bool = True

    def in_force(self, now: datetime) -> bool:
        return self.active and self.starts_at <= now and (self.ends_at is None or now < self.ends_at)

    def applies_to(self, widget: str) -> bool:
        return self.widget in (ALL_WIDGETS, widget)

    def matches(self, card: Card) -> bool:
        """Every criterion the rule has must hold; a rule with none matches nothing (a campaign
        without a target must not turn into "every product")."""
        if self.brand is None and self.categories is None and not self.products:
            return False
        if self.products and card.id not in self.products:
            return False
        if self.brand is not None and (card.brand or "").casefold() != self.brand.casefold():
            return False
        return self.categories is None or card.category_id in self.categories


@dataclass(frozen=True)
class Pin:
    rule_id: int
    product_id: int
    position: int  # 1-based, after resolving clashes


@dataclass
class Applied:
    """A re-ranked list and, per product id, the rules that touched it (shown or removed)."""

    products: list = field(default_factory=list)
    touched: dict[int, tuple[int, ...]] = field(default_factory=dict)
    removed: dict[int, tuple[int, ...]] = field(default_factory=dict)  # excluded product -> rule ids


def in_force(rules: Iterable[Rule], widget: str, now: datetime) -> list[Rule]:
    """The rules of ``widget`` that apply at ``now``, oldest first (the order pins are served in)."""
    return sorted((r for r in rules if r.applies_to(widget) and r.in_force(now)), key=lambda r: r.id)


def pins_of(rules: Sequence[Rule], max_pins: int = DEFAULT_MAX_PINS) -> list[Pin]:
    """The pins of the rules in force, at most ``max_pins``, oldest rule first; a product pinned
    twice keeps its first slot, and a taken position sends a pin to the next free one."""
    pins: list[Pin] = []
    taken: set[int] = set()
    seen: set[int] = set()
    for rule in rules:
        if rule.kind != PIN:
            continue
        for product_id, position in zip(rule.products, rule.positions):
            if len(pins) >= max_pins or product_id in seen or position < 1:
                continue
            while position in taken:
                position += 1
            taken.add(position)
            seen.add(product_id)
            pins.append(Pin(rule.id, product_id, position))
    return pins


def rerank(candidates: Sequence[C], rules: Sequence[Rule]) -> Applied:
    """Boost, bury and exclude applied to one ranked list of candidates (see the module doc)."""
    excludes = [r for r in rules if r.kind == EXCLUDE]
    scalers = [r for r in rules if r.kind in (BOOST, BURY)]
    result = Applied()
    keyed: list[tuple[tuple[float, float, int], C]] = []
    for rank, card in enumerate(candidates, start=1):
        removing = tuple(r.id for r in excludes if r.matches(card))
        if removing:
            result.removed[card.id] = removing
            continue
        factor = 1.0
        touching = []
        for rule in scalers:
            if rule.matches(card):
                factor *= rule.factor
                touching.append(rule.id)
        if touching:
            result.touched[card.id] = tuple(touching)
        # score 1 / rank * factor, sorted as the rank it stands for (rounded: 3 / 1.5 is rank 2
        # exactly, whatever the float); in a tie the larger factor first, then the step's order
        keyed.append(((round(rank / factor, 9), -factor, rank), card))
    keyed.sort(key=lambda item: item[0])
    result.products = [card for _key, card in keyed]
    return result


def place_pins(products: Sequence[C], pins: Sequence[Pin], pinnable: Mapping[int, C],
               rules: Sequence[Rule] = ()) -> Applied:
    """``products`` with each pin whose product is in ``pinnable`` (the eligible ones) at its
    position, unless an exclusion in ``rules`` matches it; a pinned product elsewhere in the
    list moves to its slot (never twice)."""
    excludes = [r for r in rules if r.kind == EXCLUDE]
    result = Applied()
    placing = []
    for pin in sorted(pins, key=lambda p: p.position):
        card = pinnable.get(pin.product_id)
        if card is None:
            continue  # a business rule forbids it here: not shown
        removing = tuple(r.id for r in excludes if r.matches(card))
        if removing:
            result.removed[card.id] = removing
            continue
        placing.append((pin, card))
    placed_ids = {card.id for _pin, card in placing}
    shown = [card for card in products if card.id not in placed_ids]
    for pin, card in placing:  # ascending positions: each insert leaves the earlier ones in place
        shown.insert(min(pin.position - 1, len(shown)), card)
        result.touched[card.id] = (pin.rule_id,)
    result.products = shown
    return result


def apply(candidates: Sequence[C], rules: Iterable[Rule], widget: str, now: datetime, *,
          pinnable: Mapping[int, C] | None = None, n: int | None = None,
          max_pins: int = DEFAULT_MAX_PINS) -> Applied:
    """Every kind at once on one ranked list: the rules of ``widget`` in force at ``now``
    re-rank ``candidates`` (boost, bury, exclude), the first ``n`` are kept with room left for
    the pins, and the pins are placed. ``pinnable``: the pinned products the business rules
    allow (None: the pinned ones among the candidates)."""
    live = in_force(rules, widget, now)
    pins = pins_of(live, max_pins)
    pinned = {pin.product_id for pin in pins}
    if pinnable is None:
        pinnable = {card.id: card for card in candidates if card.id in pinned}
    ranked = rerank([card for card in candidates if card.id not in pinned], live)
    placed = place_pins([], pins, pinnable, live)  # which pins will show, to leave them room
    room = None if n is None else max(0, n - len(placed.products))
    final = place_pins(ranked.products[:room], pins, pinnable, live)
    return Applied(final.products, {**ranked.touched, **final.touched}, {**ranked.removed, **final.removed})


def record_of(products: Sequence[Card], touched: Mapping[int, Sequence[int]],
              removed: Mapping[int, Sequence[int]] = {}) -> dict[str, list[int]] | None:
    """What an impression stores: rule id (a string: a JSON object's key) -> the 0-based
    positions of the shown products it touched; an exclusion that removed a candidate is listed
    with no position. None when no rule touched the widget."""
    record: dict[str, list[int]] = {}
    for position, card in enumerate(products):
        for rule_id in touched.get(card.id, ()):
            record.setdefault(str(rule_id), []).append(position)
    for rule_ids in removed.values():
        for rule_id in rule_ids:
            record.setdefault(str(rule_id), [])
    return record or None

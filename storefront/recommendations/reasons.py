"""Why each recommended item is shown, in a sentence the widget can print and the API returns.

Reasons come from the evidence of the step that proposed the item, never made up afterwards:

- a personal model's pick names the shopper's own item that contributed most to its score
  (:func:`ml.explain.evidence`), and only an item the page knows the shopper touched (their
  recent events, cart or purchases): "Because you viewed Trail Tent 2P";
- an item-to-item pick names the page's product ("Often bought with ...", "Similar to ...");
- a fallback names what it ranked by ("Popular in Tents", "New in Tents", "Also in Tents");
- a visit's next items name the visit's last item ("Shoppers who viewed X went on to this");
- a memory aid says what it is ("You viewed this", "You bought this 34 days ago").

A :class:`Reason` carries a ``kind`` (stable, for the API and tests), the ``text`` and, when it
names one, the ``product_id`` of the evidence.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storefront.catalog.snapshot import ProductCard
from storefront.models import ADD_TO_CART, TRANSACTION
from storefront.tracking.shopper_facts import ShopperFacts

BECAUSE_VIEWED, BECAUSE_CARTED, BECAUSE_BOUGHT = "because_viewed", "because_carted", "because_bought"
PICKED_FOR_YOU, BOUGHT_WITH, SIMILAR_TO = "picked_for_you", "bought_with", "similar_to"
POPULAR_IN, NEW_IN, ALSO_IN, LIKE_YOU, SEGMENT = "popular_in", "new_in", "also_in", "like_you", "segment_best_seller"
RECENTLY_VIEWED, BUY_AGAIN, IN_YOUR_CATEGORIES = "recently_viewed", "buy_again", "in_your_categories"
NEXT_IN_VISIT = "next_in_visit"  # "Inspired by your visit": what followed the visit's last item


@dataclass(frozen=True)
class Reason:
    kind: str
    text: str
    product_id: int | None = None  # the item the reason names, when it names one

    def as_json(self) -> dict:
        return {"kind": self.kind, "text": self.text, "product_id": self.product_id}


def touched(facts: ShopperFacts) -> dict[int, tuple[str, str]]:
    """Product id -> (reason kind, name) of what the page knows the shopper touched, the
    strongest touch per product (bought > in the cart > viewed); a product whose name the page
    does not know (an old purchase outside the recent events) is left out: it cannot be named."""
    found: dict[int, tuple[str, str]] = {}
    strength = {BECAUSE_BOUGHT: 3, BECAUSE_CARTED: 2, BECAUSE_VIEWED: 1}
    for event in facts.recent:
        if not event.name:
            continue
        kind = (BECAUSE_BOUGHT if event.type == TRANSACTION or event.product_id in facts.bought
                else BECAUSE_CARTED if event.type == ADD_TO_CART or event.product_id in facts.cart
                else BECAUSE_VIEWED)
        known = found.get(event.product_id)
        if known is None or strength[kind] > strength[known[0]]:
            found[event.product_id] = (kind, event.name)
    return found


_BECAUSE = {BECAUSE_VIEWED: "Because you viewed {}", BECAUSE_CARTED: "Because you added {} to your cart",
            BECAUSE_BOUGHT: "Because you bought {}"}


def because(evidence: Sequence[int], known: dict[int, tuple[str, str]]) -> Reason:
    """The first of the model's ``evidence`` (strongest first) the shopper is known to have
    touched, as "Because you viewed X"; without one, a reason that names nothing."""
    for product_id in evidence:
        if product_id in known:
            kind, name = known[product_id]
            return Reason(kind, _BECAUSE[kind].format(name), product_id)
    return Reason(PICKED_FOR_YOU, "Picked for you")


def for_step(strategy: str, card: ProductCard, anchor: ProductCard | None) -> Reason:
    """The reason of an item a step proposed without item-level evidence, from what the step
    ranks by (``strategy``, as recorded on impressions)."""
    category = card.category.name
    if strategy.endswith("also_bought") or strategy.endswith("complements"):
        if anchor is not None:
            return Reason(BOUGHT_WITH, f"Often bought with {anchor.name}", anchor.id)
    if strategy.endswith("similar_items") and anchor is not None:
        return Reason(SIMILAR_TO, f"Similar to {anchor.name}", anchor.id)
    if strategy.endswith("customer2vec"):
        return Reason(LIKE_YOU, "Bought by customers like you")
    if strategy.endswith("segment_best_sellers"):
        return Reason(SEGMENT, "A best seller with customers like you")
    if strategy == "recently_viewed":
        return Reason(RECENTLY_VIEWED, "You viewed this")
    if strategy == "newest":
        return Reason(NEW_IN, f"New in {category}")
    if strategy == "same_category":
        return Reason(ALSO_IN, f"Also in {category}")
    return Reason(POPULAR_IN, f"Popular in {category}")  # trending, category popularity, model popularity


def bought_ago(card: ProductCard, when: datetime, now: datetime) -> Reason:
    days = max((now - when).days, 0)
    ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
    return Reason(BUY_AGAIN, f"You bought this {ago}", card.id)

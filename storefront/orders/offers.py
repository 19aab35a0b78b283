"""A campaign's offer in words: the banner's offer text and terms, generated from the structured
offer so that they say exactly what the cart applies; the reading of an old free-text offer
(the demo seed uses it, and migration 7c1e5a93b2d4 carries a frozen copy); and the check that a
headline or text promises nothing the offer does not give ("30% off" on a 20%-off campaign).

Pure functions of the campaign's values (a ``Campaign`` row or a ``CampaignCard``): no database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storefront.models.campaigns import (
    AMOUNT_OFF,
    BUY_N_GET_ONE,
    FREE_SHIPPING,
    PERCENT_OFF,
    PROMO_NONE,
)

CURRENCY = "$"  # the shop's one currency (the ``money`` filter's)


@dataclass(frozen=True)
class ParsedOffer:
    """A structured offer read from text; ``promo_type`` None when the text could not be read."""

    promo_type: str | None
    promo_value: Decimal | None = None
    promo_buy: int | None = None


def _number(value: Decimal) -> str:
    """20 -> "20", 12.5 -> "12.5", 9.99 -> "9.99" (no trailing zeros, no exponent)."""
    text = format(value.normalize(), "f")
    return text


def _money(value: Decimal) -> str:
    return f"{CURRENCY}{value:,.2f}" if value != value.to_integral_value() else f"{CURRENCY}{int(value):,}"


def offer_text(campaign) -> str:
    """The banner's offer, e.g. "30% off", "$10 off each", "Free shipping", "Buy 2, get 1 free";
    for a campaign without a discount its own badge ("New season") if that promises no discount;
    "" without a structured offer (an old free text is not shown: nothing applies it)."""
    kind = campaign.promo_type
    if kind == PROMO_NONE:
        badge = (campaign.offer or "").strip()
        return badge if not unkept_promises(badge, campaign) else ""
    if kind in (PERCENT_OFF, AMOUNT_OFF):
        value = campaign.promo_value
        if value is None or not Decimal(value).is_finite():  # a form's values before their check
            return ""
        return f"{_number(Decimal(value))}% off" if kind == PERCENT_OFF else f"{_money(Decimal(value))} off each"
    if kind == FREE_SHIPPING:
        return "Free shipping"
    if kind == BUY_N_GET_ONE and campaign.promo_buy is not None:
        return f"Buy {campaign.promo_buy}, get 1 free"
    return ""


def target_text(campaign, category_name: str | None) -> str:
    """What the offer covers, as a sentence says it: "Cookware (and everything in it)", "Lumen",
    "Lumen in Lamps", with "selected products of" when narrowed to a list."""
    if category_name and campaign.target_brand:
        words = f"{campaign.target_brand} in {category_name}"
    elif category_name:
        words = f"everything in {category_name}"
    else:
        words = f"every {campaign.target_brand} product"
    if campaign.target_product_ids:
        words = f"selected products ({words.removeprefix('everything in ').removeprefix('every ')})"
    return words


def terms_text(campaign, category_name: str | None, ends_at: datetime | None = None) -> str:
    """The small print under the banner, generated like the offer: on what, how, until when."""
    kind = campaign.promo_type
    what = target_text(campaign, category_name)
    ends = (ends_at or campaign.ends_at).strftime("%d %b %Y")
    if kind in (PERCENT_OFF, AMOUNT_OFF):
        return f"On {what}, taken off in your cart. Until {ends} (UTC)."
    if kind == FREE_SHIPPING:
        return f"Free shipping on any order with {what}. Until {ends} (UTC)."
    if kind == BUY_N_GET_ONE:
        return (f"For every {campaign.promo_buy + 1} items of {what} in your cart, the cheapest is free. "
                f"Until {ends} (UTC).")
    return ""


def discount_label(campaign) -> str:
    """How a cart or an order names a campaign's discount line: "30% off · Cookware week"."""
    text = offer_text(campaign)
    return f"{text} · {campaign.name}" if text else campaign.name


# -- reading free text --------------------------------------------------------------------------

_PERCENT = re.compile(r"(\d{1,3}(?:\.\d{1,2})?)\s*%")
_AMOUNT = re.compile(r"[$€£]\s*(\d{1,6}(?:\.\d{1,2})?)\s*off", re.I)
_FREE_SHIPPING = re.compile(r"free\s+(?:shipping|delivery)|ships?\s+free|delivered\s+free", re.I)
_BUY_GET = re.compile(r"buy\s+(\d{1,2})\W+(?:and\s+)?get\s+(?:1|one)(?:\s+free)?", re.I)
_N_FOR_M = re.compile(r"\b(\d{1,2})\s+for\s+(\d{1,2})\b", re.I)
_NEW = re.compile(r"\bnew\b|just landed|arrivals", re.I)


def _buy_n(text: str) -> int | None:
    found = _BUY_GET.search(text)
    if found:
        return int(found.group(1))
    found = _N_FOR_M.search(text)
    if found and int(found.group(1)) == int(found.group(2)) + 1 >= 2:  # "3 for 2": buy 2, get 1
        return int(found.group(2))
    return None


def parse_offer(text: str, offer_kind: str | None = None) -> ParsedOffer:
    """The structured offer a free-text one means ("20% off", "$5 off", "Free shipping", "Buy 2,
    get 1 free", "3 for 2", "New season"), or ``ParsedOffer(None)`` when it is not clear."""
    text = (text or "").strip()
    percent = _PERCENT.search(text)
    if percent and Decimal("0") < Decimal(percent.group(1)) <= Decimal("100"):
        return ParsedOffer(PERCENT_OFF, Decimal(percent.group(1)))
    amount = _AMOUNT.search(text)
    if amount and Decimal(amount.group(1)) > 0:
        return ParsedOffer(AMOUNT_OFF, Decimal(amount.group(1)))
    if _FREE_SHIPPING.search(text):
        return ParsedOffer(FREE_SHIPPING)
    buy = _buy_n(text)
    if buy is not None and buy >= 1:
        return ParsedOffer(BUY_N_GET_ONE, promo_buy=buy)
    if offer_kind == "new_arrivals" and (_NEW.search(text) or not text):
        return ParsedOffer(PROMO_NONE)  # announces something; nothing to take off
    return ParsedOffer(None)


# -- promises the words make ---------------------------------------------------------------------

def unkept_promises(text: str, campaign) -> list[str]:
    """What ``text`` (a headline, a banner's text) promises that the structured offer does not
    give, each as a short phrase for the admin's message; [] when it promises nothing else."""
    kind, value, buy = campaign.promo_type, campaign.promo_value, campaign.promo_buy
    value = Decimal(value) if value is not None else None
    found = []
    for match in _PERCENT.finditer(text or ""):
        if not (kind == PERCENT_OFF and Decimal(match.group(1)) == value):
            found.append(match.group(0).replace(" ", "") + " off")
    for match in _AMOUNT.finditer(text or ""):
        if not (kind == AMOUNT_OFF and Decimal(match.group(1)) == value):
            found.append(match.group(0))
    if _FREE_SHIPPING.search(text or "") and kind != FREE_SHIPPING:
        found.append("free shipping")
    promised_buy = _buy_n(text or "")
    if promised_buy is not None and not (kind == BUY_N_GET_ONE and promised_buy == buy):
        found.append(f"buy {promised_buy}, get 1 free")
    return found

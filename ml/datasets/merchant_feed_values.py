"""One product of a merchant feed (DATA_FORMATS.md, section 6): its raw values checked and typed.

:func:`parse_item` turns the raw values of one row (TSV/CSV) or one ``<item>`` (XML), by attribute
name, into a :class:`FeedItem`, or returns every problem of that product at once (a merchant fixes
a row in one go, not one message per run). The two file layouts (``ml.datasets.merchant_feed``,
``ml.datasets.merchant_feed_xml``) only differ in how they find those raw values.

Limits are the shop's columns (a title is at most 200 characters: ``products.name``), never a
silent truncation: a value that does not fit is a problem of its line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
CONDITIONS = ("new", "refurbished", "used")
REQUIRED = ("id", "title", "price")
#: Optional attributes kept as the product's extra details (shown on its page).
EXTRA = ("color", "size", "material", "pattern", "gender", "age_group",
         *(f"custom_label_{n}" for n in range(5)))
KNOWN = (*REQUIRED, "description", "link", "image_link", "additional_image_link", "availability", "quantity",
         "sale_price", "sale_price_effective_date", "brand", "gtin", "mpn", "condition",
         "google_product_category", "product_type", "item_group_id", *EXTRA)
#: Other spellings of the same attribute: Merchant Center accepts "image link" for image_link
#: (spaces become underscores before this lookup) and shop exports often say "stock".
ALIASES = {"stock": "quantity", "inventory": "quantity"}
MAX_ADDITIONAL_IMAGES = 10  # Merchant Center's own limit
MAX_PRICE = Decimal("99999999.99")  # products.price is NUMERIC(10, 2)
MAX_QUANTITY = 1_000_000
LIMITS = {"id": 64, "title": 200, "description": 5000, "brand": 80, "mpn": 70, "item_group_id": 64,
          "google_product_category": 250, "link": 2000, "image_link": 2000}
CATEGORY_NAME_MAX, CATEGORY_DEPTH_MAX = 120, 8

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_AMOUNT = re.compile(r"(?P<number>[0-9][0-9.,]*)\s*(?P<currency>\S*)")
_NUMBER = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Za-z]{3}")


@dataclass(frozen=True)
class FeedItem:
    """One valid product of a feed; ``where`` says where it was (``line 7``, ``item 3``)."""

    id: str
    title: str
    price: Decimal
    currency: str
    availability: str
    where: str
    line: int
    description: str = ""
    link: str = ""
    image_links: tuple[str, ...] = ()  # image_link first, then additional_image_link, no repeats
    quantity: int | None = None
    sale_price: Decimal | None = None
    sale_start: datetime | None = None  # naive UTC
    sale_end: datetime | None = None
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    condition: str = ""
    google_product_category: str = ""
    category_path: tuple[str, ...] = ()  # product_type split on '>' (or a textual google_product_category)
    item_group_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def price_at(self, now: datetime) -> Decimal:
        """What the product sells for at ``now`` (naive UTC): the sale price inside its dates."""
        if self.sale_price is None:
            return self.price
        if (self.sale_start and now < self.sale_start) or (self.sale_end and now >= self.sale_end):
            return self.price
        return self.sale_price


def attribute_name(header: str) -> str:
    """A column or element name as an attribute: ``Image Link`` and ``g:image_link`` are ``image_link``."""
    name = header.strip().lower()
    name = name.removeprefix("g:")
    name = re.sub(r"[\s-]+", "_", name)
    return ALIASES.get(name, name)


def _text(raw: dict[str, list[str]], name: str, problems: list[str], *, one_line: bool = True) -> str:
    values = raw.get(name) or [""]
    value = values[0].strip()
    if _CONTROL.search(value):
        problems.append(f"{name} contains a control character")
        return ""
    if one_line:
        value = " ".join(value.split())  # a quoted field may span lines or hold tabs
    limit = LIMITS.get(name, 200)
    if len(value) > limit:
        problems.append(f"{name} is longer than {limit} characters ({len(value)})")
    return value


def parse_amount(value: str, name: str) -> tuple[Decimal, str]:
    """``15.00 USD`` -> (Decimal('15.00'), 'USD'); ValueError with the line's message otherwise."""
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise ValueError(f"{name} is not an amount like '15.00 USD': {value!r}")
    number, currency = match["number"], match["currency"]
    if not _NUMBER.fullmatch(number):
        raise ValueError(f"{name} has a malformed number {number!r} (write it like '15.00 USD': a dot, at "
                         "most 2 decimals, no thousands separator)")
    if not currency:
        raise ValueError(f"{name} has no currency: {value!r} (write it like '15.00 USD')")
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"{name} has a malformed currency {currency!r} (an ISO 4217 code like USD)")
    try:
        amount = Decimal(number)
    except InvalidOperation:  # pragma: no cover - the pattern above already rules it out
        raise ValueError(f"{name} is not a number: {number!r}") from None
    if amount <= 0:
        raise ValueError(f"{name} must be above zero: {value!r}")
    if amount > MAX_PRICE:
        raise ValueError(f"{name} is above {MAX_PRICE}: {value!r}")
    return amount, currency.upper()


def _is_url(value: str) -> bool:
    if any(ch.isspace() for ch in value) or len(value) > LIMITS["image_link"]:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def gtin_is_valid(digits: str) -> bool:
    """8, 12, 13 or 14 digits whose last is the GS1 check digit of the others."""
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return False
    body = [int(d) for d in reversed(digits[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return (10 - total % 10) % 10 == int(digits[-1])


def _when(value: str) -> datetime:
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _sale_dates(value: str, problems: list[str]) -> tuple[datetime | None, datetime | None]:
    if not value:
        return None, None
    start_text, slash, end_text = value.partition("/")
    try:
        start = _when(start_text) if start_text.strip() else None
        end = _when(end_text) if slash and end_text.strip() else None
    except ValueError:
        problems.append(f"sale_price_effective_date is not 'start/end' in ISO 8601: {value!r}")
        return None, None
    if start and end and end <= start:
        problems.append(f"sale_price_effective_date ends before it starts: {value!r}")
    return start, end


def _category_path(item_type: str, google_category: str, problems: list[str]) -> tuple[str, ...]:
    # A textual Google category ("Home & Garden > Kitchen") places the product when the merchant
    # gave no product_type of their own; a numeric one is an id of Google's taxonomy: no names.
    text = item_type or ("" if google_category.isdigit() else google_category)
    if not text:
        return ()
    levels = tuple(level.strip() for level in text.split(">"))
    name = "product_type" if item_type else "google_product_category"
    if any(not level for level in levels):
        problems.append(f"{name} has an empty level: {text!r}")
    elif any(len(level) > CATEGORY_NAME_MAX for level in levels):
        problems.append(f"{name} has a level longer than {CATEGORY_NAME_MAX} characters")
    elif len(levels) > CATEGORY_DEPTH_MAX:
        problems.append(f"{name} is deeper than {CATEGORY_DEPTH_MAX} levels")
    return levels


def _images(raw: dict[str, list[str]], main: str, problems: list[str]) -> tuple[str, ...]:
    extra = [url.strip() for value in raw.get("additional_image_link", []) for url in value.split(",")]
    extra = [url for url in extra if url]
    bad = [url for url in extra if not _is_url(url)]
    if bad:
        problems.append(f"additional_image_link is not an http(s) URL: {bad[0][:200]!r}")
    if len(extra) > MAX_ADDITIONAL_IMAGES:
        problems.append(f"additional_image_link lists {len(extra)} images (at most {MAX_ADDITIONAL_IMAGES})")
    return tuple(dict.fromkeys([main] * bool(main) + extra))


def _stock(raw: dict[str, list[str]], problems: list[str]) -> tuple[str, int | None]:
    availability = re.sub(r"[\s-]+", "_", _text(raw, "availability", problems).lower())  # "in stock" too
    quantity_text = _text(raw, "quantity", problems)
    quantity = None
    if quantity_text:
        if quantity_text.isdigit() and int(quantity_text) <= MAX_QUANTITY:
            quantity = int(quantity_text)
        else:
            problems.append(f"quantity is not a whole number from 0 to {MAX_QUANTITY:,}: {quantity_text!r}")
    if not availability:
        if quantity is None:
            problems.append(f"availability is missing (one of {', '.join(AVAILABILITY)})")
            return "", None
        return ("in_stock" if quantity > 0 else "out_of_stock"), quantity
    if availability not in AVAILABILITY:
        problems.append(f"availability {availability!r} is not one of {', '.join(AVAILABILITY)}")
    elif availability == "out_of_stock" and quantity:
        problems.append(f"availability is out_of_stock but quantity is {quantity}")
    elif availability == "in_stock" and quantity == 0:
        problems.append("availability is in_stock but quantity is 0")
    return availability, quantity


def parse_item(raw: dict[str, list[str]], line: int, where: str,
               currency: str | None = None) -> tuple[FeedItem | None, list[str]]:
    """The item, or None and its problems. ``currency``: the shop's (another one is a problem)."""
    problems: list[str] = []
    values = {name: _text(raw, name, problems, one_line=name != "description")
              for name in ("id", "title", "description", "brand", "mpn", "item_group_id",
                           "google_product_category", "link", "image_link", "gtin", "condition",
                           "product_type", "sale_price_effective_date")}
    for name in REQUIRED:
        if name != "price" and not values[name]:
            problems.append(f"{name} is missing")
    price = sale = None
    unit = ""
    price_text = _text(raw, "price", problems)
    if not price_text:
        problems.append("price is missing")
    else:
        try:
            price, unit = parse_amount(price_text, "price")
        except ValueError as error:
            problems.append(str(error))
    if price is not None and currency and unit != currency.upper():
        problems.append(f"price is in {unit}, but the shop sells in {currency.upper()}")
    sale_text = _text(raw, "sale_price", problems)
    if sale_text:
        try:
            sale, sale_unit = parse_amount(sale_text, "sale_price")
        except ValueError as error:
            problems.append(str(error))
        else:
            if price is not None and sale_unit != unit:
                problems.append(f"sale_price is in {sale_unit}, the price in {unit}")
            elif price is not None and sale > price:
                problems.append(f"sale_price {sale_text} is above the price {price_text}")
    sale_start, sale_end = _sale_dates(values["sale_price_effective_date"], problems)
    for name in ("link", "image_link"):
        if values[name] and not _is_url(values[name]):
            problems.append(f"{name} is not an http(s) URL: {values[name][:200]!r}")
    images = _images(raw, values["image_link"] if _is_url(values["image_link"]) else "", problems)
    availability, quantity = _stock(raw, problems)
    gtin = re.sub(r"[\s-]", "", values["gtin"])
    if gtin and not gtin_is_valid(gtin):
        problems.append(f"gtin {values['gtin']!r} is not a valid GTIN (8, 12, 13 or 14 digits ending in its check digit)")
    condition = values["condition"].lower()
    if condition and condition not in CONDITIONS:
        problems.append(f"condition {values['condition']!r} is not one of {', '.join(CONDITIONS)}")
    path = _category_path(values["product_type"], values["google_product_category"], problems)
    extra = {name: _text(raw, name, problems) for name in EXTRA}
    if problems:
        return None, problems
    assert price is not None
    return FeedItem(
        id=values["id"], title=values["title"], price=price, currency=unit, availability=availability,
        where=where, line=line, description=values["description"], link=values["link"], image_links=images,
        quantity=quantity, sale_price=sale, sale_start=sale_start, sale_end=sale_end, brand=values["brand"],
        gtin=gtin, mpn=values["mpn"], condition=condition,
        google_product_category=values["google_product_category"], category_path=path,
        item_group_id=values["item_group_id"], extra={k: v for k, v in extra.items() if v},
    ), []

"""Facets, filters and sorting of a product listing: a search's results or a category's products.

One statement answers a whole listing page: a ``WITH scope AS (...)`` of the listing's active
products (a category tree, or the <= 1000 ids a search found) and a ``UNION ALL`` of
aggregates over it, each row ``(facet, value, n)``:

- ``brand`` / ``category`` / ``price`` (bucket) / ``stock`` counts. Each facet is counted with
  every *other* filter applied, the usual faceted-search convention: ticking a brand narrows
  the categories and prices shown, while the other brands keep their counts (so they can be
  added: brands are OR-ed within the facet, facets AND-ed together);
- ``total``: the products that pass every filter;
- ``hit``: the page's products, numbered by ``row_number()`` in the chosen order and cut to the
  page in SQL. Sorted by relevance (search only), the hits are all the filtered ids and the
  search's own order puts them in line (they are at most ``find``'s limit).

Everything a shopper can type arrives as text: :func:`parse_filters` keeps what it can use and
reports the rest (``Filters.errors``: a price of "abc" is ignored and the form says so), so no
query string can fail the page.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from math import ceil

from sqlalchemy import Integer, String, and_, case, cast, func, literal_column, select, union_all

from storefront.extensions import db
from storefront.models import Product

RELEVANCE = "relevance"
LISTING_SORTS = {
    "popular": "Most popular",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
}
SEARCH_SORTS = {RELEVANCE: "Best match", **LISTING_SORTS}
# Price buckets [low, high) in whole currency units; a bucket link filters low .. high - 0.01.
PRICE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (0, 25), (25, 50), (50, 100), (100, 250), (250, 500), (500, None))
MAX_QUERY_LENGTH = 200  # the search box's maxlength
MAX_BRANDS = 20  # brands one URL may select
MAX_BRAND_LENGTH = 120
BRANDS_SHOWN = 12
CATEGORIES_SHOWN = 12
MAX_PRICE = Decimal("99999999.99")  # NUMERIC(10, 2)
_PRICE = re.compile(r"^\s*\$?\s*([0-9]{1,8}(?:\.[0-9]{0,2})?)\s*$")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Filters:
    brands: tuple[str, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    category: str | None = None  # a category slug: that category and those below it
    raw_min: str = ""  # the price inputs as typed, shown back in the form
    raw_max: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.brands or self.price_min is not None or self.price_max is not None or self.in_stock
                    or self.category)

    def as_json(self) -> dict:
        """What a search event records of the filters (only those set)."""
        found = {"brand": list(self.brands), "price_min": _text(self.price_min), "price_max": _text(self.price_max),
                 "in_stock": self.in_stock or None, "category": self.category}
        return {key: value for key, value in found.items() if value}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _price(raw: str | None, label: str, errors: dict[str, str], key: str) -> tuple[Decimal | None, str]:
    text = (raw or "").strip()[:40]
    if not text:
        return None, ""
    match = _PRICE.match(text)
    try:
        value = Decimal(match.group(1)).quantize(_CENT) if match else None
    except InvalidOperation:
        value = None
    if value is None or value > MAX_PRICE:
        errors[key] = f"{label} must be an amount such as 25 or 24.99; ignored."
        return None, text
    return value, text


def parse_filters(args) -> Filters:
    """The filters of a query string (a Werkzeug ``MultiDict`` or any mapping with ``getlist``):
    ``brand`` (repeatable), ``price_min``, ``price_max``, ``in_stock=1``, ``cat`` (a slug).
    Unusable values are dropped; a price that is not an amount is reported in ``errors``."""
    errors: dict[str, str] = {}
    brands = []
    for raw in args.getlist("brand")[:MAX_BRANDS * 2]:
        brand = raw.strip()[:MAX_BRAND_LENGTH]
        if brand and brand not in brands:
            brands.append(brand)
    low, raw_min = _price(args.get("price_min"), "The lowest price", errors, "price_min")
    high, raw_max = _price(args.get("price_max"), "The highest price", errors, "price_max")
    if low is not None and high is not None and low > high:
        low, high = high, low  # "from 50 to 20" means 20 to 50
    category = (args.get("cat") or "").strip()[:120] or None
    return Filters(tuple(brands[:MAX_BRANDS]), low, high, args.get("in_stock") in ("1", "on", "true"), category,
                   raw_min, raw_max, errors)


def parse_sort(raw: str | None, sorts: Mapping[str, str]) -> str:
    """``raw`` if it names one of ``sorts``, else the first (the default)."""
    return raw if raw in sorts else next(iter(sorts))


@dataclass(frozen=True)
class FacetValue:
    value: str  # what the URL carries (a brand, a category slug, a bucket's "low-high")
    label: str
    count: int
    selected: bool = False
    low: Decimal | None = None  # price buckets: the bounds a link sets
    high: Decimal | None = None


@dataclass(frozen=True)
class Facets:
    brands: list[FacetValue] = field(default_factory=list)
    categories: list[FacetValue] = field(default_factory=list)
    prices: list[FacetValue] = field(default_factory=list)
    in_stock: int = 0  # products in stock, with the other filters applied

    @property
    def empty(self) -> bool:
        return not (self.brands or self.categories or self.prices)


@dataclass
class Listing:
    """One page of a listing, shaped like Flask-SQLAlchemy's pagination for the ``pagination``
    macro (``page``, ``pages``, ``has_prev``...), with its products' ids and its facets."""

    ids: list[int]
    total: int
    page: int
    per_page: int
    facets: Facets
    items: list = field(default_factory=list)  # the cards, filled by the caller

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class Scope:
    """The products a listing draws from: ``categories`` (a category tree) or ``ids`` (a
    search's results, best first); ``categories_shown``: the category facet's values, each
    (value, label, the category ids it stands for). A category page offers its subcategories;
    a search, the categories its results are in (``None``: those counted, each named by
    ``category_named``)."""

    categories: Collection[int] | None = None
    ids: Sequence[int] | None = None
    categories_shown: Sequence[tuple[str, str, Collection[int]]] | None = None
    category_named: Callable[[int], tuple[str, str] | None] | None = None  # id -> (slug, name)


def _order(scope, sort: str):
    c = scope.c
    return {
        "popular": (c.popularity.desc(), c.id),
        "newest": (c.created_at.desc(), c.id.desc()),
        "price_asc": (c.price.asc(), c.id),
        "price_desc": (c.price.desc(), c.id),
    }.get(sort, (c.popularity.desc(), c.id))


def _bucket(column):
    """The price bucket's key ("25-50") of ``column``; constants rendered inline (not bound), so
    PostgreSQL sees the GROUP BY expression as the selected one."""
    def number(value: int):
        return literal_column(str(int(value)))

    def text(value: str):
        return literal_column("'" + value + "'")

    whens = [((column < number(high)) if low == 0 else and_(column >= number(low), column < number(high)),
              text(f"{low}-{high}")) for low, high in PRICE_BUCKETS if high is not None]
    return case(*whens, else_=text(f"{PRICE_BUCKETS[-1][0]}-"))


def _label(name: str):
    return cast(literal_column("'" + name + "'"), String)  # constants of this module, never input


def listing(scope_of: Scope, filters: Filters, category_ids: Collection[int] | None, sort: str,
            page: int, per_page: int) -> Listing:
    """One page of ``scope_of`` under ``filters`` (``category_ids``: the categories the
    ``filters.category`` slug stands for, resolved by the caller; None when none is selected)
    and its facets, in one statement."""
    base = select(Product.id, Product.brand, Product.category_id, Product.price, Product.stock,
                  Product.popularity, Product.created_at).where(Product.active.is_(True))
    if scope_of.ids is not None:
        if not scope_of.ids:
            return Listing([], 0, page, per_page, Facets())
        base = base.where(Product.id.in_(list(scope_of.ids)))
    if scope_of.categories is not None:
        base = base.where(Product.category_id.in_(sorted(scope_of.categories)))
    scope = base.cte("scope")
    c = scope.c
    conditions = {
        "brand": c.brand.in_(filters.brands) if filters.brands else None,
        "price": and_(*([c.price >= filters.price_min] if filters.price_min is not None else []),
                      *([c.price <= filters.price_max] if filters.price_max is not None else []))
        if filters.price_min is not None or filters.price_max is not None else None,
        "stock": c.stock > 0 if filters.in_stock else None,
        "category": c.category_id.in_(sorted(category_ids)) if category_ids is not None else None,
    }

    def but(name: str | None) -> list:
        return [cond for key, cond in conditions.items() if key != name and cond is not None]

    bucket = _bucket(c.price)
    parts = [
        select(_label("brand"), cast(func.coalesce(c.brand, ""), String), func.count()).select_from(scope)
        .where(*but("brand")).group_by(c.brand),
        select(_label("category"), cast(c.category_id, String), func.count()).select_from(scope)
        .where(*but("category")).group_by(c.category_id),
        select(_label("price"), bucket, func.count()).select_from(scope).where(*but("price")).group_by(bucket),
        select(_label("stock"), _label(""), func.count()).select_from(scope).where(*but("stock"), c.stock > 0),
        select(_label("total"), _label(""), func.count()).select_from(scope).where(*but(None)),
    ]
    if sort == RELEVANCE and scope_of.ids is not None:
        parts.append(select(_label("hit"), cast(c.id, String), cast(literal_column("0"), Integer))
                     .select_from(scope).where(*but(None)))
    else:
        numbered = select(c.id, func.row_number().over(order_by=_order(scope, sort)).label("rn")) \
            .where(*but(None)).subquery("numbered")
        offset = (page - 1) * per_page
        parts.append(select(_label("hit"), cast(numbered.c.id, String), numbered.c.rn)
                     .where(numbered.c.rn > offset, numbered.c.rn <= offset + per_page))
    rows = db.session.execute(union_all(*parts)).all()
    return _assemble(rows, scope_of, filters, sort, page, per_page)


def _assemble(rows, scope_of: Scope, filters: Filters, sort: str, page: int, per_page: int) -> Listing:
    by_facet: dict[str, list[tuple[str, int]]] = {}
    for facet, value, n in rows:
        by_facet.setdefault(facet, []).append((value, int(n)))
    total = sum(n for _, n in by_facet.get("total", []))
    hits = by_facet.get("hit", [])
    if sort == RELEVANCE and scope_of.ids is not None:
        rank = {pid: i for i, pid in enumerate(scope_of.ids)}
        ordered = sorted((int(v) for v, _ in hits), key=lambda pid: rank.get(pid, len(rank)))
        ids = ordered[(page - 1) * per_page:page * per_page]
    else:
        ids = [int(v) for v, _ in sorted(hits, key=lambda hit: hit[1])]
    facets = Facets(
        brands=_brands(by_facet.get("brand", []), filters),
        categories=_categories(by_facet.get("category", []), scope_of, filters),
        prices=_prices(by_facet.get("price", []), filters),
        in_stock=sum(n for _, n in by_facet.get("stock", [])),
    )
    return Listing(ids, total, page, per_page, facets)


def _brands(counts: list[tuple[str, int]], filters: Filters) -> list[FacetValue]:
    named = sorted(((b, n) for b, n in counts if b.strip()), key=lambda bn: (-bn[1], bn[0].lower()))
    shown = [FacetValue(b, b, n, b in filters.brands) for b, n in named[:BRANDS_SHOWN]]
    listed = {v.value for v in shown}
    # a selected brand stays visible (and can be unticked) even past the top, or with 0 left
    found = dict(named)
    shown += [FacetValue(b, b, found.get(b, 0), True) for b in filters.brands if b not in listed]
    return shown


def _categories(counts: list[tuple[str, int]], scope_of: Scope, filters: Filters) -> list[FacetValue]:
    per_category = {int(value): n for value, n in counts}
    shown = scope_of.categories_shown
    if shown is None:
        named = ((cid, scope_of.category_named(cid) if scope_of.category_named else None) for cid in per_category)
        shown = [(slug_name[0], slug_name[1], (cid,)) for cid, slug_name in named if slug_name is not None]
    values = []
    for value, label, members in shown:
        n = sum(per_category.get(cid, 0) for cid in members)
        if n or value == filters.category:
            values.append(FacetValue(value, label, n, value == filters.category))
    if scope_of.ids is not None:  # a search: the categories with most results first
        values.sort(key=lambda v: (-v.count, v.label))
        values = values[:CATEGORIES_SHOWN] + [v for v in values[CATEGORIES_SHOWN:] if v.selected]
    return values


def _prices(counts: list[tuple[str, int]], filters: Filters) -> list[FacetValue]:
    found = dict(counts)
    values = []
    for low, high in PRICE_BUCKETS:
        key = f"{low}-{high}" if high is not None else f"{low}-"
        n = found.get(key, 0)
        bottom = Decimal(low) if low else None
        top = Decimal(high) - _CENT if high is not None else None
        selected = filters.price_min == bottom and filters.price_max == top and (bottom or top) is not None
        if n or selected:
            label = f"Under ${high}" if not low else (f"${low} – ${high}" if high is not None else f"${low} and over")
            values.append(FacetValue(key, label, n, selected, bottom, top))
    return values


"""What the search and category pages show: results or products, facets, sorting, forgiveness.

The views parse the query string (:func:`storefront.search.facets.parse_filters`) and hand the
request context here; nothing here reads the request.

Search (:func:`search_page`): the engine's ranked ids (``storefront.search.find``, at most
``FIND_LIMIT``), re-ranked for the shopper at the top when sorted by relevance
(``rerank_for_shopper``: unchanged for crawlers, shoppers without history, or without a model),
then filtered, counted and paged in one statement (:mod:`storefront.search.facets`), the cards
from the catalog snapshot, and the page logged as a ``search`` event
(:mod:`storefront.search.analytics`). When the query finds nothing, the page offers the
closest matches (``suggest`` on the query) and what is trending, never a dead end.

Category (:func:`category_page`): the category tree's active products with the same facets
(its subcategories instead of categories) and sorts (no relevance).
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import current_app

from storefront.catalog import snapshot
from storefront.catalog.snapshot import CatalogSnapshot, CategoryNode
from storefront.recommendations import registry, widgets
from storefront.recommendations.widgets import WidgetResult
from storefront.search import analytics, find, rerank_for_shopper, suggest
from storefront.search import facets
from storefront.search.facets import Filters, Listing, Scope
from storefront.search.matching import query_terms
from storefront.tracking.visitors import RequestContext

FIND_LIMIT = 1000
RERANK_TOP = 50
CLOSEST_SHOWN = 8
CLOSEST_WORDS = 3  # words of a query that found nothing tried on their own
LISTING_CACHE_ENTRIES = 512
MIN_QUERY_LETTERS = 2
SEARCH_TRENDING = registry.SEARCH_TRENDING  # the zero-result page's shelf


@dataclass
class SearchPage:
    query: str
    sort: str
    filters: Filters
    listing: Listing | None = None  # None: the query is too short to search (the hint)
    found: int = 0  # what the query found before the filters
    did_you_mean: str | None = None
    corrected: bool = False  # the results are the corrected query's: the original found nothing
    closest: list = field(default_factory=list)  # zero results: product cards suggested for the query
    closest_links: list = field(default_factory=list)  # zero results: category and brand suggestions
    trending: WidgetResult | None = None
    search_id: int | None = None  # the logged event, carried by the result links

    @property
    def zero(self) -> bool:
        return self.listing is not None and self.found == 0


class ListingCache:
    """Finished listings (a page's ids, total and facets) per catalog version, a few hundred kept
    per worker. A listing depends on the catalog only, never on the shopper, so within a version
    the same category, search results, filters, sort and page need not be counted again: on a
    219k-product department the counts take a second on SQLite, from here nothing. A new catalog
    version (any change a shopper could see) starts the cache over; like the catalog snapshot,
    a worker notices it within ``CATALOG_CHECK_INTERVAL``."""

    def __init__(self, entries: int = LISTING_CACHE_ENTRIES):
        self.entries = entries
        self._version: int | None = None
        self._kept: OrderedDict[tuple, Listing] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, version: int, key: tuple) -> Listing | None:
        with self._lock:
            if version != self._version:
                self._version, self._kept = version, OrderedDict()
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, version: int, key: tuple, listing: Listing) -> None:
        with self._lock:
            if version == self._version:
                self._kept[key] = listing
                while len(self._kept) > self.entries:
                    self._kept.popitem(last=False)


def _digest(ids) -> bytes:
    """A search's ranked ids as a 16-byte key (a tuple of 1000 ids would weigh 36 kB per entry)."""
    return hashlib.blake2b(array("q", ids).tobytes(), digest_size=16).digest()


def _listing(catalog: CatalogSnapshot, scope: Scope, filters: Filters, category_ids: frozenset[int] | None,
             sort: str, page: int, per_page: int) -> Listing:
    """``facets.listing``, from this worker's cache for the catalog version when it has it."""
    cache = current_app.extensions.setdefault("listing_cache", ListingCache())
    key = (_digest(scope.ids) if scope.ids is not None else None,
           frozenset(scope.categories) if scope.categories is not None else None,
           tuple(value for value, _, _ in scope.categories_shown or ()),
           filters.brands, filters.price_min, filters.price_max, filters.in_stock, category_ids, sort, page, per_page)
    found = cache.get(catalog.version, key)
    if found is None:
        found = facets.listing(scope, filters, category_ids, sort, page, per_page)
        cache.put(catalog.version, key, found)
    listing = dataclasses.replace(found, ids=list(found.ids))  # the caller fills its own cards
    listing.items = catalog.cards(listing.ids)
    return listing


def searchable(query: str) -> bool:
    return len(re.findall(r"\w", query or "")) >= MIN_QUERY_LETTERS


def _category_filter(catalog: CatalogSnapshot, filters: Filters, within: frozenset[int] | None) -> frozenset[int] | None:
    """The categories ``filters.category`` stands for (a slug unknown, or outside ``within``:
    no filter)."""
    node = catalog.category_by_slug(filters.category) if filters.category else None
    if node is None or (within is not None and node.id not in within):
        return None
    return catalog.descendants(node.id)


def _named(catalog: CatalogSnapshot):
    def name(category_id: int) -> tuple[str, str] | None:
        node = catalog.categories.get(category_id)
        return (node.slug, node.name) if node is not None else None
    return name


def _reranked(ids: list[int], ctx: RequestContext) -> list[int]:
    top = list(rerank_for_shopper(ids, ctx, top=RERANK_TOP))
    seen = set(top)
    return top + [pid for pid in ids if pid not in seen]


def search_page(ctx: RequestContext, query: str, filters: Filters, sort: str, page: int, per_page: int) -> SearchPage:
    """The search page for ``query`` (already stripped) with ``filters``, sorted by ``sort`` (one
    of ``facets.SEARCH_SORTS``), page ``page``; logs the search."""
    result = SearchPage(query, sort, filters)
    if not searchable(query):
        return result
    catalog = snapshot.current(ctx.memo)
    # the snapshot's version is the catalog's (at most CATALOG_CHECK_INTERVAL old, like every
    # other catalog fact on the page): the engine need not read it again
    found = find(query, limit=FIND_LIMIT, version=catalog.version)
    ids = list(found.product_ids)
    if sort == facets.RELEVANCE and ids:
        ids = _reranked(ids, ctx)
    scope = Scope(ids=ids, category_named=_named(catalog))
    listing = _listing(catalog, scope, filters, _category_filter(catalog, filters, None), sort, page, per_page)
    result.listing, result.found = listing, max(int(found.total or 0), len(ids))
    result.did_you_mean, result.corrected = found.did_you_mean, bool(found.corrected)
    if not ids:
        _offer_instead(ctx, result)
    result.search_id = analytics.log_search(
        ctx, query, found=result.found, results=listing.total, corrected=result.corrected, page=listing.page,
        offset=listing.offset, ids=listing.ids, sort=sort, default_sort=facets.RELEVANCE, filters=filters)
    return result


def _offer_instead(ctx: RequestContext, result: SearchPage) -> None:
    """Zero results: the closest matches (the engine's suggestions for the query) and trending."""
    catalog = snapshot.current(ctx.memo)
    suggestions = _closest(result.query)
    product_ids = [s.product_id for s in suggestions if s.kind == "product" and s.product_id is not None]
    result.closest = [card for card in catalog.cards(product_ids) if card.active]
    result.closest_links = [s for s in suggestions if s.kind in ("category", "brand")]
    trending = widgets.fill_for(ctx, SEARCH_TRENDING, widgets.new_ask(ctx), also_skip=[c.id for c in result.closest])
    result.trending = widgets.record(ctx, trending) if trending.products else None


def _closest(query: str) -> list:
    """The engine's suggestions for the whole query; when they are few, for its words one by one
    (longest first: "sonora speakers" finds nothing, but the brand and the category are close)."""
    found = list(suggest(query, limit=CLOSEST_SHOWN))
    words = sorted(query_terms(query), key=len, reverse=True)
    for word in words[:CLOSEST_WORDS] if len(words) > 1 else []:
        if len(found) >= CLOSEST_SHOWN:
            break
        known = {(s.kind, s.label) for s in found}
        found += [s for s in suggest(word, limit=CLOSEST_SHOWN) if (s.kind, s.label) not in known]
    return found


@dataclass
class CategoryPage:
    listing: Listing
    sort: str
    filters: Filters


def category_page(ctx: RequestContext, node: CategoryNode, filters: Filters, sort: str, page: int,
                  per_page: int) -> CategoryPage:
    """The active products of ``node`` and the categories below it, with facets (its
    subcategories), sorted by ``sort`` (one of ``facets.LISTING_SORTS``)."""
    catalog = snapshot.current(ctx.memo)
    in_tree = catalog.descendants(node.id)
    children = [(child.slug, child.name, catalog.descendants(child.id)) for child in node.children]
    scope = Scope(categories=in_tree, categories_shown=children)
    listing = _listing(catalog, scope, filters, _category_filter(catalog, filters, in_tree - {node.id}), sort,
                       page, per_page)
    return CategoryPage(listing, sort, filters)


class FacetLinks:
    """URLs of this page with one filter changed, for the facet links (a toggled brand, a price
    bucket, a category...). Built from the path and the query's pairs (the view passes them);
    any change goes back to the first page."""

    def __init__(self, path: str, pairs: Iterable[tuple[str, str]]):
        self.path = path
        self.pairs = [(k, v) for k, v in pairs if k != "page"]

    def _url(self, pairs: list[tuple[str, str]]) -> str:
        return self.path + ("?" + urlencode(pairs) if pairs else "")

    def toggle(self, key: str, value: str) -> str:
        """Add ``key=value`` if absent, else remove it (a brand ticked or unticked)."""
        if (key, value) in self.pairs:
            return self._url([pair for pair in self.pairs if pair != (key, value)])
        return self._url([*self.pairs, (key, value)])

    def set(self, **values) -> str:
        """Replace ``key``'s values (``None``: remove the key)."""
        kept = [(k, v) for k, v in self.pairs if k not in values]
        return self._url([*kept, *((k, str(v)) for k, v in values.items() if v is not None)])

    def price(self, bucket: facets.FacetValue) -> str:
        if bucket.selected:
            return self.set(price_min=None, price_max=None)
        return self.set(price_min=bucket.low, price_max=bucket.high)

    def clear(self, *keep: str) -> str:
        return self._url([(k, v) for k, v in self.pairs if k in keep])

    def hidden(self, *skip: str) -> list[tuple[str, str]]:
        """The pairs a GET form re-sends as hidden inputs (those it does not show itself)."""
        return [(k, v) for k, v in self.pairs if k not in skip]

"""Search as feedback: each results page is a ``search`` event, each result followed a ``search_click``.

A results page logs one event (``storefront.models.events.SEARCH``) through the tracking service,
so crawlers, first requests before the cookie comes back and visitors over a limit log nothing,
like every other tracked action. Its ``properties``:

- ``q``: the query, lower-cased with its spaces collapsed (what the dashboard groups by);
- ``found``: how many products the query found before any filter (0: a zero-result query),
  ``results``: how many passed the filters, ``corrected``: whether they came from the engine's
  correction of a query that found nothing;
- ``page``, ``offset`` and ``ids``: the page shown and its products, so a click can be checked;
- ``sort`` and ``filters``; ``refined``: 1 when the page is a refinement of a search already
  made (another page, a filter, a sort), 0 for a new search: the dashboard's "searches" are
  the new ones, so paging through results does not inflate a query's count.

Result links carry the event's id and the result's position (``?sq=<event>&sp=<position>``,
0-based over the whole result list). The product page records a ``search_click`` when the pair
is valid: the event is a search shown to this shopper and lists this product at that position,
and this browser did not just follow the same link (a reload). The click is measured, never
learnt from: the product page's ``view`` is the implicit feedback (training reads views, and
popularity counts views, not search clicks), so following a result counts once, like a view.
"""
from __future__ import annotations

from collections.abc import Sequence

from storefront.extensions import db
from storefront.models import Event, Product
from storefront.models.events import SEARCH, SEARCH_CLICK
from storefront.search.facets import Filters
from storefront.tracking import events as tracking
from storefront.tracking.visitors import RequestContext, shopper_of

MAX_LOGGED_QUERY = 200
MAX_EVENT_ID = 2**63 - 1
MAX_POSITION = 9_999
CLICK_SLOT = "search_clicks"  # the browser memory of recent result clicks (reloads)


def normalise_query(text: str | None) -> str:
    """The query as the dashboard groups it: lower case, single spaces, at most 200 characters."""
    return " ".join((text or "").lower().split())[:MAX_LOGGED_QUERY]


def log_search(ctx: RequestContext, query: str, *, found: int, results: int, corrected: bool, page: int,
               offset: int, ids: Sequence[int], sort: str, default_sort: str, filters: Filters) -> int | None:
    """Log one results page; the event's id for the result links, or None when nothing was
    logged (a crawler, a first request, a visitor over a limit)."""
    if ctx.is_bot:
        return None
    refined = page > 1 or filters.active or sort != default_sort
    properties = {
        "q": normalise_query(query), "found": int(found), "results": int(results), "corrected": bool(corrected),
        "page": int(page), "offset": int(offset), "ids": [int(pid) for pid in ids], "sort": sort,
        "filters": filters.as_json(), "refined": int(refined),
    }
    return tracking.track_returning_id(ctx, SEARCH, properties=properties)


def _number(raw: str | None, largest: int) -> int | None:
    """A plain non-negative decimal within range (ASCII digits only), else None."""
    if not raw or len(raw) > len(str(largest)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= largest else None


def _shown_to(search: Event, ctx: RequestContext) -> bool:
    shopper = shopper_of(ctx)
    if search.visitor_id is not None and search.visitor_id == shopper.visitor_id:
        return True
    return search.customer_id is not None and search.customer_id == shopper.customer_id


def record_click(ctx: RequestContext, product: Product, search_param: str | None, position_param: str | None) -> bool:
    """Record a ``search_click`` on ``product`` if ``sq``/``sp`` name a search of this shopper
    that showed it at that position; whether one was recorded. Call it after the page's view
    was tracked (the visitor row exists then). Anything else is ignored silently: a shared or
    forged link must never cost the shopper the page, nor manufacture a click."""
    position = _number(position_param, MAX_POSITION)
    search_id = _number(search_param, MAX_EVENT_ID)
    if position is None or not search_id or ctx.is_bot:
        return False
    search = db.session.get(Event, search_id)
    if search is None or search.type != SEARCH or not _shown_to(search, ctx):
        return False
    properties = search.properties if isinstance(search.properties, dict) else {}
    ids, offset = properties.get("ids"), properties.get("offset", 0)
    if not isinstance(ids, list) or not isinstance(offset, int):
        return False
    if not offset <= position < offset + len(ids) or ids[position - offset] != product.id:
        return False
    if tracking.is_reload(ctx, CLICK_SLOT, f"{search_id}:{position}"):  # type: ignore[arg-type]
        return False  # the same result link again moments later: one click
    return tracking.track(ctx, SEARCH_CLICK, product,
                          properties={"search_id": search_id, "position": position, "q": properties.get("q", "")})

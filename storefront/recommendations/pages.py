"""The widgets of each page (and of the JSON API), computed and recorded as impressions.

Views call one function per page with the request context and get ready-to-render
``WidgetResult``s; each non-empty one has already been recorded (``impression_id`` set, except
for bots), so the template can put the impression into its links. Which widgets a page shows,
in which order and for whom is the registry's (``registry.placed_on``); on one page no widget
repeats a product an earlier one shows (unless its spec says otherwise, ``distinct_on_page``). The caller commits, after rendering (a commit would
expire the loaded products and cost a reload per card).
"""
from __future__ import annotations

from storefront.models import Category, Product
from storefront.recommendations import registry
from storefront.recommendations.fill import WidgetResult, customer_ask, fill, new_ask
from storefront.recommendations.registry import API_ITEM_KINDS, WidgetSpec
from storefront.recommendations.steps import Ask
from storefront.tracking import impressions
from storefront.tracking.context import RequestContext


def _shown_to(spec: WidgetSpec, ask: Ask) -> bool:
    audience = spec.audience
    if audience == registry.LOGGED_IN:
        return ask.shopper.logged_in
    if audience == registry.WITH_HISTORY:
        return bool(ask.recent)
    if audience == registry.WITHOUT_HISTORY:
        return not ask.recent
    return True


def record(ctx: RequestContext, result: WidgetResult) -> WidgetResult:
    result.impression_id = impressions.record_widget(
        ctx, widget=result.widget, strategy=result.strategy, model_version=result.model_version,
        context_product_id=result.context_product_id, items=[p.id for p in result.products],
        ranking=result.ranking,
    )
    return result


def shelves(ctx: RequestContext, placement: str, *, product: Product | None = None,
            category: Category | None = None, n: int | None = None) -> list[WidgetResult]:
    """Every widget placed on ``placement`` that is for this shopper, filled in order (each
    skipping what the earlier ones show) and recorded."""
    specs = registry.placed_on(placement)
    ask = new_ask(ctx, product=product, category=category, with_recent=any(s.uses_recent for s in specs))
    results: list[WidgetResult] = []
    shown: list[int] = []
    for spec in specs:
        if not _shown_to(spec, ask):
            continue
        result = fill(spec, ask, n, also_skip=shown if spec.distinct_on_page else ())
        if spec.distinct_on_page:
            shown += [p.id for p in result.products]
        results.append(record(ctx, result))
    return results


def _one(results: list[WidgetResult]) -> WidgetResult | None:
    return results[0] if results else None


def home(ctx: RequestContext) -> WidgetResult | None:
    """"Recommended for you" once the shopper has any history, else "Trending now"."""
    return _one(shelves(ctx, registry.HOME))


def cart(ctx: RequestContext) -> WidgetResult | None:
    return _one(shelves(ctx, registry.CART))


def product_page(ctx: RequestContext, product: Product) -> list[WidgetResult]:
    return shelves(ctx, registry.PRODUCT, product=product)


def account_page(ctx: RequestContext) -> WidgetResult | None:
    """"Customers like you also bought" on the logged-in customer's account page."""
    return _one(shelves(ctx, registry.ACCOUNT))


def category_page(ctx: RequestContext, category: Category) -> WidgetResult | None:
    return _one(shelves(ctx, registry.CATEGORY, category=category))


def api_user(ctx: RequestContext, n: int) -> WidgetResult | None:
    return _one(shelves(ctx, registry.API_USER, n=n))


def api_item(ctx: RequestContext, product: Product, kind: str, n: int) -> WidgetResult:
    """``kind`` is ``similar`` or ``bought`` (checked by the caller, see ``API_ITEM_KINDS``)."""
    spec = registry.spec(API_ITEM_KINDS[kind])
    return record(ctx, fill(spec, new_ask(ctx, product=product), n))


def customer_preview(customer_id: int, *, product: Product | None = None) -> WidgetResult:
    """"Customers like you also bought" as ``customer_id`` would see it on their account page
    (the admin's customer detail); nothing is recorded."""
    return fill(registry.spec("customers_like_you", registry.ACCOUNT), customer_ask(customer_id, product=product))

"""Any widget for the JSON API, with the client's filters: category, maximum price, exclusions.

The pages' widgets are fixed by placement; an API client asks for one by name
(``/api/v1/widgets/<name>``) with the context it needs (the product of an item-to-item widget,
the category of a category widget) and filters of its own. The widget is filled exactly as on a
page (``widgets.fill_for``: the same steps, business rules, A/B arm, reasons, merchandising
rules) with the filters as one more rule, and recorded as an impression, so the client's clicks
count like the pages'.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from storefront.catalog.snapshot import CategoryNode, ProductCard
from storefront.recommendations import registry, widgets
from storefront.recommendations.registry import WidgetSpec
from storefront.recommendations.widgets import WidgetResult
from storefront.tracking.visitors import RequestContext

PRODUCT, CATEGORY = "product", "category"


def needs(spec: WidgetSpec) -> str | None:
    """The context a widget cannot be filled without: the product of an item-to-item widget
    (the product page's own widgets and the API's item widgets), the category of a category
    widget, else nothing ("Customers like you" shown on the product page needs no product)."""
    if spec.placement == registry.API_ITEM or (spec.placement == registry.PRODUCT and spec.name.startswith("product_")):
        return PRODUCT
    if spec.placement == registry.CATEGORY:
        return CATEGORY
    return None


@dataclass(frozen=True)
class Filters:
    """What the client narrowed the widget to (None / empty: no filter)."""

    categories: frozenset[int] | None = None  # a category and its subcategories
    max_price: Decimal | None = None
    exclude: frozenset[int] = frozenset()

    def allows(self, card: ProductCard) -> bool:
        return ((self.categories is None or card.category_id in self.categories)
                and (self.max_price is None or card.price <= self.max_price))

    @property
    def active(self) -> bool:
        return self.categories is not None or self.max_price is not None


def api_specs() -> list[WidgetSpec]:
    """Every widget an API client may ask for by name (one spec per name: the first placement)."""
    seen: dict[str, WidgetSpec] = {}
    for spec in registry.WIDGETS:
        seen.setdefault(spec.name, spec)
    return list(seen.values())


def spec_named(name: str) -> WidgetSpec | None:
    return next((spec for spec in api_specs() if spec.name == name), None)


def widget(ctx: RequestContext, spec: WidgetSpec, n: int, filters: Filters, *,
           product: ProductCard | None = None, category: CategoryNode | None = None) -> WidgetResult:
    """``spec`` filled for this shopper under ``filters`` and recorded."""
    ask = widgets.new_ask(ctx, product=product, category=category)
    skip: Collection[int] = filters.exclude
    result = widgets.fill_for(ctx, spec, ask, n, also_skip=skip, allowed=filters.allows if filters.active else None)
    return widgets.record(ctx, result)

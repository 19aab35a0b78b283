"""The admin's preview of a widget with the rules in force applied: for a product's page, a
customer, a category, or an anonymous shopper without history. It fills the widget exactly as a
page does (``widgets.fill``: steps, business rules, rules, diversity, pins) and records nothing."""
from __future__ import annotations

from dataclasses import dataclass, replace

from storefront.catalog import snapshot
from storefront.catalog.snapshot import ProductCard
from storefront.extensions import db
from storefront.models import Customer, MerchandisingRule
from storefront.recommendations import registry, widgets
from storefront.recommendations.steps import Ask
from storefront.tracking.shopper_facts import ShopperFacts
from storefront.tracking.visitors import Shopper


class PreviewError(ValueError):
    """An unknown widget, product, customer or category (the page shows it as a message)."""


@dataclass(frozen=True)
class PreviewRow:
    position: int  # 1-based, as the admin enters pins
    product: ProductCard
    source: str
    rules: tuple[tuple[int, str], ...]  # (rule id, name) of the rules that touched it


@dataclass(frozen=True)
class Preview:
    result: widgets.WidgetResult
    rows: list[PreviewRow]
    excluding: tuple[tuple[int, str], ...]  # rules that removed a candidate


def _ask(customer_id: int | None, product: ProductCard | None, category) -> Ask:
    if customer_id is not None:
        return replace(widgets.customer_ask(customer_id, product=product), category=category)
    skip = frozenset({product.id}) if product is not None else frozenset()
    return Ask(Shopper(None, None), widgets.current_version(), snapshot.current(), skip, ShopperFacts(), product, category)


def preview(widget: str, *, product_id: int | None = None, customer_id: int | None = None,
            category_id: int | None = None) -> Preview:
    try:
        spec = registry.spec(widget)
    except KeyError:
        raise PreviewError("Choose a widget from the list.") from None
    catalog = snapshot.current()
    product = None
    if product_id is not None:
        found = catalog.cards([product_id])
        if not found:
            raise PreviewError(f"No product has the id {product_id}.")
        product = found[0]
    if customer_id is not None and db.session.get(Customer, customer_id) is None:
        raise PreviewError(f"No customer has the id {customer_id}.")
    category = catalog.categories.get(category_id) if category_id is not None else None
    if category_id is not None and category is None:
        raise PreviewError(f"No category has the id {category_id}.")
    result = widgets.fill(spec, _ask(customer_id, product, category))
    touched = {int(rule_id): positions for rule_id, positions in (result.rules or {}).items()}
    names = dict(db.session.execute(
        db.select(MerchandisingRule.id, MerchandisingRule.name).where(MerchandisingRule.id.in_(touched))).all()) \
        if touched else {}
    rows = [PreviewRow(index + 1, card, result.sources[index],
                       tuple((rule_id, names.get(rule_id, "?")) for rule_id, positions in touched.items()
                             if index in positions))
            for index, card in enumerate(result.products)]
    excluding = tuple((rule_id, names.get(rule_id, "?")) for rule_id, positions in touched.items() if not positions)
    return Preview(result, rows, excluding)

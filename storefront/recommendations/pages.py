"""The widgets of each page (and of the JSON API), computed and recorded as impressions.

Views call one function per page and get ready-to-render ``WidgetResult``s; each non-empty one
has already been recorded (``impression_id`` set, except for bots), so the template can put the
impression into its links. The caller commits, after rendering (a commit would expire the
loaded products and cost a reload per card).
"""
from __future__ import annotations

from flask_login import current_user

from storefront.models import Category, Product
from storefront.tracking import impressions
from storefront.recommendations import widgets as reco

# Widget names as stored on impressions (<= 32 characters): placement first, then the widget.
HOME_FOR_YOU = "home_for_you"
HOME_TRENDING = "home_trending"
CART_FOR_YOU = "cart_for_you"
PRODUCT_ALSO_BOUGHT = "product_also_bought"
PRODUCT_SIMILAR = "product_similar"
CATEGORY_TRENDING = "category_trending"
# The same name on the product and the account page (the impression's context product tells
# them apart): it is one widget, measured as one.
CUSTOMERS_LIKE_YOU = "customers_like_you"
API_USER = "api_user"
API_ITEM = {"similar": "api_similar", "bought": "api_bought"}


def home() -> reco.WidgetResult:
    """"Recommended for you" once the shopper has any history, else "Trending now"."""
    ask = reco.new_ask(with_recent=True)
    if ask.recent:
        return impressions.record(reco.recommended_for_you(HOME_FOR_YOU, ask=ask))
    return impressions.record(reco.trending_now(HOME_TRENDING, ask=ask))


def cart() -> reco.WidgetResult:
    return impressions.record(reco.recommended_for_you(CART_FOR_YOU))


def product_page(product: Product) -> list[reco.WidgetResult]:
    """The product-page widgets; none repeats an earlier one (when two fall back to the same
    category they would otherwise be the same shelf twice). "Customers like you" is only for
    logged-in customers: an anonymous browser is nobody's neighbour."""
    bought = reco.also_bought(PRODUCT_ALSO_BOUGHT, product)
    shown = [p.id for p in bought.products]
    similar = reco.similar_items(PRODUCT_SIMILAR, product, also_skip=shown)
    results = [bought, similar]
    if current_user.is_authenticated:
        shown += [p.id for p in similar.products]
        results.append(reco.customers_like_you(CUSTOMERS_LIKE_YOU, product=product, also_skip=shown))
    return [impressions.record(result) for result in results]


def account_page() -> reco.WidgetResult | None:
    """"Customers like you also bought" on the logged-in customer's account page."""
    if not current_user.is_authenticated:
        return None
    return impressions.record(reco.customers_like_you(CUSTOMERS_LIKE_YOU))


def category_page(category: Category) -> reco.WidgetResult:
    return impressions.record(reco.trending_in(CATEGORY_TRENDING, category))


def api_user(n: int) -> reco.WidgetResult:
    return impressions.record(reco.recommended_for_you(API_USER, n=n))


def api_item(product: Product, kind: str, n: int) -> reco.WidgetResult:
    """``kind`` is ``similar`` or ``bought`` (checked by the caller, see ``API_ITEM``)."""
    compute = reco.similar_items if kind == "similar" else reco.also_bought
    return impressions.record(compute(API_ITEM[kind], product, n=n))

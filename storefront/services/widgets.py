"""The widgets of each page (and of the JSON API), computed and recorded as impressions.

Views call one function per page and get ready-to-render ``WidgetResult``s; each non-empty one
has already been recorded (``impression_id`` set, except for bots), so the template can put the
impression into its links. The caller commits, after rendering (a commit would expire the
loaded products and cost a reload per card).
"""
from __future__ import annotations

from storefront.models import Category, Product
from storefront.services import impressions
from storefront.services import recommendations as reco

# Widget names as stored on impressions (<= 32 characters): placement first, then the widget.
HOME_FOR_YOU = "home_for_you"
HOME_TRENDING = "home_trending"
CART_FOR_YOU = "cart_for_you"
PRODUCT_ALSO_BOUGHT = "product_also_bought"
PRODUCT_SIMILAR = "product_similar"
CATEGORY_TRENDING = "category_trending"
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
    """Both product-page widgets; the second never repeats the first (when both fall back to
    the same category they would otherwise be the same shelf twice)."""
    bought = reco.also_bought(PRODUCT_ALSO_BOUGHT, product)
    similar = reco.similar_items(PRODUCT_SIMILAR, product, also_skip=[p.id for p in bought.products])
    return [impressions.record(bought), impressions.record(similar)]


def category_page(category: Category) -> reco.WidgetResult:
    return impressions.record(reco.trending_in(CATEGORY_TRENDING, category))


def api_user(n: int) -> reco.WidgetResult:
    return impressions.record(reco.recommended_for_you(API_USER, n=n))


def api_item(product: Product, kind: str, n: int) -> reco.WidgetResult:
    """``kind`` is ``similar`` or ``bought`` (checked by the caller, see ``API_ITEM``)."""
    compute = reco.similar_items if kind == "similar" else reco.also_bought
    return impressions.record(compute(API_ITEM[kind], product, n=n))

"""Every recommendation widget, declared as data: one ``WidgetSpec`` per widget.

A spec names the widget (as stored on its impressions), its title, the chain of strategy steps
that fill it (``storefront.recommendations.steps``), the pages it is placed on, who it is for,
and the sentence that explains to the shopper why they see it. Pages (``pages``), the JSON API,
the impressions and the admin's click-through table all read this one registry.

Adding a widget: write its steps (or reuse some), add a ``WidgetSpec`` below with its
placement, and render it: pages that list their widgets (the product page) show it at once;
elsewhere one template call, ``{{ widget_shelf(result) }}``, puts it on the page.
"""
from __future__ import annotations

from dataclasses import dataclass

from storefront.recommendations import steps, visit
from storefront.recommendations.steps import Step

# Who a widget is for, on the page it is placed on.
ANYONE = "anyone"
LOGGED_IN = "logged_in"  # a customer: an anonymous browser is nobody's neighbour
WITH_HISTORY = "with_history"  # the shopper has recent events (the page loads them)
WITHOUT_HISTORY = "without_history"
WITH_CART = "with_cart"  # the shopper's cart holds something (the page knows it: ShopperFacts.cart)
IN_VISIT = "in_visit"  # no customer history (not logged in, or no order) and events in this visit

# Placements: the pages (and API endpoints) widgets appear on.
HOME, PRODUCT, CART, CATEGORY, ACCOUNT, API_USER, API_ITEM, API_VISIT = (
    "home", "product", "cart", "category", "account", "api_user", "api_item", "api_visit")


@dataclass(frozen=True)
class WidgetSpec:
    name: str  # stored on impressions (<= 32 characters): placement first, then the widget
    title: str  # may hold "{category}" (the category page's name)
    steps: tuple[Step, ...]  # tried in order, each for what is still missing
    placement: str
    explanation: str  # why the shopper sees it, shown under the title
    audience: str = ANYONE
    skip_bought: bool = False  # leave out what the shopper bought even when re-buys are allowed
    # Skip what the page's earlier widgets show (two shelves of the same fallback would be the
    # same shelf twice); off for a memory aid like "Recently viewed", which lists what it lists.
    distinct_on_page: bool = True
    # "Buy it again" offers what the shopper bought: the only widget the purchases rule lets through
    # (every other rule still applies: stock, active, the cart)
    offers_bought: bool = False

    def title_for(self, category_name: str | None = None) -> str:
        return self.title.format(category=category_name or "")

    @property
    def reads_model(self) -> bool:
        """Whether a model version fills it (first): only such a widget can A/B test two versions."""
        return any(getattr(step, "reads_model", False) for step in self.steps)


FOR_YOU_STEPS = (steps.model_for_user, steps.in_recent_categories, steps.trending, steps.newest)
TRENDING_STEPS = (steps.model_trending, steps.trending, steps.newest)
# "Frequently bought together": complements (``ml.models.complements``), then the categories bought
# with the product's, never its own category (that is where "Similar items" looks)
BOUGHT_TOGETHER_STEPS = (steps.item_model("complements"), steps.complement_categories, steps.trending, steps.newest)
CART_TOGETHER_STEPS = (steps.cart_complements, steps.complement_categories, steps.trending, steps.newest)
SIMILAR_STEPS = (steps.item_model("similar_items"), steps.same_category, steps.trending, steps.newest)
CATEGORY_STEPS = (steps.model_trending_in_category, steps.in_category)
# The visit's session model (``visit``), then what this visit's categories sell, as "Recommended
# for you" falls back: the champion's fold-in is that widget's, shown beside this one
VISIT_STEPS = (visit.model_visit, steps.in_recent_categories, steps.trending, steps.newest)
CUSTOMERS_LIKE_YOU_STEPS = (steps.customers_like_you, steps.segment_best_sellers, steps.trending, steps.newest)

FOR_YOU_TITLE, FOR_YOU_WHY = "Recommended for you", "Picked for you from what you viewed, added to your cart and bought."
TRENDING_TITLE, TRENDING_WHY = "Trending now", "What shoppers are looking at and buying right now."
TOGETHER_TITLE = "Frequently bought together"
TOGETHER_WHY = "Bought in the same orders as this item more often than their popularity explains."
CART_TOGETHER_WHY = "Goes with what is in your cart: bought with it more often than popularity explains."
SIMILAR_TITLE, SIMILAR_WHY = "Similar items", "Items shoppers treat as alternatives to this one."
LIKE_YOU_TITLE = "Customers like you also bought"
LIKE_YOU_WHY = "Bought by customers whose orders look like yours."
VISIT_TITLE = "Inspired by your visit"
VISIT_WHY = "What shoppers went on to look at after the items you viewed on this visit, in the order you viewed them."
BUY_AGAIN_TITLE = "Buy it again"
BUY_AGAIN_WHY = "Things you buy regularly, about when people usually buy them again."

WIDGETS: tuple[WidgetSpec, ...] = (
    # home: one shelf, personal once the shopper has any history
    WidgetSpec("home_for_you", FOR_YOU_TITLE, FOR_YOU_STEPS, HOME, FOR_YOU_WHY,
               audience=WITH_HISTORY),
    WidgetSpec("home_trending", TRENDING_TITLE, TRENDING_STEPS, HOME, TRENDING_WHY,
               audience=WITHOUT_HISTORY),
    # a visitor without a customer history, during a visit: what comes next (session models)
    WidgetSpec("home_visit", VISIT_TITLE, VISIT_STEPS, HOME, VISIT_WHY, audience=IN_VISIT),
    # a memory aid for repeat purchases: what the shopper bought, so not distinct from the above
    WidgetSpec("home_buy_again", BUY_AGAIN_TITLE, (steps.buy_again,), HOME, BUY_AGAIN_WHY,
               audience=LOGGED_IN, distinct_on_page=False, offers_bought=True),
    # product page, in this order; none repeats a product of an earlier one
    # Its impression name predates the title: kept, so its click-through history continues (the
    # strategy on each impression, model:complements, says what filled it).
    WidgetSpec("product_also_bought", TOGETHER_TITLE, BOUGHT_TOGETHER_STEPS, PRODUCT, TOGETHER_WHY),
    WidgetSpec("product_similar", SIMILAR_TITLE, SIMILAR_STEPS, PRODUCT, SIMILAR_WHY),
    # The same name on the product and the account page (the impression's context product
    # tells them apart): it is one widget, measured as one.
    WidgetSpec("customers_like_you", LIKE_YOU_TITLE, CUSTOMERS_LIKE_YOU_STEPS, PRODUCT, LIKE_YOU_WHY,
               audience=LOGGED_IN, skip_bought=True),
    WidgetSpec("product_recently_viewed", "Recently viewed", (steps.recently_viewed,), PRODUCT,
               "The items you looked at lately, newest first.", audience=WITH_HISTORY,
               distinct_on_page=False),
    # cart, in this order: what goes with the cart's lines, then the shopper's picks
    WidgetSpec("cart_bought_together", TOGETHER_TITLE, CART_TOGETHER_STEPS, CART, CART_TOGETHER_WHY,
               audience=WITH_CART),
    WidgetSpec("cart_for_you", FOR_YOU_TITLE, FOR_YOU_STEPS, CART, FOR_YOU_WHY),
    WidgetSpec("cart_visit", VISIT_TITLE, VISIT_STEPS, CART, VISIT_WHY, audience=IN_VISIT),
    WidgetSpec("category_trending", "Trending in {category}", CATEGORY_STEPS, CATEGORY,
               "Gaining interest in this category lately."),
    WidgetSpec("customers_like_you", LIKE_YOU_TITLE, CUSTOMERS_LIKE_YOU_STEPS, ACCOUNT, LIKE_YOU_WHY,
               audience=LOGGED_IN, skip_bought=True),
    WidgetSpec("account_buy_again", BUY_AGAIN_TITLE, (steps.buy_again,), ACCOUNT, BUY_AGAIN_WHY,
               audience=LOGGED_IN, distinct_on_page=False, offers_bought=True),
    WidgetSpec("api_user", FOR_YOU_TITLE, FOR_YOU_STEPS, API_USER, FOR_YOU_WHY),
    WidgetSpec("api_visit", VISIT_TITLE, VISIT_STEPS, API_VISIT, VISIT_WHY),
    WidgetSpec("api_similar", SIMILAR_TITLE, SIMILAR_STEPS, API_ITEM, SIMILAR_WHY),
    WidgetSpec("api_bought", TOGETHER_TITLE, BOUGHT_TOGETHER_STEPS, API_ITEM, TOGETHER_WHY),
)

#: ``/api/v1/items/<id>/recommendations?kind=``: the kinds and their widgets.
API_ITEM_KINDS = {"similar": "api_similar", "bought": "api_bought"}


def placed_on(placement: str) -> list[WidgetSpec]:
    """The widgets of one page, in the order they are filled and shown."""
    return [spec for spec in WIDGETS if spec.placement == placement]


def spec(name: str, placement: str | None = None) -> WidgetSpec:
    """The widget called ``name`` (on ``placement``, for a name used on two pages)."""
    for candidate in WIDGETS:
        if candidate.name == name and (placement is None or candidate.placement == placement):
            return candidate
    raise KeyError(name)


def model_widgets() -> list[WidgetSpec]:
    """The widgets a model version fills, one per name (a name on two pages is one widget)."""
    found: dict[str, WidgetSpec] = {}
    for candidate in WIDGETS:
        if candidate.reads_model:
            found.setdefault(candidate.name, candidate)
    return list(found.values())


#: The search page's shelf after a query that found nothing (``storefront.search.pages``): the
#: home page's trending steps, measured under its own name. Not in ``WIDGETS``: no page lists it,
#: the search page fills it only when it has nothing else to show.
SEARCH_TRENDING = WidgetSpec("search_trending", TRENDING_TITLE, TRENDING_STEPS, "search", TRENDING_WHY)

#: Widget name -> title, for the admin's click-through table (a category page's title is generic).
WIDGET_TITLES: dict[str, str] = {s.name: s.title.format(category="<category>") for s in WIDGETS}
WIDGET_TITLES[SEARCH_TRENDING.name] = f"{SEARCH_TRENDING.title} (search without results)"

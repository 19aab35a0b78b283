"""Widgets as data: the registry drives the pages, and "Recently viewed" was added as one spec."""
from __future__ import annotations

from storefront.models import Impression
from storefront.recommendations import registry
from storefront.recommendations.widgets import customer_preview
from storefront.recommendations.registry import WIDGETS, placed_on
from tests.helpers import BOT_UA, BROWSER_UA
from tests.storefront.support.recommendations import shelves
from tests.storefront.support.shop import ctx, new_category, new_customer, new_product, set_product

RECENTLY_VIEWED = "product_recently_viewed"


def _catalog(app, n: int = 6) -> list[int]:
    category, _ = new_category(app, "Kettles")
    products = [new_product(app, category, name=f"Kettle {i}") for i in range(n)]
    for rank, product_id in enumerate(products):
        set_product(app, product_id, popularity=1.0 - rank / 10)
    return products


def test_every_widget_name_fits_the_impression_column_and_every_placement_has_widgets():
    width = Impression.__table__.c.widget.type.length
    assert all(len(spec.name) <= width for spec in WIDGETS)
    for placement in (registry.HOME, registry.PRODUCT, registry.CART, registry.CATEGORY, registry.ACCOUNT,
                      registry.API_USER, registry.API_ITEM):
        assert placed_on(placement), placement
    assert all(spec.title and spec.explanation and spec.steps for spec in WIDGETS)
    assert set(registry.API_ITEM_KINDS.values()) <= {spec.name for spec in placed_on(registry.API_ITEM)}
    # the product page shows its widgets in the registry's order
    assert [s.name for s in placed_on(registry.PRODUCT)] == [
        "product_also_bought", "product_similar", "customers_like_you", RECENTLY_VIEWED]


def test_recently_viewed_lists_what_this_browser_viewed_newest_first(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    a, b, c, d = _catalog(app)[:4]
    assert RECENTLY_VIEWED not in shelves(client.get(f"/products/{a}"))  # nothing viewed before: no shelf
    client.get(f"/products/{b}")
    client.get(f"/products/{c}")
    page = client.get(f"/products/{d}")
    shelf = shelves(page)[RECENTLY_VIEWED]
    assert shelf.product_ids == [c, b, a]  # newest first, never the product of the page itself
    assert shelf.strategy == "recently_viewed"
    html = page.get_data(as_text=True)
    assert "Recently viewed" in html and registry.spec(RECENTLY_VIEWED).explanation in html
    # an item that went out of stock leaves the shelf (the same rules as every widget)
    set_product(app, c, stock=0)
    assert shelves(client.get(f"/products/{a}"))[RECENTLY_VIEWED].product_ids == [d, b]


def test_recently_viewed_is_per_browser_and_records_an_impression(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    a, b = _catalog(app)[:2]
    client.get(f"/products/{a}")
    client.get(f"/products/{b}")
    other = app.test_client()
    other.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    assert RECENTLY_VIEWED not in shelves(other.get(f"/products/{a}"))
    with ctx(app) as session:
        shown = session.query(Impression).filter_by(widget=RECENTLY_VIEWED).all()
    assert [(i.items, i.context_product_id) for i in shown] == [([a], b)]


def test_a_crawler_gets_no_recently_viewed_shelf(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BOT_UA
    a, b = _catalog(app)[:2]
    client.get(f"/products/{a}")
    assert RECENTLY_VIEWED not in shelves(client.get(f"/products/{b}"))  # bots are not tracked


def test_the_admin_preview_of_a_customer_widget_records_nothing(app):
    _catalog(app)
    customer_id, _ = new_customer(app)
    with app.test_request_context("/"):
        result = customer_preview(customer_id)
        assert result.widget == "customers_like_you" and result.products  # trending fills it
        assert result.impression_id is None
    with ctx(app) as session:
        assert session.query(Impression).count() == 0


def test_the_admin_click_through_table_names_widgets_by_their_registry_title():
    from storefront.recommendations.stats import CtrRow

    assert CtrRow("product_recently_viewed", None, 10, 1).title == "Recently viewed"
    assert CtrRow("category_trending", None, 10, 1).title == "Trending in <category>"
    assert CtrRow("home_banner", None, 10, 1).title == "home_banner"  # not a widget: its stored name
    # the search page's shelf after a query that found nothing is named for what it is
    assert CtrRow("search_trending", None, 10, 1).title == "Trending now (search without results)"

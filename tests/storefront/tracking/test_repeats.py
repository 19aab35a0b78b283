"""Repeats are not new feedback: one click per impression and position, one banner click per
impression, and any product viewed in the last few seconds is a reload, not just the last one."""
from __future__ import annotations

from storefront.models import CLICK, VIEW
from tests.helpers import BROWSER_UA
from tests.storefront.support.campaigns import banner, new_campaign
from tests.storefront.support.recommendations import shelves
from tests.storefront.support.shop import events, new_category, new_product, set_product


def _catalog(app, n=6):
    category, _ = new_category(app, "Kettles")
    products = [new_product(app, category, name=f"Kettle {i}") for i in range(n)]
    for rank, product_id in enumerate(products):
        set_product(app, product_id, popularity=1.0 - rank / 10)
    return products


def test_alternating_two_products_is_not_a_stream_of_views(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    a, b = _catalog(app)[:2]
    for _ in range(5):
        client.get(f"/products/{a}")
        client.get(f"/products/{b}")
    assert sorted(e.product_id for e in events(app, VIEW)) == sorted([a, b])


def test_one_click_per_impression_and_position_however_often_the_link_is_followed(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    products = _catalog(app)
    shelf = next(iter(shelves(client.get(f"/products/{products[0]}")).values()))
    first, second = shelf.hrefs[0], shelf.hrefs[1]
    for _ in range(10):
        client.get(first)
        client.get(second)  # alternating defeated the old "same link as last time" rule
    clicks = events(app, CLICK)
    assert sorted(c.properties["position"] for c in clicks) == [0, 1]


def test_a_banner_click_counts_once_per_impression(app, client):
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    category, _ = new_category(app, "Cookware")
    pans = [new_product(app, category, name=f"Pan {i}") for i in range(4)]
    new_campaign(app, category_id=category)
    shown = banner(client.get("/"))
    shelf = next(iter(shelves(client.get(f"/products/{pans[0]}")).values()))
    for _ in range(3):
        client.get(shown.href)
        client.get(shelf.hrefs[0])  # another link in between defeated the old "not the last click" rule
    banner_clicks = [c for c in events(app, CLICK) if c.product_id is None]
    assert len(banner_clicks) == 1

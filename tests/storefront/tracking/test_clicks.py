"""Clicks on recommended items: recorded for a valid ``ri``/``rp`` pair only, never a 500."""
from __future__ import annotations

import pytest

from tests.helpers import BOT_UA, BROWSER_UA
from tests.storefront.support.recommendations import impressions, shelves
from storefront.models import CLICK, VIEW
from tests.storefront.support.shop import events, login, new_category, new_customer, new_product


def _client(app, user_agent: str = BROWSER_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def products(app) -> list[int]:
    category_id, _ = new_category(app, "Mugs")
    return [new_product(app, category_id, name=f"Mug {i}") for i in range(12)]


def _home_shelf(client):
    """The home page's main shelf (an anonymous visit also gets "Inspired by your visit")."""
    (shelf,) = [shelf for name, shelf in shelves(client.get("/")).items() if name != "home_visit"]
    return shelf


def test_a_click_from_a_widget_is_recorded_with_its_impression(app, client, products):
    shelf = _home_shelf(client)  # a first visit: no visitor row yet, the session ties it
    (impression,) = impressions(app)
    assert client.get(shelf.hrefs[2]).status_code == 200
    view, click = events(app)
    assert view.type == VIEW and click.type == CLICK
    assert click.product_id == view.product_id == shelf.product_ids[2]
    assert click.impression_id == impression.id
    assert click.properties == {"position": 2, "widget": "home_trending"}
    assert click.visitor_id == view.visitor_id and click.session_id == view.session_id

    # From the product page's own widgets, now that the visitor exists.
    page = shelves(client.get(shelf.hrefs[2]))  # a reload: no second click, no second view
    assert [e.type for e in events(app)] == [VIEW, CLICK]
    similar = page["product_also_bought"]
    client.get(similar.hrefs[0])
    last = events(app)[-1]
    assert (last.type, last.product_id, last.properties["widget"]) == (CLICK, similar.product_ids[0], "product_also_bought")
    assert last.properties["position"] == 0


def test_a_logged_in_customer_click_counts_on_another_browser(app, products):
    _, email = new_customer(app)
    laptop, phone = _client(app), _client(app)
    login(laptop, email)
    login(phone, email)
    shelf = _home_shelf(laptop)
    phone.get(shelf.hrefs[0])
    assert [e.type for e in events(app)] == [VIEW, CLICK]


def _bad_links(shelf, impression_id: int, other_product: int) -> list[str]:
    product = shelf.product_ids[1]
    return [
        f"/products/{product}?ri={impression_id}&rp=0",  # another product is at position 0
        f"/products/{other_product}?ri={impression_id}&rp=1",  # not this product
        f"/products/{product}?ri={impression_id}&rp=99",  # no such position
        f"/products/{product}?ri={impression_id + 1000}&rp=1",  # no such impression
        f"/products/{product}?ri={impression_id}",  # position missing
        f"/products/{product}?rp=1",
        f"/products/{product}?ri=abc&rp=1",
        f"/products/{product}?ri={impression_id}&rp=-1",
        f"/products/{product}?ri=-{impression_id}&rp=1",
        f"/products/{product}?ri={impression_id}&rp=1.0",
        f"/products/{product}?ri=%20{impression_id}&rp=1",
        f"/products/{product}?ri={impression_id}&rp=%D9%A1",  # an Arabic-Indic digit one
        f"/products/{product}?ri=99999999999999999999999999&rp=1",  # beyond BIGINT
        f"/products/{product}?ri=9223372036854775807&rp=1",
        f"/products/{product}?ri=0&rp=1",
        f"/products/{product}?ri=&rp=",
        f"/products/{product}?ri={impression_id}&ri={impression_id}&rp=1&rp=0",  # first one wins: 1
    ]


def test_invalid_click_parameters_are_ignored(app, client, products):
    shelf = _home_shelf(client)
    (impression,) = impressions(app)
    outside = next(p for p in products if p not in shelf.product_ids)
    links = _bad_links(shelf, impression.id, outside)
    for link in links[:-1]:
        response = client.get(link)
        assert response.status_code == 200, link
    assert not [e for e in events(app) if e.type == CLICK]
    # The duplicated parameters resolve to the first value, which is valid: one click.
    assert client.get(links[-1]).status_code == 200
    assert [e.properties["position"] for e in events(app) if e.type == CLICK] == [1]


def test_someone_elses_impression_is_not_a_click(app, client, products):
    shelf = _home_shelf(client)
    stranger = _client(app)
    stranger.get(shelf.hrefs[0])  # a shared link
    client.get(f"/products/{products[0]}")  # the owner gets a visitor row
    owner_shelf = _home_shelf(client)
    stranger.get(owner_shelf.hrefs[1])
    assert [e.type for e in events(app)] == [VIEW, VIEW, VIEW]


def test_bots_following_widget_links_record_nothing(app, client, products):
    shelf = _home_shelf(client)
    bot = _client(app, BOT_UA)
    assert bot.get(shelf.hrefs[0]).status_code == 200
    assert events(app) == []

"""Widgets on the pages: where they appear, their links, and the impression each render records."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.helpers import BOT_UA, MOBILE_UA
from tests.storefront.support.recommendations import impressions, seed_small_shop, shelves, train_and_publish
from storefront.models import Product
from tests.storefront.support.shop import ctx, events, login, new_category, new_customer, new_product, visitor_ids


def _client(app, user_agent: str):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def shop(app):
    """Two departments with a category each, ten products per category."""
    slugs, ids = [], []
    for name in ("Kitchen", "Garden"):
        dept_id, dept_slug = new_category(app, name)
        child_id, _ = new_category(app, f"{name} tools", parent_id=dept_id)
        slugs.append(dept_slug)
        ids.extend(new_product(app, child_id, name=f"{name} thing {i}") for i in range(10))
    return slugs, ids


def test_each_page_shows_its_widgets(app, client, shop):
    slugs, ids = shop
    assert list(shelves(client.get("/"))) == ["home_trending"]
    assert list(shelves(client.get(f"/products/{ids[0]}"))) == ["product_also_bought", "product_similar"]
    # one view is history enough, and it was this visit: "Inspired by your visit" too
    assert list(shelves(client.get("/"))) == ["home_for_you", "home_visit"]
    assert list(shelves(client.get("/cart"))) == ["cart_for_you", "cart_visit"]
    category = client.get(f"/c/{slugs[0]}")
    assert list(shelves(category)) == ["category_trending"]
    assert "Trending in Kitchen" in category.get_data(as_text=True)
    assert set(shelves(category)["category_trending"].product_ids) <= set(ids[:10])  # the department's
    assert shelves(client.get(f"/c/{slugs[0]}?page=2")) == {}  # the shelf tops the first page only
    assert shelves(client.get("/search?q=thing")) == {}


def test_every_render_records_one_impression_with_what_it_showed(app, client, shop):
    _, ids = shop
    page = client.get(f"/products/{ids[3]}")
    shown = shelves(page)
    records = impressions(app)
    assert [r.widget for r in records] == ["product_also_bought", "product_similar"]
    (view,) = events(app)
    for record in records:
        shelf = shown[record.widget]
        assert record.items == shelf.product_ids  # in display order
        assert record.strategy == shelf.strategy and record.model_version is None
        assert record.context_product_id == ids[3]
        assert record.visitor_id == view.visitor_id and record.customer_id is None
        assert record.device == "desktop"
        assert record.session_id == view.session_id
        for position, href in enumerate(shelf.hrefs):
            query = parse_qs(urlsplit(href).query)
            assert query == {"ri": [str(record.id)], "rp": [str(position)]}

    client.get("/")
    client.get("/")
    assert [r.widget for r in impressions(app)][2:] == ["home_for_you", "home_visit"] * 2  # per render


def test_impressions_of_a_first_visit_create_no_visitor(app, client, shop):
    client.get("/")
    (record,) = impressions(app)
    assert record.visitor_id is None and record.session_id  # tied to the browsing session
    assert visitor_ids(app) == []


def test_impressions_name_the_customer_and_the_device(app, shop):
    _, ids = shop
    customer_id, email = new_customer(app)
    phone = _client(app, MOBILE_UA)
    login(phone, email)
    phone.get("/cart")
    (record,) = impressions(app)
    assert record.customer_id == customer_id and record.device == "mobile"


@pytest.mark.parametrize("user_agent", [BOT_UA, "", "curl/8.5.0"], ids=["googlebot", "empty", "curl"])
def test_bots_see_widgets_but_record_no_impressions(app, shop, user_agent):
    _, ids = shop
    bot = _client(app, user_agent)
    for url in ("/", f"/products/{ids[0]}", "/cart"):
        response = bot.get(url)
        assert response.status_code == 200
        for shelf in shelves(response).values():
            assert shelf.product_ids
            assert all("ri=" not in href for href in shelf.hrefs)
    assert impressions(app) == []


def test_widget_markup(app, client, shop):
    _, ids = shop
    html = client.get(f"/products/{ids[0]}").get_data(as_text=True)
    # No inline script (the CSP allows none): the dwell beacon, the shelves' arrows and the search
    # box's suggestions, from the shop.
    assert sorted(re.findall(r"<script[^>]*>", html)) == [
        '<script src="/static/js/autocomplete.js" defer>', '<script src="/static/js/dwell.js" defer>',
        '<script src="/static/js/shelves.js" defer>']
    assert "Frequently bought together" in html and "Similar items" in html
    assert 'class="shelf-row"' in html
    assert 'name="viewport"' in html


def test_out_of_stock_current_product_page_still_has_widgets(app, client, shop):
    _, ids = shop
    with ctx(app) as session:
        session.get(Product, ids[0]).stock = 0
        session.commit()
    page = shelves(client.get(f"/products/{ids[0]}"))
    assert page and all(ids[0] not in shelf.product_ids for shelf in page.values())


def test_trending_shelves_with_a_model_on_the_demo_shop(app, client, runner):
    seed_small_shop(runner)
    version = train_and_publish(app)
    trending = shelves(client.get("/"))["home_trending"]
    assert trending.strategy == "model:popular" and trending.model_version == version
    assert len(trending.product_ids) == 8

    with ctx(app) as session:
        category = session.get(Product, trending.product_ids[0]).category
        slug, department_slug = category.slug, category.parent.slug
    for url_slug in (slug, department_slug):
        response = client.get(f"/c/{url_slug}")
        shelf = shelves(response)["category_trending"]
        assert shelf.strategy == "model:popular" and shelf.model_version == version
        with ctx(app) as session:
            shown = [session.get(Product, pid).category for pid in shelf.product_ids]
            assert all(url_slug in (c.slug, c.parent.slug if c.parent else None) for c in shown)
    # the top of the shop tops its department: first in the listing (by popularity), so the shelf
    # above it, which never repeats the listing's first row, leaves it to the grid
    html = response.get_data(as_text=True)
    grid = [int(pid) for pid in re.findall(r'<a href="/products/(\d+)" class="card-link">', html[html.index('<div class="grid">'):])]
    assert grid[0] == trending.product_ids[0] and grid[0] not in shelf.product_ids


def test_an_empty_database_renders_every_page(app, client):
    assert "The shop is empty" in client.get("/").get_data(as_text=True)
    for url in ("/", "/cart", "/search?q=anything", "/search", "/api/v1/recommendations/user"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert shelves(response) == {}
    _, slug = new_category(app, "Nothing Yet")
    assert client.get(f"/c/{slug}").status_code == 200
    only = new_product(app, new_category(app, "Singles")[0])
    assert client.get(f"/products/{only}").status_code == 200
    assert impressions(app) == []


def test_a_pages_widgets_are_recorded_in_one_insert_with_their_own_ids(app, client, shop):
    """Three widgets on a product page: one INSERT, and each link carries its own widget's id."""
    from sqlalchemy import event

    from storefront.extensions import db

    _, ids = shop
    client.get(f"/products/{ids[1]}")  # history, so every widget of the page has something to show
    inserts: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, sql, *_r: inserts.append(sql) if sql.startswith("INSERT INTO impressions") else None)
    page = client.get(f"/products/{ids[0]}")
    found = shelves(page)
    assert len(inserts) == 1 and len(found) >= 2
    recorded = {i.id: i for i in impressions(app)}
    for name, shelf in found.items():
        ri = {parse_qs(urlsplit(href).query)["ri"][0] for href in shelf.hrefs}
        assert len(ri) == 1, name
        impression = recorded[int(ri.pop())]
        assert impression.widget == name and impression.items == shelf.product_ids

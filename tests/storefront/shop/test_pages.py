"""Browsing: home, department and category listings, product pages, search, images, error pages."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.storefront.support.shop import card_titles, counts, new_category, new_product, set_product


def _cards(response) -> list[str]:
    return card_titles(response.get_data(as_text=True))


def _assert_shop_error_page(response, status: int, title: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert title in html
    assert 'class="site-header"' in html  # the shop's layout, not a bare Werkzeug page
    assert "Back to the shop" in html
    assert "Traceback" not in html


# --- home -------------------------------------------------------------------------------------


def test_home_with_an_empty_database(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The shop is empty" in html
    assert _cards(response) == []


def test_home_lists_active_in_stock_products_and_departments(app, client):
    dept_id, dept_slug = new_category(app, "Audio Gear")
    child_id, _ = new_category(app, "Speakers", parent_id=dept_id)
    new_product(app, child_id, name="Boom Speaker")
    new_product(app, child_id, name="Hidden Speaker", active=False)
    new_product(app, child_id, name="Sold Out Speaker", stock=0)

    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The shop is empty" not in html
    titles = _cards(response)
    assert "Boom Speaker" in titles
    assert "Hidden Speaker" not in titles and "Hidden Speaker" not in html
    assert "Sold Out Speaker" not in titles
    assert f'href="/c/{dept_slug}"' in html  # department navigation


# --- listings ---------------------------------------------------------------------------------


def test_department_page_lists_products_of_its_child_categories(app, client):
    dept_id, dept_slug = new_category(app, "Electronics")
    phones_id, phones_slug = new_category(app, "Phones", parent_id=dept_id)
    cables_id, _ = new_category(app, "Cables", parent_id=dept_id)
    other_id, _ = new_category(app, "Garden")
    new_product(app, phones_id, name="Pocket Phone")
    new_product(app, cables_id, name="Braided Cable")
    new_product(app, other_id, name="Garden Hose")
    new_product(app, phones_id, name="Retired Phone", active=False)
    cases_id, cases_slug = new_category(app, "Phone Cases", parent_id=phones_id)  # a grandchild
    new_product(app, cases_id, name="Leather Case")

    response = client.get(f"/c/{dept_slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sorted(_cards(response)) == ["Braided Cable", "Leather Case", "Pocket Phone"]
    assert "3 products" in html
    assert f'href="/c/{phones_slug}"' in html  # child categories are offered as chips

    child = client.get(f"/c/{phones_slug}")
    assert sorted(_cards(child)) == ["Leather Case", "Pocket Phone"]
    assert f'href="/c/{dept_slug}"' in child.get_data(as_text=True)  # breadcrumb back to the department

    leaf = client.get(f"/c/{cases_slug}")
    assert _cards(leaf) == ["Leather Case"]
    assert "1 product<" in leaf.get_data(as_text=True)


def test_category_pagination(app, client):
    per_page = app.config["PRODUCTS_PER_PAGE"]
    category_id, slug = new_category(app, "Mugs")
    names = [f"Mug {n:03d}" for n in range(per_page + 3)]
    for name in names:
        new_product(app, category_id, name=name)

    first = client.get(f"/c/{slug}")
    assert first.status_code == 200
    assert len(_cards(first)) == per_page
    html = first.get_data(as_text=True)
    assert "Page 1 of 2" in html and 'rel="next"' in html

    second = client.get(f"/c/{slug}?page=2")
    assert second.status_code == 200
    assert len(_cards(second)) == 3
    # Every product is on exactly one page (default order: popularity, then id).
    assert sorted(_cards(first) + _cards(second)) == sorted(names)
    assert 'rel="prev"' in second.get_data(as_text=True)

    beyond = client.get(f"/c/{slug}?page=99")
    assert beyond.status_code == 200
    assert _cards(beyond) == []
    assert "Page 99 is past the last page of Mugs" in " ".join(beyond.get_data(as_text=True).split())

    for junk in ("0", "-3", "abc"):
        page = client.get(f"/c/{slug}?page={junk}")
        assert page.status_code == 200
        assert _cards(page) == _cards(first)


@pytest.fixture
def sortable(app):
    """Four products whose price, age and popularity orders all differ."""
    category_id, slug = new_category(app, "Lamps")
    base = datetime(2024, 1, 1)
    spec = {
        "Lamp A": ("9.99", 2, 3.0),
        "Lamp B": ("100.00", 4, 1.0),
        "Lamp C": ("25.50", 1, 9.0),
        "Lamp D": ("50.00", 3, 5.0),
    }
    for name, (price, day, popularity) in spec.items():
        product_id = new_product(app, category_id, name=name, price=price)
        set_product(app, product_id, created_at=base + timedelta(days=day), popularity=popularity)
    return slug


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("price_asc", ["Lamp A", "Lamp C", "Lamp D", "Lamp B"]),  # 9.99 < 25.50 < 50 < 100 (numeric, not text)
        ("price_desc", ["Lamp B", "Lamp D", "Lamp C", "Lamp A"]),
        ("newest", ["Lamp B", "Lamp D", "Lamp A", "Lamp C"]),
        ("popular", ["Lamp C", "Lamp D", "Lamp A", "Lamp B"]),
    ],
)
def test_category_sorts(client, sortable, sort, expected):
    response = client.get(f"/c/{sortable}?sort={sort}")
    assert response.status_code == 200
    assert _cards(response) == expected
    assert f'<option value="{sort}" selected>' in response.get_data(as_text=True)


def test_unknown_sort_falls_back_to_most_popular(client, sortable):
    response = client.get(f"/c/{sortable}?sort=DROP%20TABLE")
    assert response.status_code == 200
    assert _cards(response) == ["Lamp C", "Lamp D", "Lamp A", "Lamp B"]
    assert '<option value="popular" selected>' in response.get_data(as_text=True)


# --- product page -----------------------------------------------------------------------------


def test_product_detail_shows_name_price_and_brand(app, client):
    category_id, slug = new_category(app, "Kettles")
    product_id = new_product(app, category_id, name="Copper Kettle", brand="Hearthly", price="1234.50", stock=3)
    response = client.get(f"/products/{product_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Copper Kettle</h1>" in html
    assert "$1,234.50" in html
    assert '<p class="brand">Hearthly</p>' in html
    assert "Only 3 left" in html
    assert f'action="/cart/add/{product_id}"' in html
    assert f'src="/img/category/{slug}.svg"' in html


def test_out_of_stock_product_page_has_no_add_to_cart_form(app, client):
    product_id = new_product(app, name="Empty Shelf", stock=0)
    response = client.get(f"/products/{product_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Out of stock" in html
    assert "/cart/add/" not in html


# --- search -----------------------------------------------------------------------------------


def test_search_ranks_a_name_match_above_a_description_only_match(app, client):
    category_id, _ = new_category(app, "Furniture")
    desk = new_product(app, category_id, name="Walnut Desk", description="Solid wood, oiled.")
    chair = new_product(app, category_id, name="Office Chair", description="Looks great next to a walnut desk.")
    new_product(app, category_id, name="Steel Shelf", description="Holds books.")
    set_product(app, chair, popularity=100.0)  # more popular: only relevance can put the desk first
    set_product(app, desk, popularity=0.0)

    response = client.get("/search?q=Walnut")
    assert response.status_code == 200
    assert _cards(response) == ["Walnut Desk", "Office Chair"]
    assert "2 found" in response.get_data(as_text=True)


def test_search_needs_every_word(app, client):
    category_id, _ = new_category(app, "Furniture")
    new_product(app, category_id, name="Walnut Desk")
    new_product(app, category_id, name="Walnut Chair")
    response = client.get("/search?q=walnut+chair")
    assert _cards(response) == ["Walnut Chair"]


def test_search_by_brand(app, client):
    category_id, _ = new_category(app, "Audio")
    new_product(app, category_id, name="Studio Monitor", brand="Zorblax")
    new_product(app, category_id, name="Desk Speaker", brand="Acme")
    response = client.get("/search?q=zorblax")
    assert response.status_code == 200
    assert _cards(response) == ["Studio Monitor"]


def test_search_escapes_markup_in_the_query(app, client):
    payload = "<script>alert(1)</script>"
    # No match: the query is echoed in the "No results" heading and in the search box.
    response = client.get("/search", query_string={"q": payload})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No results for" in html
    assert payload not in html and "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    # A match: the query is echoed in the "Results for" heading.
    new_product(app, name="Alert Lamp", description="A script lights it up.")
    response = client.get("/search", query_string={"q": payload})
    html = response.get_data(as_text=True)
    assert _cards(response) == ["Alert Lamp"]
    assert payload not in html and "<script>" not in html
    assert "&lt;script&gt;" in html


def test_search_treats_sql_as_plain_text(app, client):
    category_id, _ = new_category(app, "Kitchen")
    for name in ("Blue Mug", "Red Kettle", "Green Lamp", "Corkscrew"):
        new_product(app, category_id, name=name)
    before = counts(app)
    for query in ("' OR 1=1 --", "'; DROP TABLE products; --"):
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200
        # words, not SQL: nothing is called that (the page then offers its closest matches)
        assert "No results for" in response.get_data(as_text=True)
    assert client.get("/search?q=mug").status_code == 200
    assert _cards(client.get("/search?q=mug")) == ["Blue Mug"]
    after = counts(app)
    assert after["events"] == before["events"] + 4  # each results page is a search event, nothing else changed
    assert {k: v for k, v in after.items() if k not in ("events", "visitors")} == \
        {k: v for k, v in before.items() if k not in ("events", "visitors")}


@pytest.mark.parametrize("query", ["%", "%%", "_", "__", "%_%", "a%", "100%"])
def test_search_wildcards_do_not_match_everything(app, client, query):
    category_id, _ = new_category(app, "Kitchen")
    for name in ("Blue Mug", "Red Kettle", "Green Lamp"):
        new_product(app, category_id, name=name)
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert _cards(response) == []


def test_search_underscore_is_literal(app, client):
    category_id, _ = new_category(app, "Code")
    new_product(app, category_id, name="snake_case Mug")
    new_product(app, category_id, name="snakeXcase Mug")
    response = client.get("/search", query_string={"q": "snake_case"})
    assert _cards(response) == ["snake_case Mug"]


@pytest.mark.parametrize("query", ["a", "", "  ", "!"])
def test_search_of_one_letter_shows_the_hint(app, client, query):
    new_product(app, name="Apple Crate")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert "Type at least two letters" in response.get_data(as_text=True)
    assert _cards(response) == []


# --- images -----------------------------------------------------------------------------------


def test_category_svg_image(app, client):
    _, slug = new_category(app, "Smart Watches")
    response = client.get(f"/img/category/{slug}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert body.startswith("<svg") and body.rstrip().endswith("</svg>")
    assert "Smart Watches" in body
    assert client.get("/img/category/no-such-category.svg").status_code == 404


# --- error pages ------------------------------------------------------------------------------


def test_unknown_product_is_a_styled_404(client):
    _assert_shop_error_page(client.get("/products/987654"), 404, "Page not found")


def test_unknown_category_is_a_styled_404(client):
    _assert_shop_error_page(client.get("/c/no-such-slug"), 404, "Page not found")


def test_inactive_product_is_a_styled_404(app, client):
    product_id = new_product(app, name="Withdrawn Gadget", active=False)
    response = client.get(f"/products/{product_id}")
    _assert_shop_error_page(response, 404, "Page not found")
    assert "Withdrawn Gadget" not in response.get_data(as_text=True)


def test_unknown_url_is_a_styled_404(client):
    _assert_shop_error_page(client.get("/no/such/page"), 404, "Page not found")


def test_error_inside_a_view_renders_the_styled_500_page(app, client):
    def explode():
        raise RuntimeError("kaboom: secret internals")

    app.add_url_rule("/__test-explode", "test_explode", explode)
    response = client.get("/__test-explode")
    _assert_shop_error_page(response, 500, "Something went wrong")
    assert "kaboom" not in response.get_data(as_text=True)
    # The app keeps serving afterwards.
    assert client.get("/").status_code == 200


def test_errors_are_json_for_api_clients(client):
    response = client.get("/products/987654", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["status"] == 404

"""Facets and sorting of category and search pages (issue 18): counts with the other filters
applied, every state in the URL, pagination that keeps the filters, bad input that never fails."""
from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event

from storefront.extensions import db
from tests.storefront.search.facet_support import audio_shop, facet, facet_href, selected, titles


@pytest.fixture
def shop(app):
    return audio_shop(app)


def test_a_category_page_counts_each_facet(client, shop):
    response = client.get(f"/c/{shop['audio']}")
    assert response.status_code == 200
    assert len(titles(response)) == 6
    assert facet(response, "category") == {"Headphones": 4, "Speakers": 2}
    assert facet(response, "brand") == {"Acme": 2, "Sonora": 2, "Vexo": 2}
    assert facet(response, "price") == {"Under $25": 1, "$25 – $50": 1, "$50 – $100": 2, "$100 – $250": 1,
                                        "$250 – $500": 1}
    assert facet(response, "stock") == {"In stock": 4}


def test_each_facet_is_counted_with_the_other_filters(client, shop):
    response = client.get(f"/c/{shop['audio']}?brand=Acme")
    assert sorted(titles(response)) == ["Budget Headphones", "Desk Speaker"]
    # the brands keep their counts (another can be added), the other facets narrow
    assert facet(response, "brand") == {"Acme": 2, "Sonora": 2, "Vexo": 2}
    assert selected(response, "brand") == ["Acme"]
    assert facet(response, "category") == {"Headphones": 1, "Speakers": 1}
    assert facet(response, "price") == {"Under $25": 1, "$50 – $100": 1}
    assert facet(response, "stock") == {"In stock": 2}

    both = client.get(f"/c/{shop['audio']}?brand=Acme&brand=Vexo")  # OR within a facet
    assert sorted(titles(both)) == ["Budget Headphones", "Desk Speaker", "Party Speaker", "Reference Headphones"]

    narrow = client.get(f"/c/{shop['audio']}?brand=Acme&in_stock=1&price_min=50")  # AND across facets
    assert titles(narrow) == ["Desk Speaker"]
    assert facet(narrow, "brand") == {"Acme": 1, "Sonora": 1, "Vexo": 1}  # in stock from $50: one each


def test_subcategory_and_price_filters(client, shop):
    speakers = client.get(f"/c/{shop['audio']}?cat={shop['speakers']}")
    assert sorted(titles(speakers)) == ["Desk Speaker", "Party Speaker"]
    assert facet(speakers, "brand") == {"Acme": 1, "Vexo": 1}
    assert selected(speakers, "category") == ["Speakers"]
    assert facet(speakers, "category") == {"Headphones": 4, "Speakers": 2}

    bucket = facet_href(client.get(f"/c/{shop['audio']}"), "price", "$50 – $100")
    assert parse_qs(urlsplit(bucket).query) == {"price_min": ["50"], "price_max": ["99.99"]}
    in_bucket = client.get(bucket)
    assert sorted(titles(in_bucket)) == ["Desk Speaker", "Studio Headphones"]
    assert selected(in_bucket, "price") == ["$50 – $100"]

    swapped = client.get(f"/c/{shop['audio']}?price_min=100&price_max=20")  # read as 20 .. 100
    assert sorted(titles(swapped)) == ["Desk Speaker", "Studio Headphones", "Travel Headphones"]


def test_facet_links_and_forms_keep_the_rest_of_the_state(client, shop):
    response = client.get(f"/c/{shop['audio']}?sort=price_asc&in_stock=1")
    href = facet_href(response, "brand", "Acme")
    assert parse_qs(urlsplit(href).query) == {"sort": ["price_asc"], "in_stock": ["1"], "brand": ["Acme"]}
    assert titles(client.get(href)) == ["Budget Headphones", "Desk Speaker"]
    html = response.get_data(as_text=True)
    sort_form = html[html.index('<form method="get" class="sort">'):]
    sort_form = sort_form[:sort_form.index("</form>")]
    assert '<input type="hidden" name="in_stock" value="1">' in sort_form
    assert 'name="sort"' in sort_form and '<input type="hidden" name="sort"' not in sort_form


@pytest.mark.parametrize("sort, expected", [
    ("price_asc", ["Budget Headphones", "Travel Headphones", "Desk Speaker", "Studio Headphones", "Party Speaker",
                   "Reference Headphones"]),
    ("price_desc", ["Reference Headphones", "Party Speaker", "Studio Headphones", "Desk Speaker",
                    "Travel Headphones", "Budget Headphones"]),
    ("newest", ["Party Speaker", "Desk Speaker", "Reference Headphones", "Budget Headphones", "Travel Headphones",
                "Studio Headphones"]),
])
def test_sorts(client, shop, sort, expected):
    assert titles(client.get(f"/c/{shop['audio']}?sort={sort}")) == expected


def test_pagination_keeps_the_filters(app, client, shop):
    app.config["PRODUCTS_PER_PAGE"] = 2
    first = client.get(f"/c/{shop['audio']}?brand=Acme&brand=Vexo&sort=price_asc")
    assert titles(first) == ["Budget Headphones", "Desk Speaker"]
    next_link = html_lib.unescape(re.search(r'<a href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1))
    assert parse_qs(urlsplit(next_link).query) == {"brand": ["Acme", "Vexo"], "sort": ["price_asc"], "page": ["2"]}
    second = client.get(next_link)
    assert titles(second) == ["Party Speaker", "Reference Headphones"]
    assert "Page 2 of 2" in second.get_data(as_text=True)
    # a facet link goes back to the first page
    assert "page=" not in facet_href(second, "brand", "Sonora")


def test_search_results_have_facets_too(client, shop):
    response = client.get("/search?q=headphones")
    assert sorted(titles(response)) == ["Budget Headphones", "Reference Headphones", "Studio Headphones",
                                        "Travel Headphones"]
    assert facet(response, "brand") == {"Sonora": 2, "Acme": 1, "Vexo": 1}
    assert facet(response, "category") == {"Headphones": 4}
    sonora = client.get("/search?q=headphones&brand=Sonora&sort=price_asc")
    assert titles(sonora) == ["Travel Headphones", "Studio Headphones"]
    assert 'value="relevance"' in sonora.get_data(as_text=True)  # search alone sorts by relevance
    none_left = client.get("/search?q=headphones&brand=Sonora&in_stock=1&price_max=20")
    assert titles(none_left) == []
    assert "None of the 4 results match these filters" in none_left.get_data(as_text=True)


BAD_INPUT = [
    "sort=bogus", "sort=", "page=-3", "page=0", "page=abc", f"page={10**12}", "price_min=abc", "price_max=1e309",
    "price_min=-5", "price_max=NaN", "in_stock=maybe", "cat=no-such-category", "cat=%27%22%3E",
    "brand=%22%3E%3Cscript%3Ealert(1)%3C/script%3E", "brand=O%27Reilly", "brand=" + "x" * 500,
    "brand=a&" * 40 + "brand=b",
]


@pytest.mark.parametrize("query", BAD_INPUT)
@pytest.mark.parametrize("base", ["/c/{audio}?", "/search?q=headphones&"])
def test_bad_input_never_fails_the_page(client, shop, base, query):
    response = client.get(base.format(**shop) + query)
    assert response.status_code == 200, query
    html = response.get_data(as_text=True)
    assert "<script>alert(1)" not in html and "Traceback" not in html


def test_bad_values_are_ignored_and_shown(client, shop):
    response = client.get(f"/c/{shop['audio']}?price_min=abc&sort=bogus")
    html = response.get_data(as_text=True)
    assert len(titles(response)) == 6  # the price is ignored, the sort is the default
    assert 'name="price_min" value="abc"' in html and 'aria-invalid="true"' in html
    assert "The lowest price must be an amount" in html
    assert '<option value="popular" selected>' in html
    marked = client.get(f"/c/{shop['audio']}?brand=%22%3E%3Cb%3Ebold%3C/b%3E")
    assert titles(marked) == []
    assert selected(marked, "brand") == ['"><b>bold</b>']  # selected, shown as text, and can be unticked
    assert "<b>bold</b>" not in marked.get_data(as_text=True)


def test_filters_cost_no_extra_statement(app, client, shop):
    url = f"/c/{shop['audio']}"
    filtered = url + "?brand=Acme&brand=Vexo&price_min=10&price_max=200&in_stock=1&cat=" + shop["speakers"]
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_r: statements.append(sql))
    counts = []
    for page in (url, filtered, "/search?q=headphones", "/search?q=headphones&brand=Acme&in_stock=1&sort=price_desc"):
        client.get(page)  # warm: the snapshot and the cards
        app.extensions.pop("listing_cache", None)  # but count the listing again
        statements.clear()
        assert client.get(page).status_code == 200
        counts.append(len(statements))
        assert sum("WITH scope AS" in sql for sql in statements) == 1, page  # products, total, facets: one
    # (the unfiltered category page also shows and records its "Trending in" shelf)
    assert counts[1] <= counts[0] and counts[3] == counts[2], counts


def test_a_listing_is_counted_once_per_catalog_version(app, client, shop):
    from tests.storefront.support.shop import set_product

    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_r: statements.append(sql))
    url = f"/c/{shop['audio']}?brand=Acme&sort=price_desc"
    assert titles(client.get(url)) == ["Desk Speaker", "Budget Headphones"]
    statements.clear()
    assert titles(client.get(url)) == ["Desk Speaker", "Budget Headphones"]
    assert not [sql for sql in statements if "WITH scope AS" in sql]  # the same listing, the same version
    set_product(app, shop["ids"]["Budget Headphones"], price=99)  # the catalog moves on
    statements.clear()
    assert titles(client.get(url)) == ["Budget Headphones", "Desk Speaker"]
    assert len([sql for sql in statements if "WITH scope AS" in sql]) == 1

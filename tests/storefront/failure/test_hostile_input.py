"""Malformed or hostile input is answered with a 4xx (or ignored), never a 500.

Crawlers and scanners send all of these; each 500 is an ERROR with a traceback in the logs.
"""
from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storefront.support.shop import add_to_cart, card_titles, checkout_form, counts, new_category, new_product

HUGE = 10**20  # larger than any 64-bit integer


@pytest.fixture
def two_pages(app):
    """A category with five "Mug" products and a page size of two."""
    app.config["PRODUCTS_PER_PAGE"] = 2
    category_id, slug = new_category(app, "Mugs")
    for n in range(5):
        new_product(app, category_id, name=f"Blue Mug {n}")
    return slug


def _next_link(response) -> str:
    links = re.findall(r'<a href="([^"]*)" rel="next"', response.get_data(as_text=True))
    assert len(links) == 1
    return html_lib.unescape(links[0])


@pytest.mark.parametrize("base", ["/c/{slug}?", "/search?q=mug&"])
def test_huge_page_number_is_an_empty_page(client, two_pages, base):
    response = client.get(base.format(slug=two_pages) + f"page={HUGE}")
    assert response.status_code == 200
    assert card_titles(response.get_data(as_text=True)) == []


def test_huge_product_id_is_not_found(client):
    assert client.get(f"/products/{HUGE}").status_code == 404


def test_cart_routes_with_a_huge_product_id(app, client):
    before = counts(app)
    assert add_to_cart(client, HUGE, 1).status_code == 404
    assert client.post(f"/cart/update/{HUGE}", data={"quantity": "1"}).status_code in (404, 422)
    assert client.post(f"/cart/remove/{HUGE}").status_code in (404, 422)
    assert counts(app) == before


@pytest.mark.parametrize("extra", ["endpoint=x", "_method=POST", "slug=elsewhere"])
@pytest.mark.parametrize("base", ["/c/{slug}", "/search?q=mug"])
def test_pagination_links_ignore_foreign_query_arguments(client, two_pages, base, extra):
    url = base.format(slug=two_pages)
    response = client.get(url + ("&" if "?" in url else "?") + extra)
    assert response.status_code == 200
    assert len(card_titles(response.get_data(as_text=True))) == 2
    link = urlsplit(_next_link(response))
    assert not link.scheme and not link.netloc
    assert link.path == urlsplit(url).path  # the next page of this listing, not another one
    assert parse_qs(link.query)["page"] == ["2"]


@pytest.mark.parametrize("url", ["/c/ab%00cd", "/img/category/ab%00cd.svg", "/orders/AB%00CD", "/search?q=mu%00g"])
def test_nul_bytes_in_urls(client, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404)


def test_nul_bytes_in_the_registration_form(app, client):
    response = client.post("/account/register", data={
        "name": "Nul\x00Name", "email": "nul@example.com", "password": "longenough1", "confirm": "longenough1",
    })
    assert response.status_code in (302, 400, 422)


def test_nul_bytes_in_the_checkout_form(app, client):
    product_id = new_product(app, stock=5)
    add_to_cart(client, product_id, 1)
    response = client.post("/checkout", data=checkout_form(name="Nul\x00Name", city="Ci\x00ty"))
    assert response.status_code in (302, 400, 422)

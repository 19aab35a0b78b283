"""The template's product and picture URLs (storefront.web.templating) are the router's URLs,
built without it: the same strings as ``url_for``, with and without a script root."""
from __future__ import annotations

import re

import pytest
from flask import url_for
from sqlalchemy import select

from storefront.extensions import db
from storefront.models import Product
from storefront.web.templating import product_image_url, product_url


@pytest.mark.parametrize("script_root", ["", "/shop", "/my shop"])
def test_product_urls_equal_the_routers(app, seeded, script_root):
    with app.test_request_context("/", environ_base={"SCRIPT_NAME": script_root}):
        assert product_url(42) == url_for("shop.product", product_id=42)
        assert product_url(42, 1234567, 3) == url_for("shop.product", product_id=42, ri=1234567, rp=3)
        assert product_url(9, 5, None) == url_for("shop.product", product_id=9, ri=5, rp=0)
        product = db.session.scalars(select(Product).order_by(Product.id)).first()
        category = product.category
        assert product_image_url(product) == url_for("shop.category_image", slug=category.slug)


def test_a_page_under_a_script_root_links_its_cards_there(app, seeded):
    client = app.test_client()
    page = client.get("/", base_url="http://localhost/shop/").get_data(as_text=True)
    links = re.findall(r'href="([^"]*/products/\d+[^"]*)"', page)
    pictures = re.findall(r'<img src="([^"]+)"', page)
    assert links and pictures
    assert all(link.startswith("/shop/products/") for link in links)
    assert all(picture.startswith("/shop/") for picture in pictures)
    product_id = int(re.search(r"/products/(\d+)", links[0]).group(1))
    assert client.get(f"/products/{product_id}").status_code == 200


def test_templates_url_for_remembers_only_what_cannot_differ(app, seeded):
    urls = app.jinja_env.globals["url_for"]
    with app.test_request_context("/", base_url="http://localhost/shop/"):
        assert urls("shop.category", slug="electronics", page=2) == url_for("shop.category", slug="electronics", page=2)
        assert urls("shop.category", slug="electronics", page=2) == "/shop/c/electronics?page=2"
        assert urls("static", filename="css/shop.css") == "/shop/static/css/shop.css"
        assert urls("shop.home", _external=True) == "http://localhost/shop/"  # not remembered: built each time
    with app.test_request_context("/"):  # another script root: another URL
        assert urls("shop.category", slug="electronics", page=2) == "/c/electronics?page=2"
        assert urls("shop.home", _external=True) == "http://localhost/"

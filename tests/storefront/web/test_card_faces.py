"""A product card's face (picture, brand, name, price) is rendered once per catalog version
(storefront.web.templating.card_face): a change a shopper can see moves the version, and the
next page shows it."""
from __future__ import annotations

import re
from decimal import Decimal

from storefront.extensions import db
from storefront.models import Product


def _card_of(page: str, product_id: int) -> str:
    match = re.search(rf'<a href="/products/{product_id}(\?[^"]*)?" class="card-link">(.*?)</a>', page, re.S)
    assert match, f"no card of product {product_id}"
    return match.group(2)


def test_a_cards_face_follows_a_price_and_name_change(app, seeded):
    client = app.test_client()
    client.get("/")
    page = client.get("/").get_data(as_text=True)
    product_id = int(re.findall(r'href="/products/(\d+)[^"]*" class="card-link"', page)[0])
    before = _card_of(page, product_id)
    assert _card_of(client.get("/").get_data(as_text=True), product_id) == before  # the cached face
    with app.app_context():
        product = db.session.get(Product, product_id)
        product.price, product.name = Decimal("12345.67"), "Renamed <b>Lamp</b>"
        db.session.commit()
    after = _card_of(client.get("/").get_data(as_text=True), product_id)
    assert "$12,345.67" in after and "Renamed &lt;b&gt;Lamp&lt;/b&gt;" in after
    assert after != before

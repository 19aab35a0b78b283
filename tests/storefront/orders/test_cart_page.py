"""The cart page and the header's cart badge, for anonymous visitors and logged-in customers
(the ``shopper`` fixture: ``conftest.py``)."""
from __future__ import annotations

import re

from storefront.models import Product
from tests.storefront.support.shop import add_to_cart, cart_badge, ctx, new_product


def test_header_badge_counts_items(app, shopper):
    assert cart_badge(shopper.client.get("/").get_data(as_text=True)) is None
    first = new_product(app)
    second = new_product(app)
    add_to_cart(shopper.client, first, 2)
    add_to_cart(shopper.client, second, 1)
    assert cart_badge(shopper.client.get("/").get_data(as_text=True)) == 3
    assert cart_badge(shopper.client.get("/cart").get_data(as_text=True)) == 3
    # a page without widgets counts with its own query rather than the shopper's facts
    assert cart_badge(shopper.client.get("/search?q=product").get_data(as_text=True)) == 3
    shopper.client.post(f"/cart/update/{first}", data={"quantity": "5"})
    assert cart_badge(shopper.client.get("/").get_data(as_text=True)) == 6
    shopper.client.post(f"/cart/remove/{first}")
    shopper.client.post(f"/cart/remove/{second}")
    assert cart_badge(shopper.client.get("/").get_data(as_text=True)) is None


def test_cart_page_shows_lines_and_subtotal(app, shopper):
    product_id = new_product(app, name="Tea Tin", price="4.50")
    add_to_cart(shopper.client, product_id, 3)
    html = shopper.client.get("/cart").get_data(as_text=True)
    assert "Tea Tin" in html
    assert "$13.50" in html
    assert "Proceed to checkout" in html


def _listed_names(html: str) -> list[str]:
    """The product names of the cart table's rows, top to bottom."""
    table = html.split('<table class="cart-table">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td class="cart-product">.*?<a href="[^"]+">([^<]+)</a>', table, flags=re.S)


def test_cart_page_lists_lines_in_the_order_they_were_added_and_prices_them(app, shopper):
    """The page builds its lines from the shopper's facts and the catalog snapshot's cards (no
    cart statement of its own): same order as the cart (its items' ids), same totals as checkout."""
    first = new_product(app, name="Zebra Mug", price="3.00")
    second = new_product(app, name="Apple Tray", price="10.00")
    third = new_product(app, name="Mango Jar", price="1.25")
    for product_id, quantity in ((first, 2), (second, 1), (third, 4), (first, 1)):
        assert add_to_cart(shopper.client, product_id, quantity).status_code == 302
    html = shopper.client.get("/cart").get_data(as_text=True)
    assert _listed_names(html) == ["Zebra Mug", "Apple Tray", "Mango Jar"]
    assert "$9.00" in html and "$10.00" in html and "$5.00" in html  # the line totals
    assert "$24.00" in html  # the subtotal
    assert cart_badge(html) == 8


def test_cart_page_shows_a_price_change_and_a_product_taken_off_sale(app, shopper):
    """The testing config checks the catalog version on every request: the next cart page shows
    the new price (a worker in production within ``CATALOG_CHECK_INTERVAL``), and a product
    taken off sale stays listed until the shopper removes it (checkout refuses it)."""
    kept = new_product(app, name="Tea Tin", price="4.50")
    retired = new_product(app, name="Old Kettle", price="20.00")
    add_to_cart(shopper.client, kept, 2)
    add_to_cart(shopper.client, retired, 1)
    assert "$9.00" in shopper.client.get("/cart").get_data(as_text=True)
    with ctx(app) as session:
        session.get(Product, kept).price = 5
        session.get(Product, retired).active = False
        session.commit()
    html = shopper.client.get("/cart").get_data(as_text=True)
    assert _listed_names(html) == ["Tea Tin", "Old Kettle"]
    assert "$10.00" in html and "$9.00" not in html
    assert "$30.00" in html  # 2 x 5.00 + 20.00

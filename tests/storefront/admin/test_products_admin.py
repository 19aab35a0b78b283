"""Admin -> Products: admins only, POST with CSRF only (a GET changes nothing), the list's filters,
editing price, stock and activity with each change logged (who, when, old -> new), refusals with
422 and nothing saved, and a change a shopper sees on the very next page."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storefront import create_app
from storefront.extensions import db
from storefront.models import Product
from storefront.models.product_changes import ProductChange
from tests.helpers import BROWSER_UA, browser_client
from tests.storefront.support.orders import place_order
from tests.storefront.support.shop import ctx, login, new_category, new_customer, new_product, product_stock

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def _product(app, product_id: int) -> tuple[Decimal, int, bool]:
    with ctx(app) as session:
        product = session.get(Product, product_id)
        return product.price, product.stock, product.active


def _log(app, product_id: int) -> list[tuple[str, str, str, str]]:
    with ctx(app) as session:
        return [(c.field, c.old_value, c.new_value, c.changed_by) for c in session.scalars(
            select(ProductChange).where(ProductChange.product_id == product_id).order_by(ProductChange.id))]


def _form(price="19.99", stock=10, active=True, seen=10) -> dict[str, str]:
    form = {"price": str(price), "stock": str(stock), "stock_seen": str(seen)}
    if active:
        form["active"] = "y"
    return form


def test_an_edit_saves_and_logs_each_changed_field(app, admin_client):
    product = new_product(app, name="Blue mug", price="19.99", stock=10)
    page = admin_client.get(f"/admin/products/{product}").get_data(as_text=True)
    assert 'value="19.99"' in page and 'name="stock_seen" type="hidden" value="10"' in page
    response = admin_client.post(f"/admin/products/{product}", data=_form(price="17.50", stock=4, active=False))
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == f"/admin/products/{product}"
    assert _product(app, product) == (Decimal("17.50"), 4, False)
    assert _log(app, product) == [("stock", "10", "4", "boss@example.com"), ("price", "19.99", "17.50", "boss@example.com"),
                                  ("active", "yes", "no", "boss@example.com")]
    page = admin_client.get(f"/admin/products/{product}").get_data(as_text=True)
    assert "19.99 → 17.50" in page and "10 → 4" in page and "yes → no" in page and "boss@example.com" in page
    response = admin_client.post(f"/admin/products/{product}", data=_form(price="17.50", stock=4, active=False, seen=4))
    assert response.status_code == 302 and len(_log(app, product)) == 3  # nothing changed: nothing logged
    assert "Products: price, stock, on sale" in admin_client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    (_form(price="0"), "Enter a price from 0.01."),
    (_form(price="-5"), "Enter a price from 0.01."),
    (_form(price="abc"), "Not a valid decimal value."),
    (_form(price="1.234"), "in cents at most"),
    (_form(price="1e12"), "Enter a price from 0.01."),
    (_form(stock=-1), "Enter a stock from 0"),
    (_form(stock="lots"), "Not a valid integer value."),
    ({"price": "5.00", "stock": "3"}, "Reload the page and try again."),
])
def test_a_bad_value_comes_back_with_422_and_nothing_is_saved(app, admin_client, data, message):
    product = new_product(app, price="19.99", stock=10)
    response = admin_client.post(f"/admin/products/{product}", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _product(app, product) == (Decimal("19.99"), 10, True) and _log(app, product) == []


def test_a_sale_while_the_admin_edits_is_not_undone(app, admin_client):
    product = new_product(app, stock=10)
    admin_client.get(f"/admin/products/{product}")  # the form shows 10
    place_order(app, {product: 3})  # a shopper buys 3 meanwhile
    response = admin_client.post(f"/admin/products/{product}", data=_form(stock=12, seen=10))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The stock changed to 7 while you were editing" in page
    assert 'name="stock_seen" type="hidden" value="7"' in page  # a second save can succeed
    assert product_stock(app, product) == 7 and _log(app, product) == []
    # changing only the price leaves the stock alone, even though it moved
    assert admin_client.post(f"/admin/products/{product}", data=_form(price="9.99", stock=10, seen=10)).status_code == 302
    assert _product(app, product) == (Decimal("9.99"), 7, True)


def test_a_product_set_inactive_or_sold_out_leaves_the_widgets_on_the_next_page(app, admin_client):
    category_id, _ = new_category(app)
    products = [new_product(app, category_id, stock=5) for _ in range(4)]
    with ctx(app) as session:
        for rank, product_id in enumerate(products):
            session.get(Product, product_id).popularity = 10.0 - rank
        session.commit()
    shopper = browser_client(app)

    def trending() -> list[int]:
        html = shopper.get("/").get_data(as_text=True)
        shelf = html.split('data-widget="home_trending"', 1)[1].split("</section>", 1)[0]
        return [int(i) for i in re.findall(r'href="/products/(\d+)', shelf)]

    assert products[0] in trending() and products[1] in trending()
    admin_client.post(f"/admin/products/{products[0]}", data=_form(active=False, stock=5, seen=5))
    assert products[0] not in trending()
    admin_client.post(f"/admin/products/{products[1]}", data=_form(stock=0, seen=5))
    assert products[1] not in trending() and products[2] in trending()
    admin_client.post(f"/admin/products/{products[0]}", data=_form(active=True, stock=5, seen=5))
    assert products[0] in trending()


def test_the_list_filters_by_words_category_activity_and_stock(app, admin_client):
    department, _ = new_category(app, "Kitchen")
    mugs, _ = new_category(app, "Mugs", parent_id=department)
    garden, _ = new_category(app, "Garden")
    blue = new_product(app, mugs, name="Blue mug", brand="Acme", stock=3)
    red = new_product(app, mugs, name="Red mug", brand="Bolt", stock=0)
    spade = new_product(app, garden, name="Spade", brand="Acme", stock=2, active=False)

    def listed(query: str = "") -> set[int]:
        response = admin_client.get("/admin/products" + query)
        assert response.status_code == 200
        return {int(i) for i in re.findall(r'<tr id="product-(\d+)"', response.get_data(as_text=True))}

    assert listed() == {blue, red, spade}
    assert listed("?q=mug") == {blue, red} and listed("?q=acme+blue") == {blue}
    assert listed(f"?category={department}") == {blue, red}  # a department holds its categories' products
    assert listed(f"?category={garden}") == {spade}
    assert listed("?active=no") == {spade} and listed("?active=yes") == {blue, red}
    assert listed("?stock=out") == {red} and listed("?stock=in&active=yes") == {blue}
    assert listed("?q=%25") == set()  # a wildcard is plain text
    for query in ("?category=abc", "?category=999999", "?active=maybe", "?stock=some", "?page=x", "?page=99"):
        response = admin_client.get("/admin/products" + query)
        assert response.status_code == 200, query
    assert listed("?category=abc&stock=out") == {red}  # the bad filter is left out, the good one kept
    assert "Not a valid choice" in admin_client.get("/admin/products?active=maybe").get_data(as_text=True)


def test_the_images_link_appears_only_where_the_images_page_exists(app, app_config, admin_client):
    product = new_product(app)
    has_images = "admin.product_images" in app.view_functions
    for url in ("/admin/products", f"/admin/products/{product}"):
        page = admin_client.get(url).get_data(as_text=True)
        assert (f"/admin/products/{product}/images" in page) == has_images, url
    if has_images:
        return
    with_images = create_app(app_config)  # as it will be once Admin -> Products -> Images exists
    with_images.add_url_rule("/admin/products/<int:product_id>/images", endpoint="admin.product_images",
                             view_func=lambda product_id: "images")
    client = with_images.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    login(client, "boss@example.com")
    for url in ("/admin/products", f"/admin/products/{product}"):
        assert f'href="/admin/products/{product}/images"' in client.get(url).get_data(as_text=True), url
    with with_images.app_context():
        db.session.remove()
        db.engine.dispose()


def test_only_admins_may_and_a_get_changes_nothing(app, client):
    product = new_product(app, price="19.99", stock=10)
    for method, url in (("get", "/admin/products"), ("get", f"/admin/products/{product}"),
                        ("post", f"/admin/products/{product}")):
        response = getattr(client, method)(url, **({"data": _form(price="1.00")} if method == "post" else {}))
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    _, email = new_customer(app)
    shopper = browser_client(app)
    login(shopper, email)
    assert shopper.get("/admin/products").status_code == 403
    assert shopper.post(f"/admin/products/{product}", data=_form(price="1.00")).status_code == 403
    admin = browser_client(app)
    new_customer(app, "boss@example.com", admin=True)
    login(admin, "boss@example.com")
    assert admin.get(f"/admin/products/{product}?price=1.00&stock=0&active=").status_code == 200
    assert admin.get("/admin/products/999999").status_code == 404
    assert admin.post("/admin/products/999999", data=_form()).status_code == 404
    assert _product(app, product) == (Decimal("19.99"), 10, True) and _log(app, product) == []


def test_saving_needs_a_csrf_token(app, app_config):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    new_customer(strict, "boss@example.com", admin=True)
    product = new_product(strict, price="19.99", stock=10)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": "correct horse battery",
                                                "csrf_token": token}).status_code == 302
    assert client.post(f"/admin/products/{product}", data=_form(price="1.00")).status_code == 400
    assert _product(strict, product)[0] == Decimal("19.99")
    token = TOKEN_INPUT.search(client.get(f"/admin/products/{product}").get_data(as_text=True)).group(1)
    response = client.post(f"/admin/products/{product}", data={**_form(price="1.00"), "csrf_token": token})
    assert response.status_code == 302 and _product(strict, product)[0] == Decimal("1.00")
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()

"""The JSON API: recommendations for the visitor and for a product, and its 4xx answers."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storefront.support.recommendations import impressions, seed_small_shop, train_and_publish
from storefront.models import CLICK, Product
from tests.storefront.support.shop import add_to_cart, ctx, events, new_category, new_product, set_product

USER = "/api/v1/recommendations/user"


def item_url(product_id: int, **query) -> str:
    args = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/api/v1/recommendations/item/{product_id}" + (f"?{args}" if args else "")


@pytest.fixture
def products(app) -> list[int]:
    category_id, _ = new_category(app, "Lamps")
    ids = [new_product(app, category_id, name=f"Lamp {i}", price="12.50") for i in range(15)]
    for rank, product_id in enumerate(ids):
        set_product(app, product_id, popularity=float(100 - rank))
    return ids


def test_user_recommendations(app, client, products):
    response = client.get(USER)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_json()
    assert set(body) == {"widget", "title", "strategy", "model_version", "impression_id", "items"}
    assert (body["widget"], body["strategy"], body["model_version"]) == ("api_user", "trending", None)
    assert [item["id"] for item in body["items"]] == products[:10]  # n defaults to 10
    first = body["items"][0]
    assert set(first) == {"id", "name", "price", "url", "image", "reason", "rules"}
    assert (first["name"], first["price"]) == ("Lamp 0", "12.50")
    assert first["reason"] == {"kind": "popular_in", "text": "Popular in Lamps", "product_id": None}
    assert first["image"].startswith("http://localhost/img/category/")
    (impression,) = impressions(app)
    assert impression.widget == "api_user" and impression.items == products[:10]
    assert body["impression_id"] == impression.id
    url = urlsplit(body["items"][3]["url"])
    assert url.path == f"/products/{products[3]}"
    assert parse_qs(url.query) == {"ri": [str(impression.id)], "rp": ["3"]}

    client.get(body["items"][3]["url"])  # a client following the link gets the click counted
    assert [e.type for e in events(app)][-1] == CLICK

    assert len(client.get(f"{USER}?n=3").get_json()["items"]) == 3
    assert len(client.get(f"{USER}?n=50").get_json()["items"]) == 15  # all the catalog has


def test_user_recommendations_obey_the_cart(app, client, products):
    add_to_cart(client, products[0], 1)
    ids = [item["id"] for item in client.get(f"{USER}?n=5").get_json()["items"]]
    assert products[0] not in ids and len(ids) == 5


@pytest.mark.parametrize("kind", ["similar", "bought"])
def test_item_recommendations(app, client, products, kind):
    body = client.get(item_url(products[4], kind=kind, n=4)).get_json()
    assert body["widget"] == {"similar": "api_similar", "bought": "api_bought"}[kind]
    # without a model: substitutes from the same category; complements never from it (that would be
    # substitutes again), so "bought" falls back to what is popular
    assert body["strategy"] == {"similar": "same_category", "bought": "trending"}[kind]
    ids = [item["id"] for item in body["items"]]
    assert ids == products[:4] and products[4] not in ids
    (impression,) = impressions(app)
    assert impression.context_product_id == products[4]


def test_item_recommendations_default_to_similar(client, products):
    assert client.get(item_url(products[0])).get_json()["widget"] == "api_similar"


def test_the_api_serves_the_model(app, client, runner):
    seed_small_shop(runner)
    version = train_and_publish(app)
    client.get("/products/3")
    body = client.get(USER).get_json()
    assert body["strategy"].startswith("model:") and body["model_version"] == version
    similar = client.get(item_url(3, kind="similar")).get_json()
    assert similar["strategy"] == "model:similar_items" and similar["model_version"] == version
    assert 3 not in [item["id"] for item in similar["items"]]


def _assert_json_error(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] and body["message"]
    return body


@pytest.mark.parametrize("n", ["abc", "1.5", "", "0", "-1", "51", "1e3", "99999999999999999999", "%D9%A1"])
def test_a_bad_count_is_a_400(client, products, n):
    _assert_json_error(client.get(f"{USER}?n={n}"), 400)
    _assert_json_error(client.get(item_url(products[0], n=n)), 400)


def test_an_unknown_kind_is_a_400(client, products):
    body = _assert_json_error(client.get(item_url(products[0], kind="popular")), 400)
    assert "kind" in body["message"]


def test_unknown_or_inactive_products_are_404(app, client, products):
    set_product(app, products[1], active=False)
    for url in (item_url(products[1]), item_url(999_999), item_url(2**40), "/api/v1/recommendations/item/abc"):
        _assert_json_error(client.get(url), 404)
    set_product(app, products[2], stock=0)  # out of stock is still a product with neighbours
    assert client.get(item_url(products[2])).status_code == 200
    assert impressions(app)[-1].context_product_id == products[2]


def test_only_get_is_allowed(client, products):
    _assert_json_error(client.post(USER), 405)
    _assert_json_error(client.post(item_url(products[0])), 405)


def test_an_empty_shop_answers_with_no_items(client):
    body = client.get(USER).get_json()
    assert body == {"widget": "api_user", "title": "Recommended for you", "strategy": "none", "model_version": None,
                    "impression_id": None, "items": []}


WIDGETS = "/api/v1/widgets"


def test_every_widget_is_listed_with_the_context_it_needs(client):
    listed = {w["name"]: w for w in client.get(WIDGETS).get_json()["widgets"]}
    assert {"home_for_you", "home_trending", "product_similar", "category_trending", "customers_like_you",
            "home_buy_again", "api_user", "api_similar"} <= set(listed)
    assert listed["product_similar"]["needs"] == "product" and listed["category_trending"]["needs"] == "category"
    assert listed["home_for_you"]["needs"] is None and listed["customers_like_you"]["needs"] is None


def test_a_widget_by_name_with_filters(app, client, products):
    with ctx(app) as session:
        lamps = session.get(Product, products[0]).category_id
    other_category, rugs_slug = new_category(app, "Rugs")
    rugs = [new_product(app, other_category, name=f"Rug {i}", price="80.00") for i in range(3)]
    cheap = new_product(app, other_category, name="Doormat", price="9.99")
    for product_id in (*rugs, cheap):
        set_product(app, product_id, popularity=500.0)  # the most popular of all
    body = client.get(f"{WIDGETS}/home_trending?n=20").get_json()
    assert sorted(i["id"] for i in body["items"][:4]) == sorted([*rugs, cheap]) and body["impression_id"]
    by_category = client.get(f"{WIDGETS}/home_trending?category={rugs_slug}").get_json()
    assert sorted(i["id"] for i in by_category["items"]) == sorted([*rugs, cheap])
    cheap_only = client.get(f"{WIDGETS}/home_trending?max_price=10&category={other_category}").get_json()
    assert [i["id"] for i in cheap_only["items"]] == [cheap]
    under = client.get(f"{WIDGETS}/home_trending?max_price=12.49&n=20").get_json()
    assert [i["id"] for i in under["items"]] == [cheap]  # the lamps cost 12.50
    excluded = client.get(f"{WIDGETS}/home_trending?exclude={rugs[0]},{rugs[1]}&n=20").get_json()
    assert not {rugs[0], rugs[1]} & {i["id"] for i in excluded["items"]}
    similar = client.get(f"{WIDGETS}/product_similar?product={products[0]}&n=3").get_json()
    assert products[0] not in [i["id"] for i in similar["items"]] and len(similar["items"]) == 3
    assert {i["reason"]["kind"] for i in similar["items"]} <= {"also_in", "popular_in", "new_in"}
    category = client.get(f"{WIDGETS}/category_trending?category={lamps}&n=3").get_json()
    assert [i["id"] for i in category["items"]] == products[:3]


@pytest.mark.parametrize("query, status, message", [
    ("/nope", 404, "There is no widget"),
    ("/product_similar", 400, "needs product"),
    ("/product_similar?product=abc", 400, "needs product"),
    ("/product_similar?product=999999", 404, "There is no product"),
    ("/category_trending", 400, "needs category"),
    ("/home_trending?category=no-such-thing", 404, "There is no category"),
    ("/home_trending?max_price=cheap", 400, "max_price"),
    ("/home_trending?max_price=-1", 400, "max_price"),
    ("/home_trending?max_price=1.999", 400, "max_price"),
    ("/home_trending?exclude=1,,2", 400, "exclude"),
    ("/home_trending?exclude=" + ",".join(str(i) for i in range(101)), 400, "at most 100"),
    ("/home_trending?n=0", 400, "n must be"),
])
def test_bad_widget_requests_are_4xx_with_a_message(client, products, query, status, message):
    response = client.get(WIDGETS + query)
    assert response.status_code == status
    assert message in response.get_json()["message"]
    assert client.get(f"{USER}?max_price=abc").status_code == 400

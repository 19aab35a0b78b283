"""The JSON API: recommendations for the visitor and for a product, and its 4xx answers."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storefront.support.recommendations import impressions, seed_small_shop, train_and_publish
from storefront.models import CLICK
from tests.storefront.support.shop import add_to_cart, events, new_category, new_product, set_product

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
    assert set(body) == {"widget", "strategy", "model_version", "items"}
    assert (body["widget"], body["strategy"], body["model_version"]) == ("api_user", "trending", None)
    assert [item["id"] for item in body["items"]] == products[:10]  # n defaults to 10
    first = body["items"][0]
    assert set(first) == {"id", "name", "price", "url", "image"}
    assert (first["name"], first["price"]) == ("Lamp 0", "12.50")
    assert first["image"].startswith("http://localhost/img/category/")
    (impression,) = impressions(app)
    assert impression.widget == "api_user" and impression.items == products[:10]
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
    assert body["strategy"] == "same_category"
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
    assert body == {"widget": "api_user", "strategy": "none", "model_version": None, "items": []}

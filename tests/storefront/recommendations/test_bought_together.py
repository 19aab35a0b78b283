""""Frequently bought together" on the product page and in the cart: complements of the product (or
of every cart line), then the categories bought with it, never its own category; the cart's
lines are never offered and each pick names the line it goes with."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from storefront.models import Category, Event, Product
from tests.helpers import browser_client
from tests.storefront.support.recommendations import seed_small_shop, shelves, train_and_publish
from tests.storefront.support.shop import add_to_cart, ctx, new_product

TOGETHER, SIMILAR, CART_TOGETHER, CART_FOR_YOU = (
    "product_also_bought", "product_similar", "cart_bought_together", "cart_for_you")


@pytest.fixture
def shop(app, runner):
    """The small demo shop (laptops go with laptop bags) and a model trained with its catalogue."""
    seed_small_shop(runner)
    train_and_publish(app)
    with ctx(app) as session:
        category = {slug: cid for cid, slug in session.execute(select(Category.id, Category.slug))}
        of = dict(session.execute(select(Product.id, Product.category_id)).all())
        carted = Counter(session.scalars(select(Event.product_id).where(Event.type == "addtocart")))
    laptops = sorted((pid for pid, cid in of.items() if cid == category["laptops"]), key=lambda p: -carted[p])
    return {"category": category, "of": of, "laptops": laptops}


def _categories(shop, ids: list[int]) -> Counter:
    names = {cid: slug for slug, cid in shop["category"].items()}
    return Counter(names[shop["of"][pid]] for pid in ids)


def test_the_product_page_puts_accessories_first_and_alternatives_second(app, shop):
    client = browser_client(app)
    laptop = shop["laptops"][0]  # the most carted laptop: the model has its baskets
    page = shelves(client.get(f"/products/{laptop}"))
    together, similar = page[TOGETHER], page[SIMILAR]
    assert together.strategy == "model:complements" and together.model_version
    assert laptop not in together.product_ids and not set(together.product_ids) & set(similar.product_ids)
    kinds = _categories(shop, together.product_ids)
    assert kinds.most_common(1)[0][0] == "laptop-bags", kinds
    assert kinds["laptops"] <= 1, kinds  # a substitute may trail, never lead
    assert _categories(shop, similar.product_ids)["laptops"] >= len(similar.product_ids) // 2
    assert together.reasons[0].startswith("Often bought with ")
    assert b"Frequently bought together" in client.get(f"/products/{laptop}").data


def test_a_product_the_model_never_saw_gets_its_complement_categories(app, shop):
    fresh = new_product(app, shop["category"]["laptops"], name="Brand-new laptop", price="999.00")
    together = shelves(browser_client(app).get(f"/products/{fresh}"))[TOGETHER]
    assert together.strategy == "complement_categories"
    assert set(_categories(shop, together.product_ids)) - {"laptops"}  # never its own category first
    first = together.product_ids[:3]
    assert "laptops" not in _categories(shop, first), _categories(shop, first)


def test_the_cart_offers_what_goes_with_its_lines_and_never_a_line(app, shop):
    client = browser_client(app)
    assert list(shelves(client.get("/cart"))) == [CART_FOR_YOU]  # an empty cart: nothing to go with
    laptop = shop["laptops"][0]
    assert add_to_cart(client, laptop).status_code == 302
    page = shelves(client.get("/cart"))
    assert list(page) == [CART_TOGETHER, CART_FOR_YOU]  # an add to cart is no view: no visit to go on from
    together = page[CART_TOGETHER]
    assert together.strategy == "model:complements" and laptop not in together.product_ids
    assert not set(together.product_ids) & set(page[CART_FOR_YOU].product_ids)
    assert _categories(shop, together.product_ids).most_common(1)[0][0] == "laptop-bags"
    with ctx(app) as session:
        name = session.get(Product, laptop).name
    assert together.reasons[0] == f"Often bought with {name}"


def test_the_api_kind_bought_serves_the_complements(app, shop):
    laptop = shop["laptops"][0]
    answer = browser_client(app).get(f"/api/v1/recommendations/item/{laptop}?kind=bought&n=5").get_json()
    assert answer["strategy"] == "model:complements" and len(answer["items"]) == 5

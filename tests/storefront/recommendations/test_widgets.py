"""Recommendation serving: business rules, the fallback chain, fold-in, and model hot reload.

Everything goes through the shop's pages with the test client; models are trained for real on
the test database and published with the registry (see recommendation_support).
"""
from __future__ import annotations

import logging

import pytest

from tests.storefront.support.recommendations import (
    corrupt,
    plant_groups,
    seed_small_shop,
    shelves,
    train_and_publish,
)
from storefront.models import Product
from tests.helpers import BROWSER_UA
from tests.storefront.support.shop import (
    add_to_cart,
    checkout_form,
    ctx,
    login,
    new_category,
    new_customer,
    new_product,
    set_product,
)

PER_WIDGET = 8


def _catalog(app, n: int = 12) -> tuple[int, list[int]]:
    """One category of ``n`` products with distinct popularity (product i has popularity n - i)."""
    category_id, _ = new_category(app, "Kettles")
    ids = [new_product(app, category_id, name=f"Kettle {i:02d}") for i in range(n)]
    for rank, product_id in enumerate(ids):
        set_product(app, product_id, popularity=float(n - rank))
    return category_id, ids


def _only(response) -> "object":
    """The page's one shelf, besides "Inspired by your visit" (which an anonymous shopper with
    events this visit also gets: tested in test_visit_widget)."""
    (shelf,) = [shelf for name, shelf in shelves(response).items() if not name.endswith("_visit")]
    return shelf


# --- the fallback chain, no model published ------------------------------------------------------


def test_without_a_model_the_strategy_names_the_fallback_that_served(app, client):
    category_id, ids = _catalog(app, 4)
    other_category, _ = new_category(app, "Toasters")
    fresh = [new_product(app, other_category, name=f"Toaster {i}") for i in range(3)]

    home = _only(client.get("/"))  # no history: "Trending now", popular ones first, then newest
    assert home.widget == "home_trending"
    assert home.strategy == "trending" and home.model_version is None
    assert home.product_ids[:4] == ids
    assert set(home.product_ids[4:]) == set(fresh)  # topped up from "newest" (no popularity)

    client.get(f"/products/{fresh[0]}")  # history now: a toaster
    for_you = _only(client.get("/"))
    assert for_you.widget == "home_for_you"
    # Toasters have no popularity, so "your categories" has nothing: global trending serves.
    assert for_you.strategy == "trending"
    set_product(app, fresh[1], popularity=0.5)
    for_you = _only(client.get("/"))
    assert for_you.strategy == "category_popularity"
    assert for_you.product_ids[0] == fresh[1]

    ids += [new_product(app, category_id, name=f"Kettle {i}") for i in range(4, 20)]
    page = shelves(client.get(f"/products/{ids[0]}"))
    bought, similar = page["product_also_bought"], page["product_similar"]
    # without a model nothing says what goes with a kettle: "Frequently bought together" never
    # falls back to the kettle's own category (that is "Similar items"), it shows what is trending
    assert bought.strategy == "trending" and similar.strategy == "same_category"
    assert not set(bought.product_ids) & set(similar.product_ids)  # two different shelves
    newest_first = ids[:3:-1]
    assert similar.product_ids == [i for i in ids[1:4] + newest_first if i not in bought.product_ids][:8]


@pytest.fixture
def products_in_two_aisles(app) -> tuple[list[int], list[int]]:
    """Kettles more popular than toasters, so only the shopper's history brings toasters first."""
    _, kettles = _catalog(app, 10)
    toaster_category, _ = new_category(app, "Toasters")
    toasters = [new_product(app, toaster_category, name=f"Toaster {i}") for i in range(4)]
    for rank, product_id in enumerate(toasters):
        set_product(app, product_id, popularity=0.5 - rank / 10)
    return kettles, toasters


def test_a_customer_history_and_cart_follow_them_to_another_browser(app, products_in_two_aisles):
    _, toasters = products_in_two_aisles
    _, email = new_customer(app)
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
        login(browser, email)
    laptop.get(f"/products/{toasters[0]}")
    add_to_cart(laptop, toasters[1], 1)

    shelf = _only(phone.get("/"))
    assert shelf.widget == "home_for_you" and shelf.strategy == "category_popularity"
    assert shelf.product_ids[:2] == [toasters[0], toasters[2]]  # the toaster aisle, not the cart
    assert toasters[1] not in shelf.product_ids


# --- business rules --------------------------------------------------------------------------------


def _assert_rules(shelf, *, banned: set[int], size: int = PER_WIDGET) -> None:
    assert len(shelf.product_ids) == size, shelf
    assert len(set(shelf.product_ids)) == size  # no duplicates
    assert not set(shelf.product_ids) & banned, (shelf, banned)


@pytest.mark.parametrize("with_model", [False, True], ids=["fallbacks", "model"])
def test_widgets_obey_every_business_rule(app, client, runner, with_model):
    seed_small_shop(runner)
    if with_model:
        train_and_publish(app)
    with ctx(app) as session:
        hidden = {p.id for p in session.query(Product).filter((Product.stock <= 0) | ~Product.active)}
    client.get("/products/3")
    first = _only(client.get("/"))
    out_of_stock, inactive, in_cart = first.product_ids[:3]
    assert add_to_cart(client, in_cart, 1).status_code == 302
    set_product(app, out_of_stock, stock=0)
    set_product(app, inactive, active=False)
    banned = hidden | {out_of_stock, inactive, in_cart}

    home = _only(client.get("/"))
    _assert_rules(home, banned=banned)
    assert (home.strategy.startswith("model:")) == with_model
    cart = shelves(client.get("/cart"))
    # a line in the cart: what goes with it first; the visit (the add to cart) its own shelf last
    assert list(cart) == ["cart_bought_together", "cart_for_you", "cart_visit"]
    for shelf in cart.values():
        _assert_rules(shelf, banned=banned)
    for product_id in (3, 10, 57):
        for shelf in shelves(client.get(f"/products/{product_id}")).values():
            # "Recently viewed" holds what was viewed (and is still eligible), not a full shelf
            size = len(shelf.product_ids) if shelf.widget == "product_recently_viewed" else PER_WIDGET
            _assert_rules(shelf, banned=banned | {product_id}, size=size)  # never the product on its own page


def _buy(client, product_id: int) -> None:
    assert add_to_cart(client, product_id, 1).status_code == 302
    response = client.post("/checkout", data=checkout_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("with_model", [False, True], ids=["fallbacks", "model"])
def test_bought_items_are_left_out_unless_recommend_purchased(app, client, runner, with_model):
    seed_small_shop(runner)
    if with_model:
        train_and_publish(app)

    def shown(url: str) -> set[int]:
        return {pid for shelf in shelves(client.get(url)).values() for pid in shelf.product_ids}

    # The product-page widgets do not depend on the shopper's history (item-to-item, or the
    # category), so the same suggestion comes back as soon as purchases are allowed again.
    bought = shelves(client.get("/products/3"))["product_also_bought"].product_ids[0]
    _buy(client, bought)

    assert bought not in shown("/products/3")
    assert bought not in shown("/") | shown("/cart")

    app.config["RECOMMEND_PURCHASED"] = True
    assert bought in shown("/products/3")
    for shelf in shelves(client.get("/")).values():
        assert len(set(shelf.product_ids)) == len(shelf.product_ids) == PER_WIDGET


# --- fold-in and the model -----------------------------------------------------------------------


def test_a_new_visitor_gets_personalised_recommendations_after_three_views(app, client):
    shop = plant_groups(app)
    version = train_and_publish(app)
    viewed = shop.groups[2][:3]

    assert _only(client.get("/")).widget == "home_trending"  # nothing known about this browser yet
    for product_id in viewed:
        assert client.get(f"/products/{product_id}").status_code == 200
    shelf = _only(client.get("/"))
    assert shelf.widget == "home_for_you"
    assert shelf.strategy.startswith("model:") and shelf.strategy != "model:popularity"
    assert shelf.model_version == version
    assert len(shelf.product_ids) == PER_WIDGET
    in_group = sum(shop.group_of(pid) == 2 for pid in shelf.product_ids)
    assert in_group >= 6, shelf
    assert not set(viewed) & set(shelf.product_ids)  # already seen


def test_a_newly_published_version_is_served_without_a_restart(app, client, runner):
    seed_small_shop(runner)
    for product_id in (3, 4, 5):
        client.get(f"/products/{product_id}")
    before = _only(client.get("/"))
    assert not before.strategy.startswith("model:") and before.model_version is None

    first = train_and_publish(app)
    after = _only(client.get("/"))
    assert after.strategy.startswith("model:") and after.model_version == first

    second = train_and_publish(app)
    assert second != first
    assert _only(client.get("/")).model_version == second


@pytest.fixture
def quiet_model_errors(caplog):
    caplog.set_level(logging.CRITICAL, logger="ml.serving")  # the expected load error, logged
    return caplog


def test_a_corrupted_first_version_leaves_the_fallbacks_serving(app, client, runner, quiet_model_errors):
    seed_small_shop(runner)
    corrupt(app, train_and_publish(app))
    with ctx(app) as session:
        slug = session.get(Product, 4).category.slug
    client.get("/products/3")
    for url in ("/", "/cart", "/products/4", f"/c/{slug}", "/search?q=core", "/api/v1/recommendations/user"):
        assert client.get(url).status_code == 200, url
    shelf = _only(client.get("/"))
    assert not shelf.strategy.startswith("model:") and shelf.model_version is None
    assert len(shelf.product_ids) == PER_WIDGET


def test_a_corrupted_new_version_keeps_the_old_one_serving(app, client, runner, quiet_model_errors):
    seed_small_shop(runner)
    good = train_and_publish(app)
    client.get("/products/3")
    assert _only(client.get("/")).model_version == good
    for file_name in ("recommender.npz", "similar.npz"):
        corrupt(app, train_and_publish(app), file_name)
        assert _only(client.get("/")).model_version == good
        page = shelves(client.get("/products/4"))
        assert page["product_similar"].model_version in (good, None)

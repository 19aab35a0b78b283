"""The "Customers like you also bought" widget: where it shows, what it leaves out, how it falls
back, and the impressions and clicks it records. Real shop, real training, nothing mocked."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from tests import factories
from ml.segments import load
from tests.storefront.support.recommendations import impressions, shelves
from storefront.models import CLICK, RUN_SUCCEEDED, Customer, Order, OrderLine, Product
from storefront.training import job as training
from storefront.orders.accounts import hash_password
from tests.storefront.support.shop import add_to_cart, checkout_form, ctx, events, login, new_customer, set_product

WIDGET = "customers_like_you"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


@pytest.fixture
def version(seeded):
    with ctx(seeded):
        run = training.run_training()
        assert run.status == RUN_SUCCEEDED and run.params["extras"]["segments"]["status"] == "ok"
        return run.version


def _loyal_customer(app) -> int:
    """The seeded customer with the most orders (ties: the lowest id)."""
    with ctx(app) as session:
        count = func.count(Order.id)
        return session.execute(
            select(Order.customer_id).where(Order.customer_id.is_not(None))
            .group_by(Order.customer_id).order_by(count.desc(), Order.customer_id).limit(1)
        ).scalar_one()


def _log_in_as(app, client, customer_id: int) -> None:
    """Seeded customers have an unknown password: give this one the test password."""
    with ctx(app) as session:
        person = session.get(Customer, customer_id)
        person.password_hash = hash_password(factories.PASSWORD)
        session.commit()
        email = person.email
    login(client, email)


def _bought(app, customer_id: int) -> set[int]:
    with ctx(app) as session:
        query = select(OrderLine.product_id).join(Order).where(Order.customer_id == customer_id)
        return set(session.scalars(query))


def _some_product(app, not_in: set[int]) -> int:
    with ctx(app) as session:
        query = select(Product.id).where(Product.active.is_(True), Product.stock > 0, Product.id.not_in(not_in))
        return session.scalars(query.order_by(Product.id).limit(1)).one()


def test_the_widget_shows_for_logged_in_customers_on_the_product_and_account_pages(version, app, client):
    product_id = _some_product(app, set())
    assert WIDGET not in shelves(client.get(f"/products/{product_id}"))  # anonymous: nobody's neighbour
    response = client.get("/account/orders")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"

    customer_id = _loyal_customer(app)
    _log_in_as(app, client, customer_id)
    account = shelves(client.get("/account/orders"))[WIDGET]
    assert account.strategy == "model:customer2vec" and account.model_version == version
    assert len(account.product_ids) == 8
    product_page = client.get(f"/products/{product_id}")
    assert "Customers like you also bought" in product_page.get_data(as_text=True)
    page = shelves(product_page)
    assert list(page) == ["product_also_bought", "product_similar", WIDGET, "product_recently_viewed"]

    records = [r for r in impressions(app) if r.widget == WIDGET]
    assert [r.context_product_id for r in records] == [None, product_id]
    for record, shelf in zip(records, (account, page[WIDGET])):
        assert record.items == shelf.product_ids and record.customer_id == customer_id
        assert record.strategy == "model:customer2vec" and record.model_version == version
        for position, href in enumerate(shelf.hrefs):
            assert parse_qs(urlsplit(href).query) == {"ri": [str(record.id)], "rp": [str(position)]}

    client.get(page[WIDGET].hrefs[2])  # a click on the third card
    (click,) = [e for e in events(app, CLICK) if e.impression_id == records[1].id]  # the seed has clicks too
    assert click.product_id == page[WIDGET].product_ids[2] and click.impression_id == records[1].id
    assert click.properties == {"position": 2, "widget": WIDGET}


def test_the_widget_leaves_out_what_the_customer_bought_and_obeys_the_rules(version, app, client):
    customer_id = _loyal_customer(app)
    bought = _bought(app, customer_id)
    with ctx(app):  # the neighbours' votes, own purchases included, straight from the artifact
        result = load(Path(app.config["MODEL_DIR"]) / version)
        raw = [int(i) for i, _ in result.customers_like_you_also_bought(str(customer_id), 40, exclude_own=False)]
    assert bought & set(raw), "the test needs a customer whose neighbours bought what they bought"
    _log_in_as(app, client, customer_id)
    shown = shelves(client.get("/account/orders"))[WIDGET].product_ids
    assert not bought & set(shown)
    assert shown == [i for i in raw if i not in bought][: len(shown)]  # similarity order kept

    out_of_stock, inactive, in_cart, current = shown[:4]
    set_product(app, out_of_stock, stock=0)
    set_product(app, inactive, active=False)
    add_to_cart(client, in_cart)
    page = shelves(client.get(f"/products/{current}"))
    widget = page[WIDGET].product_ids
    assert len(widget) == 8 and len(set(widget)) == 8
    assert not {out_of_stock, inactive, in_cart, current} & set(widget)
    assert not bought & set(widget)
    # no product twice on the page ("Recently viewed" is a memory aid: it lists what was viewed)
    everything = [pid for shelf in page.values() if shelf.widget != "product_recently_viewed"
                  for pid in shelf.product_ids]
    assert len(everything) == len(set(everything))

    # A purchase after training is left out too (the model does not know it yet, the rules do).
    newly_bought = widget[0]
    add_to_cart(client, newly_bought)
    assert client.post("/checkout", data=checkout_form()).status_code == 302
    after = shelves(client.get("/account/orders"))[WIDGET].product_ids
    assert newly_bought not in after and in_cart not in after


def test_bought_products_stay_out_even_when_re_buys_are_allowed(version, app, client):
    app.config["RECOMMEND_PURCHASED"] = True  # the other widgets may then offer re-buys
    customer_id = _loyal_customer(app)
    _log_in_as(app, client, customer_id)
    shelf = shelves(client.get("/account/orders"))[WIDGET]
    assert shelf.product_ids and not _bought(app, customer_id) & set(shelf.product_ids)


def test_customers_without_orders_get_best_sellers_then_trending(seeded, app, client):
    _, email = new_customer(app, "newbie@example.com")
    login(client, email)
    before_training = shelves(client.get("/account/orders"))[WIDGET]
    assert before_training.strategy == "trending" and before_training.model_version is None

    with ctx(app):
        version = training.run_training().version
        result = load(Path(app.config["MODEL_DIR"]) / version)
        best = [int(i) for i in result.segment_best_sellers(None, 50)]
    shelf = shelves(client.get("/account/orders"))[WIDGET]
    assert shelf.strategy == "model:segment_best_sellers" and shelf.model_version == version
    assert shelf.product_ids == [i for i in best if _eligible(app, i)][:8]

    app.config["SEGMENTS_ENABLED"] = False  # a version without segments: straight to trending
    with ctx(app):
        run = training.run_training()
        assert run.params["extras"]["segments"]["status"] == "skipped"
    customer_id = _loyal_customer(app)
    other = app.test_client()
    other.environ_base.update(client.environ_base)
    _log_in_as(app, other, customer_id)
    assert shelves(other.get("/account/orders"))[WIDGET].strategy == "trending"
    assert shelves(client.get("/account/orders"))[WIDGET].strategy == "trending"


def _eligible(app, product_id: int) -> bool:
    with ctx(app) as session:
        product = session.get(Product, product_id)
        return product.active and product.stock > 0

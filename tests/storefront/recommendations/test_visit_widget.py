""""Inspired by your visit": the training job picks a session model on the session-rec protocol
and publishes it; the widget serves it to shoppers without a customer history, from the order of
their current visit. Real shop, real training job, real artifacts; nothing mocked."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import insert, select

from ml.registry import ModelRegistry
from ml.sessions.serving import SESSION_MODEL_FILE
from storefront.extensions import db
from storefront.models import RUN_SUCCEEDED, Category, Event, Product, Visitor
from storefront.models.common import utcnow
from storefront.training import job as training
from tests.storefront.support.recommendations import shelves
from tests.storefront.support.shop import add_to_cart, checkout_form, login, new_customer

CHAINS, CHAIN_LENGTH, VISITS = 8, 5, 480


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


@pytest.fixture
def chains(app) -> list[list[int]]:
    """A shop whose visitors walk chains of products in order (chain c: c0 -> c1 -> ... -> c4),
    each visit a few steps from a random start, over ten days up to an hour ago. The chains cut
    across two categories, so only the order of the visits tells what comes next."""
    rng = random.Random(11)
    with app.app_context():
        categories = [Category(name=f"Aisle {i}", slug=f"aisle-{i}") for i in range(2)]
        db.session.add_all(categories)
        products = [[Product(sku=f"CH-{c}-{k}", name=f"Chain {c} step {k}", brand="Planted", price=Decimal("9.00"),
                             stock=40, category=categories[(c + k) % 2]) for k in range(CHAIN_LENGTH)]
                    for c in range(CHAINS)]
        db.session.add_all([p for chain in products for p in chain])
        db.session.flush()
        db.session.execute(insert(Visitor), [{"token": f"walker-{i:04d}"} for i in range(VISITS)])
        visitors = list(db.session.scalars(select(Visitor.id).where(Visitor.token.like("walker-%"))))
        end = utcnow() - timedelta(hours=1)
        rows = []
        for n, visitor_id in enumerate(visitors):
            chain = products[n % CHAINS]
            start = rng.randrange(0, CHAIN_LENGTH - 2)
            at = end - timedelta(days=10 * (1 - n / VISITS))  # spread evenly: the last day is the test
            for step, product in enumerate(chain[start:start + rng.randint(3, CHAIN_LENGTH - start)]):
                rows.append({"visitor_id": visitor_id, "product_id": product.id, "type": "view",
                             "occurred_at": at + timedelta(minutes=2 * step), "session_id": f"walk-{n}",
                             "device": "desktop"})
        db.session.execute(insert(Event), rows)
        db.session.commit()
        return [[p.id for p in chain] for chain in products]


def _train() -> dict:
    run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    return run


def test_the_run_picks_a_session_model_on_the_protocol_and_publishes_it(chains, app, admin_client):
    with app.app_context():
        run = _train()
        _check_run(run)
    page = admin_client.get(f"/admin/ml/runs/{run.id}").get_data(as_text=True)
    assert 'Session models ("Inspired by your visit")' in page
    section = page[page.index('id="sessions"'):page.index('id="champion-params"')]
    for model in ("session_popularity", "last_item_knn", "champion_fold_in", "sknn", "vsknn", "stan"):
        assert f"<th scope=\"row\">{model}" in section
    assert section.count('class="badge">champion') == 1 and "session-rec protocol" in section


def _check_run(run) -> None:
    record = run.params["extras"]["sessions"]
    assert record["status"] == "ok", record
    summary = record["summary"]
    table = summary["table"]
    # the baselines and the neighbourhood models ran (GRU4Rec is a deep model: off in tests)
    assert {"session_popularity", "last_item_knn", "champion_fold_in", "sknn", "vsknn", "stan"} <= set(table)
    champion = summary["champion"]
    assert champion != "session_popularity" and summary["metric"] == "mrr@20"
    best = max(values["mrr@20"][0] for values in table.values())
    assert table[champion]["mrr@20"][0] == best  # the best MRR@20, as the reason says
    assert table[champion]["mrr@20"][0] > table["session_popularity"]["mrr@20"][0]
    low, high = table[champion]["mrr@20"][1:]
    assert low <= table[champion]["mrr@20"][0] <= high  # a 95% interval around it
    assert "session-rec protocol" in summary["protocol"] and champion in summary["reason"]
    assert "next new item" in summary["protocol"]  # the widget's task: it never offers the visit's items
    manifest = ModelRegistry(current_app.config["MODEL_DIR"]).manifest(run.version)
    assert manifest["extras"]["sessions"] == [SESSION_MODEL_FILE]
    assert (Path(current_app.config["MODEL_DIR"]) / run.version / SESSION_MODEL_FILE).is_file()


def test_an_anonymous_visit_gets_what_follows_it_and_never_what_it_holds(app, client, chains):
    with app.app_context():
        _train()
    chain = chains[3]
    for product_id in chain[:2]:
        client.get(f"/products/{product_id}")
    page = shelves(client.get("/"))
    assert list(page) == ["home_for_you", "home_visit"]
    visit = page["home_visit"]
    assert visit.strategy.startswith("model:session:") and visit.model_version
    assert not set(chain[:2]) & set(visit.product_ids)  # what the visit holds is not offered again
    # the chain's next steps lead, those "Recommended for you" (shown first) did not take already
    following = [p for p in chain[2:] if p not in page["home_for_you"].product_ids]
    assert following and visit.product_ids[:len(following)] == following
    assert any("Shoppers who viewed Chain 3 step 1 went on to this" in r for r in visit.reasons)
    cart = shelves(client.get("/cart"))
    assert "cart_visit" in cart and set(cart["cart_visit"].product_ids[:2]) <= set(chain[2:] + cart["cart_for_you"].product_ids)

    answer = client.get("/api/v1/recommendations/visit?n=5").get_json()
    assert answer["widget"] == "api_visit" and answer["strategy"].startswith("model:session:")
    assert len(answer["items"]) == 5 and answer["items"][0]["id"] == chain[2]  # one shelf: nothing taken
    assert answer["items"][0]["reason"]["kind"] == "next_in_visit"


def test_the_widget_is_for_visits_without_a_customer_history(app, client, chains):
    with app.app_context():
        _train()
    assert "home_visit" not in shelves(client.get("/"))  # nothing done this visit yet
    client.get(f"/products/{chains[0][0]}")
    assert "home_visit" in shelves(client.get("/"))
    with app.app_context():  # the visit ended: its only event is older than the 30-minute gap
        db.session.execute(Event.__table__.update().values(occurred_at=utcnow() - timedelta(minutes=31)))
        db.session.commit()
    assert "home_visit" not in shelves(client.get("/"))

    _, email = new_customer(app, "regular@example.com")
    shopper = app.test_client()
    login(shopper, email)
    shopper.get(f"/products/{chains[1][0]}")
    assert "home_visit" in shelves(shopper.get("/"))  # logged in, but no order yet
    assert add_to_cart(shopper, chains[1][0]).status_code == 302
    assert shopper.post("/checkout", data=checkout_form()).status_code == 302
    assert "home_visit" not in shelves(shopper.get("/"))  # a customer history: "Recommended for you" is theirs


def test_without_a_session_model_the_widget_falls_back(app, client, chains):
    client.get(f"/products/{chains[0][0]}")
    visit = shelves(client.get("/"))["home_visit"]  # no version at all yet
    assert visit.strategy in {"category_popularity", "trending", "newest"} and visit.product_ids

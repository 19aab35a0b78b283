"""A running A/B test on a page: each shopper sees their arm's version, always the same arm, and
every impression says which; bots, broken challengers and ended tests are not counted."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storefront.experiments.assignment import arm_of
from storefront.experiments.serving import exposure
from storefront.extensions import db
from storefront.models import Experiment, Product
from storefront.models.experiments import CHALLENGER, CHAMPION
from storefront.tracking.visitors import RequestContext
from tests.helpers import BOT_UA, give_visitor_cookie
from tests.storefront.support.experiments import browser_in, start, token_in, two_versions
from tests.storefront.support.recommendations import corrupt, impressions, shelves
from tests.storefront.support.shop import ctx, login, new_customer


@pytest.fixture
def shop(app, runner):
    older, active = two_versions(app, runner)
    with ctx(app) as session:
        product = session.scalars(select(Product.id).where(Product.active.is_(True)).order_by(Product.id)).first()
    return {"older": older, "active": active, "product": product}


def _home_shelf(client, shop):
    client.get(f"/products/{shop['product']}")  # some history: "Recommended for you" on the home page
    return shelves(client.get("/"))["home_for_you"]


def _experiment_impressions(app, experiment_id):
    return [i for i in impressions(app) if i.experiment_id == experiment_id]


def test_each_arm_is_filled_by_its_version_and_stays_the_same_on_every_visit(app, shop):
    experiment_id = start(app, shop["older"])
    champion, challenger = browser_in(app, experiment_id, CHAMPION), browser_in(app, experiment_id, CHALLENGER)
    for _ in range(3):
        assert _home_shelf(champion, shop).model_version == shop["active"]
        assert _home_shelf(challenger, shop).model_version == shop["older"]
    recorded = _experiment_impressions(app, experiment_id)
    assert len(recorded) == 6 and {i.widget for i in recorded} == {"home_for_you"}
    by_arm = {arm: {(i.visitor_id, i.model_version) for i in recorded if i.arm == arm} for arm in (CHAMPION, CHALLENGER)}
    assert len(by_arm[CHAMPION]) == 1 and next(iter(by_arm[CHAMPION]))[1] == shop["active"]
    assert len(by_arm[CHALLENGER]) == 1 and next(iter(by_arm[CHALLENGER]))[1] == shop["older"]
    # the product page's widgets are not under test: no experiment on their impressions
    assert {i.experiment_id for i in impressions(app) if i.widget != "home_for_you"} == {None}


def test_the_json_api_serves_the_arm_of_its_widget(app, shop):
    experiment_id = start(app, shop["older"], widget="api_user")
    challenger = browser_in(app, experiment_id, CHALLENGER)
    challenger.get(f"/products/{shop['product']}")
    answer = challenger.get("/api/v1/recommendations/user").get_json()
    assert answer["model_version"] == shop["older"] and answer["items"]
    (recorded,) = _experiment_impressions(app, experiment_id)
    assert (recorded.widget, recorded.arm, recorded.model_version) == ("api_user", CHALLENGER, shop["older"])


def test_a_customer_keeps_their_arm_on_every_browser(app, shop):
    experiment_id = start(app, shop["older"])
    customer_id, email = new_customer(app)
    arm = arm_of(f"customer:{customer_id}", experiment_id, 0.5)
    expected = shop["older"] if arm == CHALLENGER else shop["active"]
    for other_arm in (CHAMPION, CHALLENGER):  # as anonymous browsers they would be in both arms
        browser = browser_in(app, experiment_id, other_arm, skip=3)
        login(browser, email)
        assert _home_shelf(browser, shop).model_version == expected
    recorded = _experiment_impressions(app, experiment_id)
    assert {(i.customer_id, i.arm) for i in recorded} == {(customer_id, arm)}


def test_bots_see_the_champion_and_are_not_counted(app, shop):
    experiment_id = start(app, shop["older"])
    token = token_in(experiment_id, CHALLENGER)
    with app.test_request_context():
        person = RequestContext(visitor_token=token, customer_id=None)
        assert exposure(person, "home_for_you").arm == CHALLENGER
        assert exposure(RequestContext(visitor_token=token, customer_id=None, device="bot"), "home_for_you") is None
        assert exposure(person, "product_similar") is None  # no experiment on that widget
    bot = app.test_client()
    bot.environ_base["HTTP_USER_AGENT"] = BOT_UA
    give_visitor_cookie(bot, app, token)
    bot.get(f"/products/{shop['product']}")
    assert bot.get("/").status_code == 200
    assert _experiment_impressions(app, experiment_id) == []


def test_a_challenger_that_cannot_be_loaded_costs_the_data_not_the_page(app, shop):
    experiment_id = start(app, shop["older"])
    corrupt(app, shop["older"])  # after it started: its sha256 no longer matches
    challenger = browser_in(app, experiment_id, CHALLENGER)
    assert _home_shelf(challenger, shop).model_version == shop["active"]  # the champion, uncounted
    assert _experiment_impressions(app, experiment_id) == []
    champion = browser_in(app, experiment_id, CHAMPION)
    assert _home_shelf(champion, shop).model_version == shop["active"]
    assert [i.arm for i in _experiment_impressions(app, experiment_id)] == [CHAMPION]


def test_an_ended_experiment_reaches_the_workers_at_the_next_page(app, shop):
    experiment_id = start(app, shop["older"])
    challenger = browser_in(app, experiment_id, CHALLENGER)
    assert _home_shelf(challenger, shop).model_version == shop["older"]
    with ctx(app) as session:  # ended by hand (psql): the catalog version's trigger still tells the workers
        session.get(Experiment, experiment_id).status = "ended"
        session.commit()
    assert _home_shelf(challenger, shop).model_version == shop["active"]
    assert len(_experiment_impressions(app, experiment_id)) == 1
    with app.app_context():
        assert app.extensions["experiments"].challenger_names() == set()
        db.session.remove()

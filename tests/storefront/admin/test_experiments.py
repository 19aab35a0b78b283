"""Admin -> ML's A/B tests: start one (form errors re-render), promote the challenger, stop;
admins only, POST with CSRF only."""
from __future__ import annotations

import html as html_lib
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from ml.artifacts import read_active
from storefront import create_app
from storefront.extensions import db
from storefront.models import Experiment, Impression
from storefront.models.experiments import CHALLENGER, EXPERIMENT_ENDED, EXPERIMENT_RUNNING
from storefront.models.common import utcnow
from tests.helpers import BROWSER_UA
from tests.storefront.support.experiments import start, two_versions
from tests.storefront.support.shop import ctx, login, new_customer

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def versions(app, runner):
    return two_versions(app, runner)


def _experiments(app) -> list[tuple]:
    with ctx(app) as session:
        return [(e.id, e.widget, e.challenger_version, e.challenger_share, e.min_clicks, e.status, e.outcome)
                for e in session.scalars(select(Experiment).order_by(Experiment.id))]


def _text(response) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(response.get_data(as_text=True)))


def _block(html: str, experiment_id: int) -> str:
    return re.search(r'<article class="experiment" id="experiment-%d">(.*?)</article>' % experiment_id, html).group(1)


def _form(older: str, **overrides) -> dict[str, str]:
    return {"widget": "home_for_you", "challenger_version": older, "share_percent": "50", "min_clicks": "300",
            **overrides}


def test_starting_an_experiment_from_admin_ml(app, admin_client, versions):
    older, active = versions
    page = _text(admin_client.get("/admin/ml"))
    assert "Online A/B tests" in page and "No experiment is running." in page
    choices = re.search(r'<select[^>]*name="challenger_version".*?</select>', page).group(0)
    assert older in choices and active not in choices  # any published version but the active one
    assert 'value="home_for_you"' in page and 'value="product_recently_viewed"' not in page  # model-filled only
    defaults = {name: value for name, value in re.findall(r'<input [^>]*name="(\w+)" [^>]*value="(\d+)"', page)}
    assert defaults == {"share_percent": "50", "min_clicks": "300"}
    response = admin_client.post("/admin/ml/experiments", data=_form(older, share_percent="20"))
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/ml"
    ((experiment_id, widget, challenger, share, min_clicks, status, outcome),) = _experiments(app)
    assert (widget, challenger, share, min_clicks, status, outcome) == (
        "home_for_you", older, 0.2, 300, EXPERIMENT_RUNNING, None)
    html = _text(admin_client.get("/admin/ml"))
    block = _block(html, experiment_id)
    assert f"Experiment #{experiment_id} started" in html
    assert "champion</strong>: not enough data yet: 0 of 300 clicks" in block
    assert "challenger</strong>: not enough data yet: 0 of 300 clicks" in block
    assert "Challenger − champion" not in block  # no lift below the minimum sample
    assert "Promote challenger" in block and ">Stop<" in block


@pytest.mark.parametrize("overrides, message", [
    ({"share_percent": "0"}, "The challenger's share must be between 1 and 99%."),
    ({"share_percent": "half"}, "Not a valid integer value."),
    ({"min_clicks": "0"}, "The minimum sample must be between 1 and 10,000,000 clicks."),
    ({"min_clicks": ""}, "Enter the minimum sample."),
    ({"widget": "product_recently_viewed"}, "Not a valid choice."),
    ({"challenger_version": "20990101T000000000000Z-abcdef"}, "Not a valid choice."),
])
def test_a_rejected_form_comes_back_with_its_message_and_nothing_starts(app, admin_client, versions, overrides, message):
    response = admin_client.post("/admin/ml/experiments", data=_form(versions[0], **overrides))
    assert response.status_code == 422
    assert message in _text(response) and "Online A/B tests" in _text(response)
    assert _experiments(app) == []


def test_the_active_version_cannot_be_the_challenger_nor_two_tests_run_on_one_widget(app, admin_client, versions):
    older, active = versions
    response = admin_client.post("/admin/ml/experiments", data=_form(active))
    assert response.status_code == 422 and _experiments(app) == []  # not among the choices
    start(app, older)
    response = admin_client.post("/admin/ml/experiments", data=_form(older))
    assert response.status_code == 422
    assert "An experiment is already running on this widget: stop it first." in _text(response)
    assert len(_experiments(app)) == 1
    assert admin_client.post("/admin/ml/experiments", data=_form(older, widget="cart_for_you")).status_code == 302
    assert len(_experiments(app)) == 2


def test_promote_activates_the_challenger_and_ends_the_experiment(app, admin_client, versions):
    older, active = versions
    experiment_id = start(app, older)
    assert read_active(app.config["MODEL_DIR"]) == active
    response = admin_client.post(f"/admin/ml/experiments/{experiment_id}/promote", follow_redirects=True)
    assert response.status_code == 200
    assert read_active(app.config["MODEL_DIR"]) == older
    assert _experiments(app)[0][5:] == (EXPERIMENT_ENDED, "promoted")
    html = _text(response)
    assert f"version {older} is now active" in html
    block = _block(html, experiment_id)
    assert "promoted" in block and "final numbers" in block and "Promote challenger" not in block
    again = admin_client.post(f"/admin/ml/experiments/{experiment_id}/promote", follow_redirects=True)
    assert "This experiment has already ended." in _text(again)


def test_stop_ends_it_the_champion_stays_and_the_final_numbers_stay(app, admin_client, versions):
    older, active = versions
    experiment_id = start(app, older)
    with ctx(app) as session:  # one impression shown before the stop
        session.add(Impression(widget="home_for_you", strategy="model:als", model_version=older, items=[1],
                               experiment_id=experiment_id, arm=CHALLENGER, created_at=utcnow()))
        session.commit()
    response = admin_client.post(f"/admin/ml/experiments/{experiment_id}/stop", follow_redirects=True)
    assert "stopped: the champion stays" in _text(response)
    assert read_active(app.config["MODEL_DIR"]) == active
    assert _experiments(app)[0][5:] == (EXPERIMENT_ENDED, "stopped")
    with ctx(app) as session:  # logged after the end (a late page): not in the final numbers
        session.add(Impression(widget="home_for_you", strategy="model:als", model_version=older, items=[1],
                               experiment_id=experiment_id, arm=CHALLENGER, created_at=utcnow()))
        session.commit()
    block = _block(_text(admin_client.get("/admin/ml")), experiment_id)
    assert re.search(r'<tr class="arm-challenger"><th scope="row">challenger</th> <td data-label="Impressions">1</td>', block)
    assert "stopped" in block and "No experiment is running." in _text(admin_client.get("/admin/ml"))
    assert admin_client.post(f"/admin/ml/experiments/{experiment_id}/stop").status_code == 302  # flash, no error
    assert admin_client.post("/admin/ml/experiments/999/stop").status_code == 404


def test_only_admins_may_and_get_changes_nothing(app, client, versions):
    older, active = versions
    experiment_id = start(app, older)
    urls = ["/admin/ml/experiments", f"/admin/ml/experiments/{experiment_id}/promote",
            f"/admin/ml/experiments/{experiment_id}/stop"]
    for url in urls:
        response = client.post(url, data=_form(older, widget="cart_for_you"))
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    _, email = new_customer(app)
    login(client, email)
    for url in urls:
        assert client.post(url, data=_form(older, widget="cart_for_you")).status_code == 403, url
    new_customer(app, "boss@example.com", admin=True)
    login(client, "boss@example.com")
    for url in urls:
        assert client.get(url).status_code == 405, url  # a link or a prefetch cannot change anything
    assert [row[5] for row in _experiments(app)] == [EXPERIMENT_RUNNING]
    assert read_active(app.config["MODEL_DIR"]) == active


def test_every_button_needs_a_csrf_token(app, app_config, versions):
    older, _ = versions
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    experiment_id = start(strict, older)
    new_customer(strict, "boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": "correct horse battery",
                                                "csrf_token": token}).status_code == 302
    for url in ("/admin/ml/experiments", f"/admin/ml/experiments/{experiment_id}/promote",
                f"/admin/ml/experiments/{experiment_id}/stop"):
        assert client.post(url, data=_form(older, widget="cart_for_you")).status_code == 400, url
    assert [row[5] for row in _experiments(strict)] == [EXPERIMENT_RUNNING]
    token = TOKEN_INPUT.search(client.get("/admin/ml").get_data(as_text=True)).group(1)
    assert client.post(f"/admin/ml/experiments/{experiment_id}/stop", data={"csrf_token": token}).status_code == 302
    assert [row[5] for row in _experiments(strict)] == [EXPERIMENT_ENDED]
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def test_once_both_arms_have_the_minimum_sample_the_page_shows_the_lifts(app, admin_client, versions):
    from storefront.models import CLICK, Event, Visitor
    from storefront.models.experiments import CHAMPION

    experiment_id = start(app, versions[0], min_clicks=1)
    with ctx(app) as session:
        for arm, shown, clicked in ((CHAMPION, 4, 1), (CHALLENGER, 4, 3)):
            for n in range(shown):
                visitor = Visitor(token=f"lift-{arm}-{n}")
                session.add(visitor)
                session.flush()
                impression = Impression(visitor_id=visitor.id, widget="home_for_you", strategy="model:als", items=[1],
                                        experiment_id=experiment_id, arm=arm, created_at=utcnow())
                session.add(impression)
                session.flush()
                if n < clicked:
                    session.add(Event(visitor_id=visitor.id, type=CLICK, impression_id=impression.id))
        session.commit()
    block = _block(_text(admin_client.get("/admin/ml")), experiment_id)
    assert "not enough data yet" not in block and "Challenger − champion, with its 95% interval" in block
    # CTR 25% -> 75%: +50.00 points; half-width 1.96 * sqrt(.25 * .75 / 4 + .75 * .25 / 4) = 60.01
    assert re.search(r'<th scope="row">CTR</th><td data-label="Lift">\+50\.00 pp <small class="muted">'
                     r'\[-10\.01, \+110\.01\]</small></td>\s*<td data-label="Verdict">no difference shown</td>', block)

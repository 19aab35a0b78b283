"""The admin ML pages: who may retrain, one queued run however often the button is clicked,
the run history and its chart, a run's candidates, and online CTR from impressions and clicks."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.helpers import BROWSER_UA
from storefront import create_app
from storefront.extensions import db
from storefront.models import (
    CLICK, RUN_FAILED, RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, TRIGGER_SCHEDULE, VIEW, Event,
    Impression, TrainingRun, Visitor,
)
from storefront.models.common import utcnow
from storefront.training import job as training
from tests.storefront.admin.chart_support import assert_charts_drawn_without_inline_code, assert_no_chart
from tests.storefront.support.shop import ctx, login, new_customer, new_product

SMALL_SHOP = ["shop", "seed", "--products", "120", "--categories", "8", "--customers", "150",
              "--anonymous", "80", "--events", "12000", "--days", "40", "--end-date", "2026-01-01", "--b2b-visitors", "0"]
TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
REFRESH = '<meta http-equiv="refresh" content="3">'


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


def _runs(app) -> list[tuple[int, str, str | None]]:
    with ctx(app) as session:
        return [(r.id, r.status, r.requested_by) for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id))]


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_anonymous_visitors_are_sent_to_login(app, client):
    response = client.post("/admin/ml/retrain")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    assert client.get("/admin/ml").status_code == 302
    assert _runs(app) == []


def test_customers_get_403(app, client):
    _, email = new_customer(app)
    login(client, email)
    assert client.post("/admin/ml/retrain").status_code == 403
    assert client.get("/admin/ml").status_code == 403
    assert _runs(app) == []


def test_retrain_twice_queues_exactly_one_run(app, admin_client):
    first = admin_client.post("/admin/ml/retrain", follow_redirects=True)
    html = _text(first)
    assert first.status_code == 200 and first.request.path == "/admin/ml"
    assert "Training queued (run #1)." in html
    assert REFRESH in html and "Run #1 is <strong>queued</strong>" in html

    second = admin_client.post("/admin/ml/retrain", follow_redirects=True)
    assert "A training run is already queued (run #1)." in _text(second)
    assert _runs(app) == [(1, RUN_QUEUED, "boss@example.com")]


def test_retrain_needs_a_csrf_token(app, app_config):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    new_customer(strict, "boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    credentials = {"email": "boss@example.com", "password": "correct horse battery", "csrf_token": token}
    response = client.post("/account/login", data=credentials)
    assert response.status_code == 302

    assert client.post("/admin/ml/retrain").status_code == 400
    assert _runs(strict) == []

    page = client.get("/admin/ml").get_data(as_text=True)
    token = TOKEN_INPUT.search(page).group(1)
    assert client.post("/admin/ml/retrain", data={"csrf_token": token}).status_code == 302
    assert client.post("/admin/ml/retrain", data={"csrf_token": token}).status_code == 302
    assert [status for _, status, _ in _runs(strict)] == [RUN_QUEUED]
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_page_before_any_training(admin_client):
    html = _text(admin_client.get("/admin/ml"))
    assert "No model has been trained yet" in html and "No training run yet." in html
    assert "No recommendation impressions in the last 30 days." in html
    assert REFRESH not in html
    assert_no_chart(html)
    assert 'href="/admin/ml"' in admin_client.get("/admin/").get_data(as_text=True)


def test_the_page_shows_the_model_history_and_chart(app, runner, admin_client):
    assert runner.invoke(args=SMALL_SHOP).exit_code == 0
    with app.app_context():
        run = training.run_training(trigger=TRIGGER_SCHEDULE)
        assert run.status == RUN_SUCCEEDED
        version, champion, ndcg, run_id = run.version, run.champion, run.champion_ndcg, run.id
        now = utcnow()
        db.session.add_all([
            TrainingRun(status=RUN_SUCCEEDED, champion="als", metrics={"als": {"ndcg@10": 0.25}},
                        requested_at=now, started_at=now, finished_at=now + timedelta(seconds=42)),
            TrainingRun(status=RUN_FAILED, error="NotEnoughFeedback: not enough feedback to train: 3 events\nmore",
                        requested_at=now, started_at=now, finished_at=now),
        ])
        db.session.commit()

    html = _text(admin_client.get("/admin/ml"))
    assert version in html and f"<strong>{champion}</strong>" in html
    assert f"{ndcg:.4f}" in html
    assert f"Version <code>{version}</code> ({champion}) went live " in html  # finished minutes ago
    assert '<button type="submit" class="button primary">Retrain now</button>' in html  # nothing running
    with app.app_context():  # each candidate's NDCG@10 difference to popularity, with its interval
        selection = db.session.get(TrainingRun, run_id).params["selection"]
    assert "Why this champion: " + selection["reason"] in html
    for name, difference in selection["vs_popularity"].items():
        assert f"{difference['mean']:+.4f} <small class=\"muted\">[{difference['low']:+.4f}, {difference['high']:+.4f}]" in html, name
    assert '<td data-label="Duration">42 s</td>' in html  # duration of run #2
    assert "not enough feedback to train: 3 events</td>" in html  # first line of the error only
    assert "more</td>" not in html
    chart = assert_charts_drawn_without_inline_code(html)["ndcg"]
    assert chart["type"] == "line" and chart["labels"] == ["#1", "#2"]  # the two succeeded runs, oldest first
    (line,) = chart["datasets"]
    assert line["data"] == [pytest.approx(ndcg, abs=1e-6), 0.25]
    assert line["tips"][0].startswith("Run #1 (") and line["tips"][0].endswith(f"{champion}, NDCG@10 {ndcg:.4f}")
    assert line["tips"][1].startswith("Run #2 (") and line["tips"][1].endswith("als, NDCG@10 0.2500")
    assert chart["y"]["min"] == 0
    assert '<td data-label="Run">#2</td>' in html and '<td data-label="NDCG@10">0.2500</td>' in html  # the chart as a table
    assert REFRESH not in html


def test_the_page_follows_a_running_run(app, admin_client):
    with ctx(app) as session:
        now = utcnow()
        session.add(TrainingRun(status=RUN_RUNNING, stage="search: tuning als (12 s left)", progress=0.42,
                                requested_at=now, started_at=now, heartbeat_at=now))
        session.commit()
    html = _text(admin_client.get("/admin/ml"))
    assert REFRESH in html
    assert "Run #1 is <strong>running</strong>: search: tuning als (12 s left)" in html and "42%" in html
    assert '<button type="submit" class="button primary" disabled aria-disabled="true">Retrain now</button>' in html
    assert "(run #1 is running: one run at a time)" in html


def test_online_ctr_per_widget_and_model_version(app, admin_client):
    product_id = new_product(app)
    with ctx(app) as session:
        visitor = Visitor(token="ctr-visitor")
        session.add(visitor)
        session.flush()
        now = utcnow()

        def impression(widget, version, clicks=0, age_days=1, other_events=0):
            shown = Impression(visitor_id=visitor.id, widget=widget, strategy="als" if version else "popular",
                               model_version=version, items=[product_id], created_at=now - timedelta(days=age_days))
            session.add(shown)
            session.flush()
            for _ in range(clicks):
                session.add(Event(visitor_id=visitor.id, product_id=product_id, type=CLICK, impression_id=shown.id))
            for _ in range(other_events):  # not clicks: never counted
                session.add(Event(visitor_id=visitor.id, product_id=product_id, type=VIEW, impression_id=shown.id))

        impression("home", "v1", clicks=2)
        impression("home", "v1", clicks=1, other_events=1)
        impression("home", "v1")
        impression("home", "v1")
        impression("home", "v2", clicks=1)
        impression("product", None)
        impression("product", None)
        simulated = Impression(visitor_id=visitor.id, widget="product", strategy="seed", model_version=None,
                               items=[product_id], created_at=now - timedelta(days=2))  # the demo seed's
        session.add(simulated)
        impression("home", "v1", clicks=5, age_days=40)  # outside the 30-day window
        session.commit()
        assert session.scalar(select(func.count()).select_from(Impression)) == 9

    html = _text(admin_client.get("/admin/ml"))
    assert ('<td data-label="Widget">home</td><td data-label="Impressions">5</td><td data-label="Clicks">4</td>'
            '<td data-label="CTR">80.00%</td>') in html  # each cell names its column (stacked cells on phones)
    html = re.sub(r' data-label="[^"]*"', "", html)
    assert "<tr><td>home</td><td>5</td><td>4</td><td>80.00%</td></tr>" in html
    assert "<tr><td>product</td><td>3</td><td>0</td><td>0.00%</td></tr>" in html
    assert '<tr><td>home</td><td class="version">v1</td><td>4</td><td>3</td><td>75.00%</td></tr>' in html
    assert '<tr><td>home</td><td class="version">v2</td><td>1</td><td>1</td><td>100.00%</td></tr>' in html
    assert '<td class="version">fallback (no model)</td><td>2</td><td>0</td>' in html
    assert '<td class="version">simulated history (demo seed)</td><td>1</td><td>0</td>' in html


def test_a_run_page_shows_its_candidates(app, runner, admin_client):
    assert runner.invoke(args=SMALL_SHOP).exit_code == 0
    with app.app_context():
        run = training.run_training()
        run_id, champion, metrics = run.id, run.champion, run.metrics
    html = _text(admin_client.get(f"/admin/ml/runs/{run_id}"))
    assert f"Training run #{run_id}" in html
    for name in metrics:
        assert f'<th scope="row">{name}' in html
    assert f'<tr class="champion"> <th scope="row">{champion} <span class="badge">champion</span>' in html
    assert f"{metrics[champion]['ndcg@10']:.4f}" in html
    assert "<th>fit" not in html and "<th scope=\"col\">Fit</th>" in html
    assert "Data sizes" in html and '<th scope="row">events</th><td>' in html
    assert "Timings" in html and '<th scope="row">search</th>' in html
    assert "Champion parameters" in html
    assert admin_client.get("/admin/ml/runs/999").status_code == 404


def test_a_failed_run_page_shows_the_error(app, admin_client):
    with app.app_context():
        run = training.run_training()  # empty shop
        run_id = run.id
    html = _text(admin_client.get(f"/admin/ml/runs/{run_id}"))
    assert "not enough feedback to train: 0 events" in html and "run-failed" in html
    assert "did not get that far" in html

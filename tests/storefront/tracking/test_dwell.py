"""Dwell time: the product page's signed view token, the beacon, and the weight training gives it."""
from __future__ import annotations

import re

import numpy as np
import pytest

from ml.data.dwell import DwellCurve
from storefront.models import VIEW
from storefront.training.data import load_events_frame
from tests.helpers import BOT_UA, browser_client, new_browser_client
from tests.storefront.support.shop import events, new_product


def _token(response) -> str | None:
    match = re.search(r'id="dwell" hidden data-token="([^"]+)" data-url="/t/dwell"', response.get_data(as_text=True))
    return match.group(1) if match else None


def _dwell(client, token, ms):
    return client.post("/t/dwell", data={"token": token, "ms": str(ms)})


def test_the_page_loads_the_script_from_the_shop_and_no_inline_code(app, client):
    page = client.get(f"/products/{new_product(app)}")
    html = page.get_data(as_text=True)
    assert '<script src="/static/js/dwell.js" defer></script>' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"] or "default-src 'self'" in page.headers[
        "Content-Security-Policy"]
    assert client.get("/static/js/dwell.js").status_code == 200
    assert "sendBeacon" in client.get("/static/js/dwell.js").get_data(as_text=True)


def test_a_beacon_sets_its_views_dwell_once_and_capped(app, client):
    first, second = new_product(app), new_product(app)
    token = _token(client.get(f"/products/{first}"))
    client.get(f"/products/{second}")
    assert _dwell(client, token, 42_000).status_code == 204
    assert _dwell(client, token, 99_000).status_code == 204  # once per view: the first report stays
    views = {v.product_id: v.dwell_ms for v in events(app, VIEW)}
    assert views == {first: 42_000, second: None}
    token = _token(client.get(f"/products/{new_product(app)}"))
    _dwell(client, token, 10**9)
    assert events(app, VIEW)[-1].dwell_ms == app.config["DWELL_MAX_SECONDS"] * 1000


def test_another_browser_cannot_use_a_views_token(app, client):
    token = _token(client.get(f"/products/{new_product(app)}"))
    thief = browser_client(app)
    thief.get("/")
    response = _dwell(thief, token, 5000)
    assert response.status_code == 400 and "another browser" in response.get_data(as_text=True)
    assert events(app, VIEW)[0].dwell_ms is None


@pytest.mark.parametrize(("token", "ms"), [("forged.token.here", "1000"), (None, "1000"), ("", "-5"),
                                           ("x", "1e9"), ("x", "12345678901")])
def test_bad_beacons_get_a_400_never_a_500(app, client, token, ms):
    real = _token(client.get(f"/products/{new_product(app)}"))
    response = client.post("/t/dwell", data={"token": token if token != "x" else real, "ms": ms} if token is not None
                           else {"ms": ms})
    assert response.status_code == 400
    assert events(app, VIEW)[0].dwell_ms is None


def test_a_first_visits_beacon_brings_the_cookie_back_and_writes_the_view_with_its_dwell(app):
    browser = new_browser_client(app)
    product_id = new_product(app)
    token = _token(browser.get(f"/products/{product_id}"))
    assert token and events(app) == []  # the first page logged nothing yet
    assert _dwell(browser, token, 8000).status_code == 204
    (view,) = events(app, VIEW)
    assert (view.product_id, view.dwell_ms) == (product_id, 8000)


def test_reloads_and_crawlers_get_no_token(app, client):
    product_id = new_product(app)
    assert _token(client.get(f"/products/{product_id}"))
    assert _token(client.get(f"/products/{product_id}")) is None  # a reload is not a new view
    bot = app.test_client()
    bot.environ_base["HTTP_USER_AGENT"] = BOT_UA
    assert _token(bot.get(f"/products/{product_id}")) is None


def test_the_curve_weighs_bounces_down_long_looks_up_and_unreported_views_as_before():
    curve = DwellCurve.parse("floor=0.5,ceiling=2,tau=30")
    weights = curve.multiplier(np.array([0, 30_000, 600_000, np.nan]))
    np.testing.assert_allclose(weights, [0.5, 0.5 + 1.5 * (1 - np.exp(-1)), 2.0, 1.0], atol=1e-6)
    with pytest.raises(ValueError, match="unknown dwell curve parameter"):
        DwellCurve.parse("slope=3")


def test_training_weighs_views_by_dwell_only_when_configured(app, client):
    first, second = new_product(app), new_product(app)
    token = _token(client.get(f"/products/{first}"))
    client.get(f"/products/{second}")
    _dwell(client, token, 60_000)
    with app.app_context():
        assert "weight" not in load_events_frame().columns  # off by default
        app.config["DWELL_WEIGHTING"] = "floor=0.5,ceiling=2,tau=30"
        frame = load_events_frame()
    assert frame["weight"].round(3).tolist() == [round(0.5 + 1.5 * (1 - np.exp(-2)), 3), 1.0]

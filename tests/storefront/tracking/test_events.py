"""Event tracking: one view per page view, no bots, devices, the visitor cookie, sessions."""
from __future__ import annotations


import pytest
from itsdangerous import URLSafeSerializer

from tests.helpers import BOT_UA, BROWSER_UA, MOBILE_UA, give_visitor_cookie, new_browser_client
from storefront.models import ADD_TO_CART, VIEW, Product, Visitor
from storefront.tracking.visitors import RequestContext
from tests.storefront.support.shop import add_to_cart, counts, ctx, events, login, new_customer, new_product, visitor_ids

TABLET_UA = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


def _client(app, user_agent: str):
    """A returning browser (or a bot) with this user agent."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    give_visitor_cookie(client, app)
    return client


def _visitor_set_cookie(app, response) -> str | None:
    name = app.config["VISITOR_COOKIE_NAME"]
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return header
    return None


def test_one_view_per_product_page_view(app, client):
    product_id = new_product(app)
    response = client.get(f"/products/{product_id}")
    assert response.status_code == 200
    (event,) = events(app)
    assert event.type == VIEW
    assert event.product_id == product_id
    assert event.customer_id is None and event.order_id is None
    assert event.device == "desktop"
    assert event.session_id
    assert visitor_ids(app) == [event.visitor_id]


def test_other_pages_log_no_events(app, client):
    product_id = new_product(app)
    with ctx(app) as session:
        slug = session.get(Product, product_id).category.slug
    # (a search logs its results page: tests/storefront/search/test_analytics_events.py)
    for url in ("/", f"/c/{slug}", "/cart", f"/img/category/{slug}.svg", "/account/login"):
        assert client.get(url).status_code == 200
    assert events(app) == []
    assert visitor_ids(app) == []  # visitors are created lazily, on the first event or cart


def test_reload_within_the_window_is_not_a_second_view(app, client):
    product_id = new_product(app)
    for _ in range(3):
        assert client.get(f"/products/{product_id}").status_code == 200
    assert len(events(app, VIEW)) == 1

    app.config["VIEW_DEDUP_SECONDS"] = 0  # the window has passed (no sleeping)
    client.get(f"/products/{product_id}")
    assert len(events(app, VIEW)) == 2
    client.get(f"/products/{product_id}")
    views = events(app, VIEW)
    assert len(views) == 3
    assert len({e.visitor_id for e in views}) == 1


def test_dedup_is_per_product_and_per_visitor(app, client):
    first, second = new_product(app), new_product(app)
    client.get(f"/products/{first}")
    client.get(f"/products/{second}")
    _client(app, BROWSER_UA).get(f"/products/{first}")
    views = events(app, VIEW)
    assert [e.product_id for e in views] == [first, second, first]
    assert len({e.visitor_id for e in views}) == 2


BING_UA = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"


@pytest.mark.parametrize("user_agent", [BOT_UA, BING_UA, ""], ids=["googlebot", "bingbot", "empty"])
def test_no_events_for_bots_or_an_empty_user_agent(app, user_agent):
    product_id = new_product(app, stock=10)
    before = counts(app)
    client = _client(app, user_agent)
    assert client.get(f"/products/{product_id}").status_code == 200
    assert client.get(f"/products/{product_id}").status_code == 200
    assert events(app) == []
    after = counts(app)
    assert after["events"] == before["events"] == 0
    assert after["visitors"] == 0  # not even a visitor row for a crawler's page views


@pytest.mark.parametrize("user_agent", ["curl/8.5.0", "python-requests/2.32.3", "Wget/1.21.4", "Go-http-client/1.1"])
def test_scripted_clients_are_not_shoppers(app, user_agent):
    product_id = new_product(app)
    response = _client(app, user_agent).get(f"/products/{product_id}")
    assert response.status_code == 200
    assert counts(app)["events"] == 0
    assert counts(app)["visitors"] == 0


def test_a_visitor_created_in_parallel_is_reused_not_duplicated(app):
    """Two first requests of one browser race to create its visitor row: the loser reuses it."""
    from storefront.tracking.visitors import _insert_visitor

    with ctx(app) as session:
        session.add(Visitor(token="a" * 32))
        session.commit()
        again = _insert_visitor(RequestContext("a" * 32, None))  # as if our SELECT ran before the other INSERT
        session.commit()
        assert session.query(Visitor).filter_by(token="a" * 32).count() == 1
        assert again.token == "a" * 32


def test_bot_cart_changes_are_not_tracked(app):
    product_id = new_product(app, stock=10)
    bot = _client(app, BOT_UA)
    add_to_cart(bot, product_id, 1)
    assert events(app) == []


@pytest.mark.parametrize(
    ("user_agent", "device"), [(MOBILE_UA, "mobile"), (BROWSER_UA, "desktop"), (TABLET_UA, "tablet")]
)
def test_device_class(app, user_agent, device):
    product_id = new_product(app, stock=10)
    client = _client(app, user_agent)
    client.get(f"/products/{product_id}")
    add_to_cart(client, product_id, 1)
    assert [(e.type, e.device) for e in events(app)] == [(VIEW, device), (ADD_TO_CART, device)]


def test_visitor_cookie_flags(app):
    client = new_browser_client(app)
    product_id = new_product(app)
    response = client.get(f"/products/{product_id}")
    header = _visitor_set_cookie(app, response)
    assert header is not None
    attributes = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert f"max-age={app.config['VISITOR_COOKIE_MAX_AGE']}" in attributes
    assert "secure" not in attributes  # testing config: plain http
    # Issued once: the next response does not set it again.
    assert _visitor_set_cookie(app, client.get(f"/products/{product_id}")) is None


def test_visitor_cookie_is_signed_not_the_raw_token(app, client):
    product_id = new_product(app)
    client.get(f"/products/{product_id}")
    cookie = client.get_cookie(app.config["VISITOR_COOKIE_NAME"])
    (event,) = events(app)
    with ctx(app) as session:
        token = session.get(Visitor, event.visitor_id).token
    assert cookie.value != token
    assert URLSafeSerializer(app.config["SECRET_KEY"], salt="storefront.visitor").loads(cookie.value) == token


@pytest.mark.parametrize("forgery", ["raw-token", "wrong-key", "edited-signature", "garbage"])
def test_tampered_visitor_cookie_is_ignored(app, client, forgery):
    product_id = new_product(app)
    client.get(f"/products/{product_id}")
    name = app.config["VISITOR_COOKIE_NAME"]
    genuine = client.get_cookie(name).value
    (victim_event,) = events(app)
    with ctx(app) as session:
        victim_token = session.get(Visitor, victim_event.visitor_id).token

    forged = {
        "raw-token": victim_token,
        "wrong-key": URLSafeSerializer("not-the-secret", salt="storefront.visitor").dumps(victim_token),
        "edited-signature": genuine[:-2] + ("AA" if not genuine.endswith("AA") else "BB"),
        "garbage": "definitely.not.a.cookie",
    }[forgery]
    attacker = _client(app, BROWSER_UA)
    attacker.set_cookie(name, forged)
    response = attacker.get(f"/products/{product_id}")
    assert response.status_code == 200
    attacker.get("/")  # the new cookie comes back: the view is written

    new_header = _visitor_set_cookie(app, response)
    assert new_header is not None  # a fresh visitor cookie replaces the forged one
    views = events(app, VIEW)
    assert len(views) == 2  # not swallowed as a "reload" of the victim's view
    assert views[1].visitor_id != victim_event.visitor_id
    assert len(visitor_ids(app)) == 2
    assert attacker.get_cookie(name).value not in (forged, genuine)


def test_two_clients_are_two_visitors(app):
    product_id = new_product(app)
    one, two = _client(app, BROWSER_UA), _client(app, BROWSER_UA)
    one.get(f"/products/{product_id}")
    two.get(f"/products/{product_id}")
    one.get(f"/products/{new_product(app)}")
    views = events(app, VIEW)
    assert len(views) == 3
    assert views[0].visitor_id == views[2].visitor_id != views[1].visitor_id
    assert len(visitor_ids(app)) == 2


def test_events_of_a_logged_in_customer_carry_the_customer(app, client):
    customer_id, email = new_customer(app)
    product_id = new_product(app)
    login(client, email)
    client.get(f"/products/{product_id}")
    add_to_cart(client, product_id, 1)
    logged = events(app)
    assert [e.type for e in logged] == [VIEW, ADD_TO_CART]
    assert all(e.customer_id == customer_id for e in logged)


def test_session_id_is_stable_across_views(app, client):
    first, second = new_product(app), new_product(app)
    client.get(f"/products/{first}")
    client.get(f"/products/{second}")
    add_to_cart(client, first, 1)
    logged = events(app)
    assert len(logged) == 3
    assert len({e.session_id for e in logged}) == 1
    assert logged[0].session_id

    other = _client(app, BROWSER_UA)
    other.get(f"/products/{first}")
    assert events(app)[-1].session_id != logged[0].session_id

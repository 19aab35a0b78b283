"""Who counts as a real visitor: the cookie must come back, rate limits on tracked actions and on
new visitors per address, drops counted for the admin (storefront.tracking.integrity)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storefront import create_app
from storefront.models import VIEW, DroppedEvents, Impression, Visitor
from storefront.models.common import utcnow
from storefront.tracking import integrity
from tests import factories
from tests.helpers import BROWSER_UA, browser_client, new_browser_client
from tests.storefront.support.shop import add_to_cart, counts, ctx, events, new_product


def _count(app, model) -> int:
    with ctx(app) as session:
        return session.scalar(select(func.count()).select_from(model))


def _limited(app_config, **settings):
    return create_app({**app_config, "TRACKING_LIMITS_ENABLED": True, **settings})


def _browser(app, address: str, returning: bool = True):
    client = browser_client(app) if returning else new_browser_client(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_a_client_that_never_keeps_cookies_writes_nothing(app):
    """The issue's first probe: 200 cookieless hits made 200 visitors and 200 views."""
    product_id = new_product(app)
    new_product(app)
    script = app.test_client(use_cookies=False)
    script.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    before = counts(app)
    assert {script.get(f"/products/{product_id}").status_code for _ in range(200)} == {200}
    assert {script.get("/").status_code for _ in range(20)} == {200}
    assert counts(app) == before
    assert _count(app, Impression) == 0


def test_the_first_view_is_written_when_the_cookie_comes_back_with_its_own_time(app):
    first, second = new_product(app), new_product(app)
    browser = new_browser_client(app)
    browser.get(f"/products/{first}")
    assert events(app) == [] and _count(app, Visitor) == 0  # nothing until the cookie returns
    browser.get(f"/products/{second}")
    views = events(app, VIEW)
    assert [v.product_id for v in views] == [first, second]
    assert views[0].occurred_at <= views[1].occurred_at
    assert views[0].visitor_id == views[1].visitor_id and views[0].session_id == views[1].session_id
    browser.get("/")
    assert len(events(app, VIEW)) == 2  # written once


def test_the_first_view_is_written_by_any_later_request_even_one_that_logs_nothing_itself(app):
    product_id = new_product(app)
    browser = new_browser_client(app)
    browser.get(f"/products/{product_id}")
    browser.get("/cart")
    assert [v.product_id for v in events(app, VIEW)] == [product_id]


def test_a_forged_pending_view_cannot_be_planted_without_the_secret(app):
    """The pending view travels in the signed session: editing it breaks the signature."""
    product_id = new_product(app)
    browser = new_browser_client(app)
    browser.get(f"/products/{product_id}")
    cookie = browser.get_cookie("session")
    browser.set_cookie("session", cookie.value[:-3] + "xyz")
    browser.get("/")
    assert events(app) == []


def test_a_visitor_over_its_limit_gets_pages_and_logs_nothing(app_config, app):
    limited = _limited(app_config, TRACKING_VISITOR_LIMIT="5/minute")
    products = [new_product(limited) for _ in range(8)]
    browser = _browser(limited, "192.0.2.1")
    assert {browser.get(f"/products/{p}").status_code for p in products} == {200}
    assert len(events(limited, VIEW)) == 5
    with limited.app_context():
        assert integrity.dropped_on()[integrity.VISITOR_RATE] == 3
    # Another visitor from the same address is not affected by this visitor's limit.
    other = _browser(limited, "192.0.2.1")
    other.get(f"/products/{products[0]}")
    assert len(events(limited, VIEW)) == 6


def test_an_address_over_its_limit_logs_nothing_for_any_visitor_behind_it(app_config, app):
    limited = _limited(app_config, TRACKING_ADDRESS_LIMIT="4/minute")
    product_id = new_product(limited)
    for _ in range(6):
        _browser(limited, "198.51.100.7").get(f"/products/{product_id}")
    _browser(limited, "198.51.100.8").get(f"/products/{product_id}")  # another address: logged
    assert len(events(limited, VIEW)) == 5
    with limited.app_context():
        assert integrity.dropped_on()[integrity.ADDRESS_RATE] == 2


def test_clicks_impressions_and_carts_of_a_limited_request_are_not_logged_either(app_config, app):
    limited = _limited(app_config, TRACKING_VISITOR_LIMIT="1/minute")
    products = [new_product(limited) for _ in range(3)]
    browser = _browser(limited, "192.0.2.2")
    browser.get(f"/products/{products[0]}")
    impressions_after_first = _count(limited, Impression)
    browser.get(f"/products/{products[1]}")
    add_to_cart(browser, products[2], 1)
    assert [e.type for e in events(limited)] == [VIEW]
    assert _count(limited, Impression) == impressions_after_first
    # Nothing was logged, but the cart itself works: the product is in it.
    assert f'action="/cart/remove/{products[2]}"' in browser.get("/cart").get_data(as_text=True)


def test_new_visitors_beyond_the_address_limit_are_flagged_and_log_nothing(app_config, app):
    limited = _limited(app_config, NEW_VISITOR_LIMIT="3/hour")
    product_id = new_product(limited)
    for _ in range(6):
        _browser(limited, "203.0.113.9").get(f"/products/{product_id}")
    with ctx(limited) as session:
        reasons = [v.flag_reason for v in session.scalars(select(Visitor).order_by(Visitor.id))]
    assert reasons == [None] * 3 + [integrity.NEW_VISITOR_RATE] * 3
    assert len(events(limited, VIEW)) == 3
    with limited.app_context():
        assert integrity.dropped_on()[integrity.NEW_VISITOR_RATE] == 3
    _browser(limited, "203.0.113.10").get(f"/products/{product_id}")  # a different address
    assert len(events(limited, VIEW)) == 4


def test_a_flagged_visitor_logs_nothing_more(app):
    product_id = new_product(app)
    browser = browser_client(app)
    browser.get(f"/products/{product_id}")
    with ctx(app) as session:
        visitor = session.scalars(select(Visitor)).one()
        visitor.flagged_at, visitor.flag_reason = visitor.created_at, "rate"
        session.commit()
    browser.get(f"/products/{new_product(app)}")
    assert len(events(app, VIEW)) == 1
    with app.app_context():
        assert integrity.dropped_on()[integrity.FLAGGED] == 1


def test_two_workers_share_the_counts_through_the_database(app_config, app):
    """Two apps on one database stand for two gunicorn workers: the limit is the limit of both."""
    first = _limited(app_config, TRACKING_VISITOR_LIMIT="4/minute")
    second = _limited(app_config, TRACKING_VISITOR_LIMIT="4/minute")
    product_ids = [new_product(first) for _ in range(8)]
    one, other = _browser(first, "192.0.2.3"), second.test_client()
    other.environ_base.update(one.environ_base)
    token_cookie = one.get_cookie(first.config["VISITOR_COOKIE_NAME"])
    other.set_cookie(first.config["VISITOR_COOKIE_NAME"], token_cookie.value)
    for index, product_id in enumerate(product_ids):
        (one if index % 2 else other).get(f"/products/{product_id}")
    assert len(events(first, VIEW)) == 4


def test_the_admin_sees_the_events_dropped_today(app_config, app):
    limited = _limited(app_config, TRACKING_VISITOR_LIMIT="1/minute")
    browser = _browser(limited, "192.0.2.4")
    for _ in range(4):
        browser.get(f"/products/{new_product(limited)}")  # the first is logged, three are dropped
    with ctx(limited) as session:  # yesterday's drops are not today's
        session.add(DroppedEvents(day=utcnow().date() - timedelta(days=1), reason=integrity.VISITOR_RATE, count=1000))
        session.commit()
    with limited.app_context():
        email = factories.customer("boss@example.com", admin=True).email
    admin = _browser(limited, "192.0.2.200")
    factories.login(admin, email)
    html = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r"Events dropped as suspicious today</span><strong>3</strong>", html)
    assert re.search(r"visitor rate</td><td[^>]*>3</td>", html)


@pytest.mark.parametrize("limits_on", [False, True])
def test_crawlers_never_take_tokens_nor_count_as_drops(app_config, app, limits_on):
    limited = _limited(app_config, TRACKING_LIMITS_ENABLED=limits_on, TRACKING_ADDRESS_LIMIT="2/minute")
    product_id = new_product(limited)
    bot = limited.test_client()
    bot.environ_base.update({"HTTP_USER_AGENT": "Googlebot/2.1", "REMOTE_ADDR": "192.0.2.5"})
    for _ in range(5):
        bot.get(f"/products/{product_id}")
    _browser(limited, "192.0.2.5").get(f"/products/{product_id}")
    assert len(events(limited, VIEW)) == 1
    with limited.app_context():
        assert sum(integrity.dropped_on().values()) == 0

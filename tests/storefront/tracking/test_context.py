"""Services take a request context: callable from the CLI or a test with no request at all."""
from __future__ import annotations

from storefront.extensions import db
from storefront.models import Event, Product, Visitor
from storefront.orders import cart
from storefront.tracking import events as tracking
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import shopper_of, visitor_of
from tests.helpers import BOT_UA, BROWSER_UA
from tests.storefront.support.shop import add_to_cart, ctx, login, new_category, new_customer, new_product


def test_services_work_outside_a_request_with_an_offline_context(app):
    category, _ = new_category(app)
    product_id = new_product(app, category)
    customer_id, email = new_customer(app)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    login(client, email)
    add_to_cart(client, product_id, 2)
    with app.app_context():  # no request context at all
        offline = RequestContext.offline(customer_id)
        summary = cart.summary(offline)
        assert [(i.product_id, i.quantity) for i in summary.items] == [(product_id, 2)]
        before = db.session.query(Event).count()
        assert tracking.track(RequestContext.offline(), "view", db.session.get(Product, product_id)) is False
        assert db.session.query(Event).count() == before  # nobody to attribute it to: nothing written
        assert visitor_of(RequestContext.offline()) is None


def test_a_visitor_row_is_created_once_per_request_and_the_shopper_follows_it(app):
    with app.test_request_context("/"):
        context = RequestContext(visitor_token="a" * 32, customer_id=None, device="desktop", session_id="s1")
        assert shopper_of(context).known is False
        first = visitor_of(context, create=True)
        assert visitor_of(context, create=True) is first  # remembered for the request
        shopper = shopper_of(context)  # resolved again now that the row exists
        assert shopper.visitor_id == first.id and shopper.session_id == "s1" and not shopper.logged_in
        db.session.commit()
        assert db.session.query(Visitor).filter_by(token="a" * 32).count() == 1


def test_events_carry_the_device_and_session_of_the_request_context_and_crawlers_write_none(app, client):
    category, _ = new_category(app)
    product_id = new_product(app, category)
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    client.get(f"/products/{product_id}")
    crawler = app.test_client()
    crawler.environ_base["HTTP_USER_AGENT"] = BOT_UA
    crawler.get(f"/products/{product_id}")
    with ctx(app) as session:
        (event,) = session.query(Event).all()  # the crawler's view is not feedback
    assert event.device == "desktop" and len(event.session_id) == 16

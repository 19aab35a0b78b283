"""Results per arm: what counts for an arm (attribution), the minimum sample, the lifts."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ml.training.intervals import two_proportions
from storefront.experiments.results import Results, measure
from storefront.models import ADD_TO_CART, CLICK, Event, Experiment, Impression, Order, OrderLine, Visitor
from storefront.models.common import utcnow
from storefront.models.experiments import CHALLENGER, CHAMPION
from tests.storefront.support.shop import ctx, new_customer, new_product

T0 = utcnow().replace(microsecond=0) - timedelta(days=3)
_orders = iter(range(1, 1000))


class Shop:
    """Writes the rows the shop would write, at chosen times."""

    def __init__(self, session, experiment: Experiment):
        self.session, self.experiment = session, experiment

    def visitor(self, customer_id=None, flagged=False) -> Visitor:
        visitor = Visitor(token=f"results-{next(_orders)}", customer_id=customer_id,
                          flagged_at=T0 if flagged else None, flag_reason="rate" if flagged else None)
        self.session.add(visitor)
        self.session.flush()
        return visitor

    def impression(self, visitor, arm, items, hours=0.0, customer_id=None) -> Impression:
        shown = Impression(visitor_id=visitor.id, customer_id=customer_id, widget="home_for_you", strategy="model:als",
                           model_version="v", items=items, created_at=T0 + timedelta(hours=hours),
                           experiment_id=self.experiment.id, arm=arm)
        self.session.add(shown)
        self.session.flush()
        return shown

    def event(self, visitor, kind, product, hours, impression=None, customer_id=None) -> None:
        self.session.add(Event(visitor_id=visitor.id, customer_id=customer_id, product_id=product, type=kind,
                               impression_id=impression.id if impression else None,
                               occurred_at=T0 + timedelta(hours=hours)))

    def order(self, visitor, product, hours, price="10.00", quantity=1, customer_id=None) -> None:
        n = next(_orders)
        self.session.add(Order(
            reference=f"RES{n:06d}", visitor_id=visitor.id if visitor else None, customer_id=customer_id,
            email="b@example.com", name="B", address_line="1 Road", city="Town", postcode="1", country="US",
            total=Decimal(price) * quantity, created_at=T0 + timedelta(hours=hours),
            lines=[OrderLine(product_id=product, product_name="P", unit_price=Decimal(price), quantity=quantity)]))


@pytest.fixture
def products(app):
    return [new_product(app) for _ in range(3)]


def _experiment(session, min_clicks=300) -> Experiment:
    experiment = Experiment(widget="home_for_you", champion_version="v", challenger_version="w",
                            challenger_share=0.5, min_clicks=min_clicks, started_at=T0 - timedelta(hours=1))
    session.add(experiment)
    session.flush()
    return experiment


def test_clicks_add_to_carts_and_orders_count_for_the_arm_that_showed_the_product(app, products):
    p1, p2, p3 = products
    customer_id, _ = new_customer(app)
    with ctx(app) as session:
        shop = Shop(session, _experiment(session))
        a = shop.visitor()  # champion
        shown_a = shop.impression(a, CHAMPION, [p1, p2])
        shop.event(a, CLICK, p1, 0.01, shown_a)
        shop.event(a, ADD_TO_CART, p1, 1)
        shop.order(a, p1, 2, price="10.00", quantity=2)  # counted: 20.00
        shop.order(a, p2, 25)  # shown, but 25 hours later: outside the window
        shop.order(a, p3, 3)  # never shown
        shop.event(a, ADD_TO_CART, p2, -1)  # before the impression
        d = shop.visitor()  # champion, shown p1 too, but the add-to-cart above was a's
        shop.impression(d, CHAMPION, [p1])

        b = shop.visitor()  # challenger: shown p2 twice, one add-to-cart, counted once (last touch)
        shop.impression(b, CHALLENGER, [p2])
        shop.impression(b, CHALLENGER, [p2], hours=1)
        shop.event(b, ADD_TO_CART, p2, 2)  # one carted impression (the latest), not two
        shop.order(b, p2, 3, price="15.00")
        c = shop.visitor(flagged=True)  # flagged as scripted since: none of it counts
        shown_c = shop.impression(c, CHALLENGER, [p3])
        shop.event(c, CLICK, p3, 0.1, shown_c)
        e1, e2 = shop.visitor(customer_id), shop.visitor(customer_id)  # one customer, two browsers
        shop.impression(e1, CHALLENGER, [p3], customer_id=customer_id)
        shop.order(e2, p3, 20, price="7.50", customer_id=customer_id)  # bought on the other browser
        session.commit()
        results = measure(session.get(Experiment, shop.experiment.id))

    champion, challenger = results.champion, results.challenger
    assert (champion.impressions, champion.clicks, champion.clicked) == (2, 1, 1)
    assert (champion.add_to_carts, champion.carted, champion.orders, champion.ordered) == (1, 1, 1, 1)
    assert (champion.revenue, champion.revenue_squares) == (20.0, 400.0)
    assert (challenger.impressions, challenger.clicks, challenger.clicked) == (3, 0, 0)
    assert (challenger.add_to_carts, challenger.carted, challenger.orders, challenger.ordered) == (1, 1, 2, 2)
    assert challenger.revenue == pytest.approx(22.5)
    assert challenger.revenue_squares == pytest.approx(15.0**2 + 7.5**2)
    assert champion.ctr == 0.5 and challenger.cart_rate == pytest.approx(1 / 3)
    assert champion.revenue_per_impression == 10.0


def test_below_the_minimum_sample_there_is_no_lift_only_how_far_each_arm_is(app, products):
    p1 = products[0]
    with ctx(app) as session:
        shop = Shop(session, _experiment(session, min_clicks=300))
        for n in range(37):
            visitor = shop.visitor()
            shown = shop.impression(visitor, CHAMPION, [p1])
            shop.event(visitor, CLICK, p1, 0.1, shown)
        session.commit()
        results = measure(shop.experiment)
    assert results.lifts == [] and not results.enough_data
    assert results.shortfalls() == {CHAMPION: "not enough data yet: 37 of 300 clicks",
                                    CHALLENGER: "not enough data yet: 0 of 300 clicks"}


def test_at_the_minimum_sample_the_lifts_are_the_two_proportion_and_welch_intervals(app, products):
    p1 = products[0]
    with ctx(app) as session:
        shop = Shop(session, _experiment(session, min_clicks=2))
        for arm, shown_count, clicked_count in ((CHAMPION, 10, 2), (CHALLENGER, 8, 4)):
            for n in range(shown_count):
                visitor = shop.visitor()
                shown = shop.impression(visitor, arm, [p1])
                if n < clicked_count:
                    shop.event(visitor, CLICK, p1, 0.1, shown)
        session.commit()
        results = measure(shop.experiment)
    assert results.shortfalls() == {}
    ctr = next(lift for lift in results.lifts if lift.metric == "CTR")
    assert ctr.interval == two_proportions(2, 10, 4, 8)  # 0.5 - 0.2 = +0.30
    assert ctr.interval.difference == pytest.approx(0.3)
    # frozen as JSON when an experiment ends, and read back the same
    assert Results.from_dict(results.to_dict()) == results

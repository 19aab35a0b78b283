"""The popularity score behind "Most popular" sorting and the trending fallbacks."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests import factories
from storefront.extensions import db
from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Event, Visitor
from storefront.catalog.listings import refresh_popularity


def _event(visitor, product, kind, when):
    db.session.add(Event(visitor_id=visitor.id, product_id=product.id, type=kind, occurred_at=when))


def test_popularity_weights_actions_and_counts_the_last_window_of_the_data(app_ctx):
    """A historical log (all events years ago) still ranks: the window ends at the newest event."""
    end = datetime(2015, 6, 1)
    bought, carted, viewed, stale = (factories.product(name=n) for n in ("Bought", "Carted", "Viewed", "Stale"))
    visitor = Visitor(token="t" * 32)
    db.session.add(visitor)
    db.session.flush()
    _event(visitor, bought, TRANSACTION, end)                       # 10
    _event(visitor, carted, ADD_TO_CART, end - timedelta(days=3))   # 4
    for day in range(3):
        _event(visitor, viewed, VIEW, end - timedelta(days=day))    # 3 x 1
    _event(visitor, stale, TRANSACTION, end - timedelta(days=45))   # outside the 30-day window
    db.session.commit()

    refresh_popularity()
    db.session.commit()
    scores = {p.name: p.popularity for p in (bought, carted, viewed, stale)}
    assert scores == {"Bought": 10.0, "Carted": 4.0, "Viewed": 3.0, "Stale": 0.0}


def test_one_visitor_counts_once_per_product_and_day_with_its_strongest_action(app_ctx):
    """The issue's probe: 50 add/remove cycles and 100 reloads by one visitor weighed 50 x 4 and
    100 x 1; now they weigh what one add to cart and one view do."""
    day = datetime(2026, 11, 30, 12)
    pushed, honest = factories.product(name="Pushed"), factories.product(name="Honest")
    script, people = Visitor(token="s" * 32), [Visitor(token=f"{i:032d}") for i in range(3)]
    db.session.add_all([script, *people])
    db.session.flush()
    for minute in range(50):
        _event(script, pushed, ADD_TO_CART, day + timedelta(minutes=minute))
        _event(script, pushed, VIEW, day + timedelta(minutes=minute, seconds=30))
        _event(script, pushed, VIEW, day + timedelta(minutes=minute, seconds=40))
    _event(script, pushed, VIEW, day + timedelta(days=1))  # another day: one more view
    for person in people:
        _event(person, honest, VIEW, day)
        _event(person, honest, ADD_TO_CART, day + timedelta(minutes=1))
    db.session.commit()

    refresh_popularity()
    assert (pushed.popularity, honest.popularity) == (4.0 + 1.0, 3 * 4.0)


def test_flagged_visitors_are_left_out(app_ctx):
    day = datetime(2026, 11, 30, 12)
    product = factories.product(name="Pushed")
    flagged, person = Visitor(token="f" * 32, flagged_at=day, flag_reason="cohort"), Visitor(token="p" * 32)
    db.session.add_all([flagged, person])
    db.session.flush()
    _event(flagged, product, TRANSACTION, day)
    _event(person, product, VIEW, day)
    db.session.commit()
    refresh_popularity()
    assert product.popularity == 1.0

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

"""The asset funnel's arithmetic on events written straight to the table (repeated views,
imported submissions with a count, submissions without a view, several assets at once)."""
from __future__ import annotations

from storefront.extensions import db
from storefront.models import ASSET_VIEW, FORM_SUBMISSION, Event, Visitor
from storefront.models.common import utcnow
from storefront.resources.performance import performance
from tests.storefront.support.resources import new_asset
from tests.storefront.support.shop import ctx


def test_the_funnel_counts_each_visitor_once_per_asset(app):
    first, second = new_asset(app, "First"), new_asset(app, "Second")
    with ctx(app) as session:
        people = [Visitor(token=f"visitor-{n}") for n in range(4)]
        session.add_all(people)
        session.flush()
        a, b, c, d = (v.id for v in people)
        rows = [
            (a, first, ASSET_VIEW, None), (a, first, ASSET_VIEW, None), (a, first, FORM_SUBMISSION, None),
            (b, first, ASSET_VIEW, None),
            (c, first, FORM_SUBMISSION, {"count": 3}),  # imported: submitted three times, never viewed
            (d, second, ASSET_VIEW, None), (d, second, FORM_SUBMISSION, None), (d, second, FORM_SUBMISSION, None),
            (a, second, ASSET_VIEW, None),
        ]
        session.add_all([Event(visitor_id=v, asset_id=asset, type=kind, properties=props, occurred_at=utcnow())
                         for v, asset, kind, props in rows])
        session.commit()
    with app.app_context():
        found = {row.title: row for row in performance("title", descending=False).items}
        db.session.rollback()
    one, two = found["First"], found["Second"]
    assert (one.views, one.viewers, one.submissions, one.converted) == (3, 2, 4, 1)
    assert one.conversion == 0.5
    assert (two.views, two.viewers, two.submissions, two.converted) == (2, 2, 2, 1)

"""The catalog version and the per-worker catalog snapshot (issue 15).

The version is moved by database triggers (the schema of ``create_all`` and of the migrations
alike), so every writer counts; the snapshot follows it, so what a worker keeps in memory is
never older than one check interval.
"""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, select, text, update

from storefront import create_app
from storefront.catalog import snapshot
from storefront.catalog.listings import refresh_popularity
from storefront.extensions import db
from storefront.models import VIEW, CatalogState, Category, Event, Product, Visitor
from storefront.models.common import utcnow
from tests import factories
from tests.helpers import browser_client, reset_postgres_schema
from tests.storefront.support.shop import ctx, new_category, new_product


def _version() -> int:
    return db.session.scalar(select(CatalogState.version))


def _moves(change) -> bool:
    """Whether committing ``change(session)`` moves the catalog version."""
    before = _version()
    change(db.session)
    db.session.commit()
    return _version() > before


def _check_triggers(product_id: int) -> None:
    """What moves the version and what does not (the rules of ``catalog_version``)."""
    def set_(**values):
        return lambda s: s.execute(update(Product).where(Product.id == product_id).values(**values))

    assert _moves(set_(name="Renamed"))
    assert _moves(set_(price=123))
    assert _moves(set_(active=False)) and _moves(set_(active=True))
    assert not _moves(set_(stock=4)), "a sale that leaves stock above zero (10 -> 4) is not a catalog change"
    assert _moves(set_(stock=0)), "selling the last unit is"
    assert _moves(set_(stock=3)), "and so is a restock from zero"
    assert _moves(set_(popularity=9.5)), "popularity orders the shelves"
    assert not _moves(set_(description="Longer text")), "no card shows the description"
    assert _moves(lambda s: s.execute(text("UPDATE categories SET name = 'Other name'")))


def test_changes_a_shopper_can_see_move_the_version_and_others_do_not(app):
    with ctx(app):
        product = factories.product(None, stock=10)
        db.session.commit()
        _check_triggers(product.id)
        assert _moves(lambda s: s.add(Category(name="New", slug="new")))
        assert _moves(lambda s: s.delete(s.get(Category, s.scalar(select(Category.id).where(Category.slug == "new")))))


def test_the_popularity_refresh_moves_the_version(app):
    with ctx(app):
        product = factories.product(None)
        visitor = Visitor(token="a-returning-browser")
        db.session.add(visitor)
        db.session.flush()
        db.session.add(Event(visitor_id=visitor.id, product_id=product.id, type=VIEW, occurred_at=utcnow()))
        db.session.commit()
        before = _version()
        refresh_popularity()
        db.session.commit()
        assert _version() > before
        assert snapshot.current().ranked(1, (), popular_only=True) == [product.id]


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_migration_creates_the_same_triggers(tmp_path, engine):
    url = f"sqlite:///{tmp_path / 'migrated.db'}" if engine == "sqlite" else os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(engine):
        pytest.skip("TEST_DATABASE_URL does not name a PostgreSQL database")
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        reset_postgres_schema()
        upgrade()
        try:
            assert _version() == 0
            product = factories.product(None, stock=10)
            db.session.commit()
            _check_triggers(product.id)
        finally:
            db.session.remove()
            reset_postgres_schema()
            db.engine.dispose()


def test_a_snapshot_follows_the_version(app):
    category_id, slug = new_category(app, "Lamps")
    kept = new_product(app, category_id, name="Desk lamp", stock=3)
    with app.app_context():
        first = snapshot.current()
        assert first.category_by_slug(slug).name == "Lamps"
        assert kept in first.eligible
        assert snapshot.current() is first, "the same version: the same snapshot"
    with ctx(app) as session:
        session.get(Product, kept).stock = 0
        session.commit()
    with app.app_context():
        second = snapshot.current()
        assert second is not first and kept not in second.eligible


def test_a_worker_asks_the_version_at_most_every_check_interval(app_config):
    app = create_app({**app_config, "CATALOG_CHECK_INTERVAL": 3600})
    with app.app_context():
        db.create_all()
        asked = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, sql, *_a: asked.append(sql) if "catalog_state" in sql else None)
        snapshot.current()
        snapshot.current()
        snapshot.current()
        assert len(asked) == 1


def test_fallback_orders_match_the_database_order(app):
    """The snapshot's "most popular" and "newest" orders are the listings' SQL orders."""
    category_id, _ = new_category(app)
    now = utcnow()
    ids = []
    for popularity, days, stock in [(5.0, 3, 1), (5.0, 1, 1), (0.0, 0, 1), (9.0, 9, 0), (1.0, 2, 1)]:
        ids.append(new_product(app, category_id, stock=stock))
        with ctx(app) as session:
            product = session.get(Product, ids[-1])
            product.popularity, product.created_at = popularity, now - timedelta(days=days)
            session.commit()
    with app.app_context():
        catalog = snapshot.current()
        assert catalog.ranked(10, ()) == [ids[1], ids[0], ids[4], ids[2]]  # out of stock left out
        assert catalog.ranked(10, (), popular_only=True) == [ids[1], ids[0], ids[4]]
        assert catalog.ranked(10, (), order=snapshot.NEWEST) == [ids[2], ids[1], ids[4], ids[0]]
        assert catalog.ranked(2, {ids[1]}) == [ids[0], ids[4]]
        assert catalog.ranked(10, (), categories={category_id + 1000}) == []


def test_a_deactivated_product_leaves_the_widgets_on_the_next_page(app):
    category_id, _ = new_category(app)
    products = [new_product(app, category_id, stock=5) for _ in range(4)]
    with ctx(app) as session:
        for rank, product_id in enumerate(products):
            session.get(Product, product_id).popularity = 10.0 - rank
        session.commit()
    client = browser_client(app)
    assert str(products[0]) in _trending_ids(client.get("/").get_data(as_text=True))
    with ctx(app) as session:
        session.get(Product, products[0]).active = False
        session.commit()
    assert str(products[0]) not in _trending_ids(client.get("/").get_data(as_text=True))


def _trending_ids(html: str) -> list[str]:
    import re

    shelf = html.split('data-widget="home_trending"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'/products/(\d+)\?ri=', shelf)

"""SQL statements per page kind, counted (issue 15: a regression in what a page asks the database
fails here, not in production; timings live in the benchmarks, never in tests).

The ceilings are today's counts on a small seeded shop with a trained model, for a returning
browser with a product in its history. Lower them as pages get cheaper; never raise one without
saying why in the commit.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from storefront.extensions import db
from storefront.models import Category, Product
from tests.helpers import browser_client
from tests.storefront.support.recommendations import seed_small_shop, train_and_publish

# page -> the most statements it may run (testing config: tracking limits off)
CEILINGS = {  # before issue 15's first steps (menu once per request, one impression insert per page):
    "home": 16,  # 24
    "category": 12,  # 13
    "product": 12,  # 15
    "search": 6,  # 8
    "cart": 9,
    "api_user": 5,
    "resources": 11,
}


@pytest.fixture
def shop(app, runner):
    seed_small_shop(runner)
    train_and_publish(app)
    with app.app_context():
        product = db.session.scalars(select(Product).where(Product.active.is_(True)).order_by(Product.id)).first()
        category = db.session.get(Category, product.category_id)
        return {"product": product.id, "category": category.slug, "word": product.name.split()[0]}


def _urls(shop) -> dict[str, str]:
    return {
        "home": "/",
        "category": f"/c/{shop['category']}",
        "product": f"/products/{shop['product'] + 1}",
        "search": f"/search?q={shop['word']}",
        "cart": "/cart",
        "api_user": "/api/v1/recommendations/user",
        "resources": "/resources",
    }


def _count_statements(app):
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda _conn, _cursor, sql, *_rest: statements.append(sql))
    return statements


def test_each_page_kind_stays_within_its_statement_budget(app, shop):
    client = browser_client(app)
    client.get(f"/products/{shop['product']}")  # some history: the personal widgets have work to do
    statements = _count_statements(app)
    counts = {}
    for page, url in _urls(shop).items():
        statements.clear()
        assert client.get(url).status_code == 200, url
        counts[page] = len(statements)
    over = {page: (counts[page], ceiling) for page, ceiling in CEILINGS.items() if counts[page] > ceiling}
    assert over == {}, f"statements (counted, ceiling): {counts}"


def test_the_department_menu_is_queried_once_per_page(app, shop):
    """The home page shows the menu three times (header, intro, department tiles)."""
    client = browser_client(app)
    statements = _count_statements(app)
    client.get("/")
    menu = [sql for sql in statements if re.search(r"FROM categories\s+WHERE categories.parent_id IS NULL", sql)]
    assert len(menu) == 1, menu

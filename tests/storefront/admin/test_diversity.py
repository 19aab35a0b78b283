"""Admin -> Diversity: a level per model-filled widget; admins only, POST with CSRF only; a saved
level re-ranks the widget on the next page, at no extra statement on a warm page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event, select

from storefront import create_app
from storefront.extensions import db
from storefront.models import Product, WidgetSetting
from tests.helpers import BROWSER_UA, browser_client
from tests.storefront.support.recommendations import seed_small_shop, shelves, train_and_publish
from tests.storefront.support.shop import ctx, login, new_customer

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def _saved(app) -> dict[str, str]:
    with ctx(app) as session:
        return {row.widget: row.diversity for row in session.scalars(select(WidgetSetting))}


def test_the_page_lists_the_model_widgets_and_saves_their_levels(app, admin_client):
    page = admin_client.get("/admin/diversity").get_data(as_text=True)
    assert 'name="level_home_for_you"' in page and 'name="level_product_similar"' in page
    assert 'name="level_product_recently_viewed"' not in page  # no model ranking to diversify
    assert re.search(r'<option selected value="none">', page)
    response = admin_client.post("/admin/diversity", data={"level_home_for_you": "high", "level_cart_for_you": "low"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/diversity"
    assert _saved(app) == {"home_for_you": "high", "cart_for_you": "low"}
    page = admin_client.get("/admin/diversity").get_data(as_text=True)
    assert "boss@example.com" in page and re.search(r'name="level_home_for_you".*?<option selected value="high">', page, re.S)
    admin_client.post("/admin/diversity", data={"level_home_for_you": "none", "level_cart_for_you": "low"})
    assert _saved(app) == {"home_for_you": "none", "cart_for_you": "low"}
    assert "Recommendation diversity per widget" in admin_client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize("data", [{"level_home_for_you": "extreme"}, {"level_home_for_you": ""}])
def test_a_bad_level_comes_back_with_its_message_and_nothing_is_saved(app, admin_client, data):
    response = admin_client.post("/admin/diversity", data={"level_cart_for_you": "high", **data})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert _saved(app) == {}


def test_an_unknown_widget_or_level_is_refused_by_the_service(app_ctx):
    from storefront.recommendations import diversity

    for levels in ({"nope": "high"}, {"home_for_you": "extreme"}):
        with pytest.raises(diversity.SettingError):
            diversity.set_levels(levels, "a")
    assert diversity.set_levels({"home_for_you": "none"}, "a") == []  # the default: nothing written
    assert db.session.scalars(select(WidgetSetting)).all() == []


def test_only_admins_may_and_get_changes_nothing(app, client):
    response = client.post("/admin/diversity", data={"level_home_for_you": "high"})
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    assert client.get("/admin/diversity").status_code == 302
    _, email = new_customer(app)
    login(client, email)
    assert client.post("/admin/diversity", data={"level_home_for_you": "high"}).status_code == 403
    assert client.get("/admin/diversity").status_code == 403
    admin = browser_client(app)
    new_customer(app, "boss@example.com", admin=True)
    login(admin, "boss@example.com")
    assert admin.get("/admin/diversity?level_home_for_you=high").status_code == 200  # a link saves nothing
    assert _saved(app) == {}


def test_saving_needs_a_csrf_token(app, app_config):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    new_customer(strict, "boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": "correct horse battery",
                                                "csrf_token": token}).status_code == 302
    assert client.post("/admin/diversity", data={"level_home_for_you": "high"}).status_code == 400
    assert _saved(strict) == {}
    token = TOKEN_INPUT.search(client.get("/admin/diversity").get_data(as_text=True)).group(1)
    assert client.post("/admin/diversity", data={"level_home_for_you": "high", "csrf_token": token}).status_code == 302
    assert _saved(strict) == {"home_for_you": "high"}
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def shop(app, runner):
    seed_small_shop(runner)
    train_and_publish(app)
    with ctx(app) as session:
        products = session.execute(select(Product.id, Product.category_id)).all()
    return {pid: category for pid, category in products}


def test_a_saved_level_re_ranks_the_widget_on_the_next_page_at_no_extra_statement(app, admin_client, shop):
    shopper = browser_client(app)
    viewed = sorted(shop)[:3]
    for product_id in viewed:
        shopper.get(f"/products/{product_id}")
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_r: statements.append(sql))
    shopper.get("/")
    statements.clear()
    before = shelves(shopper.get("/"))["home_for_you"]
    warm = len(statements)
    assert before.strategy.startswith("model:") and len(before.product_ids) == 8

    assert admin_client.post("/admin/diversity", data={"level_home_for_you": "high"}).status_code == 302
    shopper.get("/")  # the first page after the change reads the snapshot and the settings again
    statements.clear()
    after = shelves(shopper.get("/"))["home_for_you"]
    assert len(statements) == warm, statements

    assert after.product_ids != before.product_ids
    assert after.product_ids[0] == before.product_ids[0]  # the model's best stays first
    assert len({shop[p] for p in after.product_ids}) > len({shop[p] for p in before.product_ids})

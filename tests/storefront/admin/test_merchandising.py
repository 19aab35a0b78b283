"""Admin -> Merchandising: list, create, edit, switch off and on, delete; admins only, POST with
CSRF only, a GET changes nothing; bad input comes back with its message (422) and saves nothing."""
from __future__ import annotations

import html as html_lib
import re
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from storefront import create_app
from storefront.extensions import db
from storefront.models import MerchandisingRule
from tests.helpers import BROWSER_UA, browser_client
from tests.storefront.support.campaigns import new_campaign
from tests.storefront.support.shop import ctx, login, new_category, new_customer, new_product

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def _form(**overrides) -> dict[str, str]:
    form = {
        "name": "Lumen week", "widget": "home_for_you", "kind": "boost", "target_kind": "brand",
        "brand": "Lumen", "category_id": "0", "campaign_id": "0", "product_ids": "", "positions": "",
        "factor": "1.5", "starts_at": "2026-06-01T09:00", "ends_at": "2026-06-08T09:00", "is_active": "y",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def _rules(app) -> list[MerchandisingRule]:
    with ctx(app) as session:
        rows = list(session.scalars(select(MerchandisingRule).order_by(MerchandisingRule.id)))
        session.expunge_all()
        return rows


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_creating_editing_switching_and_deleting_a_rule(app, admin_client):
    assert "Merchandising: boost, bury, pin, exclude" in _text(admin_client.get("/admin/"))
    page = _text(admin_client.get("/admin/merchandising/new"))
    assert 'value="home_for_you"' in page and 'value="*"' in page
    assert 'value="product_recently_viewed"' not in page  # a memory aid takes no rules
    response = admin_client.post("/admin/merchandising/new", data=_form())
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/admin/merchandising"
    (rule,) = _rules(app)
    assert (rule.name, rule.widget, rule.kind, rule.target_kind, rule.brand, rule.factor) == (
        "Lumen week", "home_for_you", "boost", "brand", "Lumen", 1.5)
    assert (rule.starts_at, rule.ends_at, rule.is_active, rule.created_by) == (
        datetime(2026, 6, 1, 9), datetime(2026, 6, 8, 9), True, "boss@example.com")
    assert rule.product_ids is None and rule.positions is None and rule.category_id is None
    listing = _text(admin_client.get("/admin/merchandising"))
    row = re.search(r'<tr id="rule-%d">(.*?)</tr>' % rule.id, listing, re.S).group(1)
    assert "Lumen week" in row and "brand Lumen" in row and "boost ×1.5" in row and "ended" in row
    assert re.search(r'data-label="Impressions">0<', row)

    edit = f"/admin/merchandising/{rule.id}/edit"
    assert 'value="Lumen"' in _text(admin_client.get(edit))
    product_id = new_product(app)
    response = admin_client.post(edit, data=_form(kind="pin", target_kind="products", product_ids=f"{product_id}",
                                                  positions="2", factor="", ends_at="", widget="*"))
    assert response.status_code == 302
    (rule,) = _rules(app)
    assert (rule.kind, rule.widget, rule.product_ids, rule.positions, rule.factor, rule.brand, rule.ends_at) == (
        "pin", "*", [product_id], [2], None, None, None)
    assert f"#{product_id} at 2" in _text(admin_client.get("/admin/merchandising"))

    assert admin_client.post(f"/admin/merchandising/{rule.id}/deactivate").status_code == 302
    assert _rules(app)[0].is_active is False
    assert admin_client.post(f"/admin/merchandising/{rule.id}/deactivate").status_code == 302  # idempotent
    assert _rules(app)[0].is_active is False
    assert admin_client.post(f"/admin/merchandising/{rule.id}/activate").status_code == 302
    assert _rules(app)[0].is_active is True
    assert admin_client.post(f"/admin/merchandising/{rule.id}/delete").status_code == 302
    assert _rules(app) == []
    assert admin_client.post(f"/admin/merchandising/{rule.id}/delete").status_code == 404


def test_category_and_campaign_targets(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    campaign_id = new_campaign(app, category_id=category_id, name="Lamp week")
    assert admin_client.post("/admin/merchandising/new", data=_form(
        target_kind="category", category_id=str(category_id), kind="bury", factor="0.5")).status_code == 302
    assert admin_client.post("/admin/merchandising/new", data=_form(
        name="Lamp week boost", target_kind="campaign", campaign_id=str(campaign_id))).status_code == 302
    bury, boost = _rules(app)
    assert (bury.category_id, bury.brand, bury.factor) == (category_id, None, 0.5)
    assert (boost.campaign_id, boost.brand, boost.category_id) == (campaign_id, None, None)
    listing = _text(admin_client.get("/admin/merchandising"))
    assert "category Lamps and below" in listing and "campaign Lamp week" in listing


@pytest.mark.parametrize("overrides, field_message", [
    ({"factor": "0.5"}, "A boost multiplies by more than 1"),
    ({"factor": ""}, "Enter the factor"),
    ({"factor": "lots"}, "Not a valid float value"),
    ({"factor": "nan"}, "A boost multiplies by more than 1"),
    ({"kind": "bury", "factor": "1.5"}, "A bury multiplies by more than 0 and less than 1"),
    ({"kind": "teleport"}, "Not a valid choice"),
    ({"widget": "nowhere"}, "Not a valid choice"),
    ({"widget": "product_recently_viewed"}, "Not a valid choice"),
    ({"brand": "  "}, "Name the brand"),
    ({"target_kind": "category"}, "Choose a category"),
    ({"target_kind": "campaign", "campaign_id": "999"}, "Not a valid choice"),
    ({"kind": "pin", "factor": ""}, "A pin places products"),
    ({"kind": "exclude", "target_kind": "products", "product_ids": "12; drop"}, "Write whole numbers"),
    ({"kind": "exclude", "target_kind": "products", "product_ids": "424242"}, "No product has the id 424242"),
    ({"kind": "exclude", "target_kind": "products", "product_ids": ""}, "List the product ids"),
    ({"ends_at": "2026-05-01T09:00"}, "The rule must end after it starts"),
    ({"starts_at": ""}, "Enter when the rule starts"),
    ({"name": ""}, "Give the rule a name"),
])
def test_bad_input_comes_back_with_its_message_and_nothing_is_saved(app, admin_client, overrides, field_message):
    response = admin_client.post("/admin/merchandising/new", data=_form(**overrides))
    assert response.status_code == 422
    assert field_message in _text(response)
    assert _rules(app) == []


def test_pins_are_checked_against_the_widget_and_the_limit(app, admin_client):
    products = [new_product(app) for _ in range(5)]
    pin = {"kind": "pin", "target_kind": "products", "factor": "", "ends_at": ""}
    bad = [
        ({"product_ids": f"{products[0]}, {products[1]}", "positions": "1"}, "one position per pinned product"),
        ({"product_ids": f"{products[0]}, {products[1]}", "positions": "2, 2"}, "its own position"),
        ({"product_ids": f"{products[0]}", "positions": "9"}, "Positions run from 1 to 8"),
        ({"product_ids": f"{products[0]}, {products[0]}", "positions": "1, 2"}, "List each product once"),
        ({"product_ids": ", ".join(map(str, products[:4])), "positions": "1, 2, 3, 4"}, "Pin at most 3"),
    ]
    for overrides, message in bad:
        response = admin_client.post("/admin/merchandising/new", data=_form(**pin, **overrides))
        assert response.status_code == 422 and message in _text(response), message
    assert _rules(app) == []
    assert admin_client.post("/admin/merchandising/new", data=_form(
        **pin, widget="*", product_ids=f"{products[0]}, {products[1]}", positions="1, 2")).status_code == 302
    response = admin_client.post("/admin/merchandising/new", data=_form(
        **pin, product_ids=f"{products[2]}, {products[3]}", positions="3, 4"))  # 2 for all + 2 here > 3
    assert response.status_code == 422 and "home_for_you already has 2 pinned product(s)" in _text(response)
    # a pin in other dates, or switched off, does not count; switching it on checks again
    later = _form(**pin, product_ids=f"{products[2]}, {products[3]}", positions="3, 4", is_active=None)
    assert admin_client.post("/admin/merchandising/new", data=later).status_code == 302
    off = _rules(app)[-1]
    response = admin_client.post(f"/admin/merchandising/{off.id}/activate")
    assert response.status_code == 422 and "stays off" in _text(response)
    assert _rules(app)[-1].is_active is False


def test_only_admins_may_and_get_changes_nothing(app, client):
    product_id = new_product(app)
    with ctx(app) as session:
        rule = MerchandisingRule(name="Keep", widget="*", kind="exclude", target_kind="products",
                                 product_ids=[product_id], starts_at=datetime(2026, 1, 1))
        session.add(rule)
        session.commit()
        rule_id = rule.id
    pages = ["/admin/merchandising", "/admin/merchandising/new", f"/admin/merchandising/{rule_id}/edit",
             "/admin/merchandising/preview?widget=home_for_you"]
    posts = ["/admin/merchandising/new", f"/admin/merchandising/{rule_id}/edit",
             f"/admin/merchandising/{rule_id}/deactivate", f"/admin/merchandising/{rule_id}/delete"]
    for url in pages + posts:
        response = client.post(url, data=_form()) if url in posts else client.get(url)
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login", url
    _, email = new_customer(app)
    login(client, email)
    for url in pages:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, data=_form()).status_code == 403, url
    admin = browser_client(app)
    new_customer(app, "boss@example.com", admin=True)
    login(admin, "boss@example.com")
    assert admin.get("/admin/merchandising/new?name=x&kind=boost&brand=Lumen&factor=2").status_code == 200
    assert admin.get(f"/admin/merchandising/{rule_id}/deactivate").status_code == 405
    assert admin.get(f"/admin/merchandising/{rule_id}/delete").status_code == 405
    assert [(r.id, r.name, r.is_active) for r in _rules(app)] == [(rule_id, "Keep", True)]


def test_writes_need_a_csrf_token(app, app_config):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    new_customer(strict, "boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": "correct horse battery",
                                                "csrf_token": token}).status_code == 302
    assert client.post("/admin/merchandising/new", data=_form()).status_code == 400
    assert _rules(strict) == []
    token = TOKEN_INPUT.search(client.get("/admin/merchandising/new").get_data(as_text=True)).group(1)
    assert client.post("/admin/merchandising/new", data={**_form(), "csrf_token": token}).status_code == 302
    (rule,) = _rules(strict)
    assert client.post(f"/admin/merchandising/{rule.id}/delete").status_code == 400
    assert client.post(f"/admin/merchandising/{rule.id}/deactivate").status_code == 400
    assert [(r.id, r.is_active) for r in _rules(strict)] == [(rule.id, True)]
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()

"""Admin -> Campaigns: the list with its click-through, create, edit, activate/deactivate."""
from __future__ import annotations

import html as html_lib
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from tests import factories
from tests.storefront.support.campaigns import banner, new_campaign
from tests.helpers import BROWSER_UA
from storefront import create_app
from storefront.extensions import db
from storefront.models import Campaign
from tests.storefront.support.shop import counts, ctx, login, new_category, new_customer


def _form(**overrides) -> dict[str, str]:
    form = {
        "name": "Summer of lamps", "target_category_id": "0", "target_brand": "Lumen", "promo_type": "percent_off",
        "promo_value": "20", "headline": "20% off every Lumen lamp", "body": "Until the end of August.",
        "starts_at": "2026-06-01T09:00", "ends_at": "2026-08-31T23:59", "is_active": "y",
    }
    form.update(overrides)
    return form


def _campaigns(app) -> list[Campaign]:
    with ctx(app) as session:
        rows = list(session.scalars(select(Campaign).order_by(Campaign.id)))
        session.expunge_all()
        return rows


def _text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def test_only_admins_get_in(app, client):
    campaign_id = new_campaign(app, brand="Acme")
    pages = ["/admin/campaigns", "/admin/campaigns/new", f"/admin/campaigns/{campaign_id}/edit"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url
    _, email = new_customer(app)
    login(client, email)
    for url in pages:
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/campaigns/new", data=_form()).status_code == 403
    assert client.post(f"/admin/campaigns/{campaign_id}/deactivate").status_code == 403
    assert len(_campaigns(app)) == 1 and _campaigns(app)[0].is_active


def test_the_list_shows_impressions_clicks_and_ctr(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    shown_id = new_campaign(app, category_id=category_id, name="Lamp week")
    for _ in range(4):
        assert banner(admin_client.get("/")).campaign_id == shown_id
    admin_client.get(banner(admin_client.get("/")).href)  # 5 impressions, 1 click
    html = _text(admin_client.get("/admin/campaigns"))
    row = re.search(r'<tr id="campaign-%d">(.*?)</tr>' % shown_id, html, re.S).group(1)
    assert "Lamp week" in row and "Lamps" in row and "15% off" in row and "live" in row
    assert re.search(r'data-label="Impressions">5<', row) and re.search(r'data-label="Clicks">1<', row)
    assert "20.00%" in row
    assert 'href="/admin/campaigns"' in _text(admin_client.get("/admin/"))  # linked from the admin home


def test_creating_a_campaign(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    form = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    assert "Lamps" in form and "known-brands" in form
    response = admin_client.post("/admin/campaigns/new", data=_form(target_category_id=str(category_id)))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/campaigns")
    (campaign,) = _campaigns(app)
    assert (campaign.name, campaign.target_category_id, campaign.target_brand) == ("Summer of lamps", category_id, "Lumen")
    assert (campaign.offer, campaign.offer_kind, campaign.is_active) == ("20% off", "percent_off", True)
    assert (campaign.promo_type, campaign.promo_value, campaign.promo_buy) == ("percent_off", 20, None)
    assert campaign.starts_at == datetime(2026, 6, 1, 9, 0) and campaign.ends_at == datetime(2026, 8, 31, 23, 59)
    assert "Campaign “Summer of lamps” saved." in _text(admin_client.get("/admin/campaigns"))


@pytest.mark.parametrize("overrides, field_message", [
    ({"target_brand": "", "target_category_id": "0"}, "Choose a category or a brand"),
    ({"ends_at": "2026-06-01T09:00"}, "The campaign must end after it starts."),
    ({"ends_at": "2026-05-01T09:00"}, "The campaign must end after it starts."),
    ({"name": ""}, "Give the campaign a name."),
    ({"promo_value": ""}, "Enter a percentage above 0, at most 100."),
    ({"promo_value": "120"}, "Enter a percentage above 0, at most 100."),
    ({"promo_value": "lots"}, "Not a valid decimal value."),
    ({"promo_type": "amount_off", "promo_value": "-5"}, "Enter the amount taken off each item"),
    ({"promo_type": "buy_n_get_one", "promo_buy": "0"}, "Enter how many to buy, 1 to 99."),
    ({"promo_type": "buy_n_get_one", "promo_buy": "x"}, "Not a valid integer value."),
    ({"promo_type": "mystery"}, "Not a valid choice"),
    ({"starts_at": "tomorrow"}, "Not a valid datetime value"),
    ({"starts_at": ""}, "Enter when the campaign starts."),
    ({"target_category_id": "999"}, "Not a valid choice"),
    ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
])
def test_invalid_values_re_render_the_form_and_keep_what_was_typed(app, admin_client, overrides, field_message):
    before = counts(app)
    response = admin_client.post("/admin/campaigns/new", data=_form(**overrides))
    html = _text(response)
    assert response.status_code == 422
    assert field_message in html
    assert 'aria-invalid="true"' in html
    for key in ("headline", "body"):
        value = _form(**overrides)[key]
        if value:
            assert value in html, key
    assert _campaigns(app) == [] and counts(app) == before


def test_a_duplicate_name_is_refused_whatever_the_case(app, admin_client):
    new_campaign(app, brand="Acme", name="Summer of Lamps")
    response = admin_client.post("/admin/campaigns/new", data=_form(name="summer of lamps"))
    assert response.status_code == 422
    assert "Another campaign already has this name." in _text(response)
    assert len(_campaigns(app)) == 1


def test_editing_a_campaign(app, admin_client):
    category_id, _ = new_category(app, "Lamps")
    campaign_id = new_campaign(app, category_id=category_id, name="Lamp week", offer="10% off")
    page = _text(admin_client.get(f"/admin/campaigns/{campaign_id}/edit"))
    assert 'value="Lamp week"' in page and 'value="15.00"' in page
    assert re.search(r'<option selected value="%d">Lamps</option>' % category_id, page)
    data = _form(name="Lamp week", target_category_id=str(category_id), target_brand="", promo_type="free_shipping",
                 promo_value="", headline="Lamps, delivered free", is_active="")
    del data["is_active"]  # an unticked box is not sent
    response = admin_client.post(f"/admin/campaigns/{campaign_id}/edit", data=data)
    assert response.status_code == 302
    (campaign,) = _campaigns(app)
    assert (campaign.offer, campaign.offer_kind, campaign.target_brand, campaign.is_active) == (
        "Free shipping", "free_shipping", None, False)
    assert (campaign.promo_type, campaign.promo_value) == ("free_shipping", None)
    # Keeping its own name is not a duplicate; an invalid edit changes nothing.
    bad = admin_client.post(f"/admin/campaigns/{campaign_id}/edit", data=_form(name="Lamp week", ends_at="2020-01-01T00:00"))
    assert bad.status_code == 422 and _campaigns(app)[0].offer == "Free shipping"
    assert admin_client.get("/admin/campaigns/424242/edit").status_code == 404


def test_activating_and_deactivating_is_a_post(app, admin_client):
    campaign_id = new_campaign(app, brand="Acme", name="Acme days")
    assert admin_client.get(f"/admin/campaigns/{campaign_id}/deactivate").status_code == 405
    response = admin_client.post(f"/admin/campaigns/{campaign_id}/deactivate")
    assert response.status_code == 302 and not _campaigns(app)[0].is_active
    admin_client.post(f"/admin/campaigns/{campaign_id}/deactivate")  # twice: still off, not toggled
    assert not _campaigns(app)[0].is_active
    html = _text(admin_client.get("/admin/campaigns"))
    assert "Campaign “Acme days” deactivated." in html and ">Activate<" in html
    assert banner(admin_client.get("/")) is None
    admin_client.post(f"/admin/campaigns/{campaign_id}/activate")
    assert _campaigns(app)[0].is_active and banner(admin_client.get("/")).campaign_id == campaign_id
    assert admin_client.post("/admin/campaigns/424242/activate").status_code == 404
    assert admin_client.post(f"/admin/campaigns/{campaign_id}/explode").status_code == 404


@pytest.fixture
def strict_app(app, app_config):
    """The app with CSRF protection on, on the same database as ``app`` (as in test_csrf)."""
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    yield strict
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_posts_without_a_csrf_token_are_refused(app, strict_app):
    new_customer(app, "boss@example.com", admin=True)
    campaign_id = new_campaign(app, brand="Acme")
    client = strict_app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = _token(client.get("/account/login").get_data(as_text=True))
    client.post("/account/login", data={"email": "boss@example.com", "password": factories.PASSWORD, "csrf_token": token})
    assert client.post(f"/admin/campaigns/{campaign_id}/deactivate").status_code == 400
    assert client.post("/admin/campaigns/new", data=_form()).status_code == 400
    assert _campaigns(app)[0].is_active and len(_campaigns(app)) == 1
    token = _token(client.get("/admin/campaigns").get_data(as_text=True))
    assert client.post(f"/admin/campaigns/{campaign_id}/deactivate", data={"csrf_token": token}).status_code == 302
    assert not _campaigns(app)[0].is_active
    token = _token(client.get("/admin/campaigns/new").get_data(as_text=True))
    assert client.post("/admin/campaigns/new", data={**_form(), "csrf_token": token}).status_code == 302
    assert len(_campaigns(app)) == 2

"""Merchandising rules on a real shop: a rule saved in the admin changes the widget on the next
page (at no extra statement on a warm page) and the impression records it; a boost, a bury and an
exclusion steer a model-filled widget; rules never break the business rules; a rule out of its
dates does nothing; a campaign or category target covers the subcategories."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from storefront.catalog import snapshot
from storefront.extensions import db
from storefront.models import MerchandisingRule, Product
from storefront.models.common import utcnow
from storefront.recommendations.merchandising.serving import resolve
from tests.helpers import browser_client
from tests.storefront.support.campaigns import new_campaign
from tests.storefront.support.recommendations import impressions, seed_small_shop, shelves, train_and_publish
from tests.storefront.support.shop import add_to_cart, ctx, new_category, new_product, set_product


@pytest.fixture
def shop(app, runner):
    seed_small_shop(runner)
    train_and_publish(app)
    with ctx(app) as session:
        rows = session.execute(select(Product.id, Product.category_id, Product.brand)
                               .where(Product.active.is_(True), Product.stock > 0)).all()
    return {pid: (category, brand) for pid, category, brand in rows}


def _form(**values) -> dict[str, str]:
    return {"name": "rule", "widget": "home_for_you", "category_id": "0", "campaign_id": "0", "product_ids": "",
            "positions": "", "factor": "", "brand": "", "ends_at": "", "is_active": "y",
            "starts_at": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"), **values}


def _home(client) -> list[int]:
    return shelves(client.get("/"))["home_for_you"].product_ids


def _rule_ids(app) -> list[int]:
    with ctx(app) as session:
        return list(session.scalars(select(MerchandisingRule.id).order_by(MerchandisingRule.id)))


def _latest(app, widget: str):
    return [i for i in impressions(app) if i.widget == widget][-1]


def _shopper(app, shop):
    shopper = browser_client(app)
    for product_id in sorted(shop)[:3]:
        shopper.get(f"/products/{product_id}")
    return shopper


def test_a_pin_saved_in_the_admin_shows_on_the_next_page_and_its_impression_records_it(app, admin_client, shop):
    shopper = _shopper(app, shop)
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_r: statements.append(sql))
    _home(shopper)
    statements.clear()
    before = _home(shopper)
    warm = len(statements)
    assert len(before) == 8 and _latest(app, "home_for_you").rules is None
    pinned = next(p for p in sorted(shop, reverse=True) if p not in before and p not in sorted(shop)[:3])
    response = admin_client.post("/admin/merchandising/new", data=_form(
        kind="pin", target_kind="products", product_ids=str(pinned), positions="1"))
    assert response.status_code == 302
    (rule_id,) = _rule_ids(app)

    _home(shopper)  # the first page after the change reads the snapshot and the rules again
    statements.clear()
    after = _home(shopper)
    assert len(statements) == warm, statements
    assert after == [pinned, *before[:7]]  # the pin first, the model's order after it
    latest = _latest(app, "home_for_you")
    assert latest.items == after and latest.rules == {str(rule_id): [0]}
    assert "Featured by the shop" in shopper.get("/").get_data(as_text=True)
    listing = admin_client.get("/admin/merchandising").get_data(as_text=True)
    assert f'<tr id="rule-{rule_id}">' in listing
    assert '<td data-label="Impressions">3</td>' in listing  # the three pages since the rule


def test_boost_bury_and_exclude_steer_a_model_widget(app, admin_client, shop):
    shopper = _shopper(app, shop)
    before = _home(shopper)
    last_brand = shop[before[-1]][1]
    admin_client.post("/admin/merchandising/new", data=_form(target_kind="brand", kind="boost", brand=last_brand,
                                                            factor="100"))
    boosted = _home(shopper)
    assert shop[boosted[0]][1] == last_brand and boosted.index(before[-1]) < 7  # moved up
    (boost_id,) = _rule_ids(app)
    record = _latest(app, "home_for_you").rules
    assert 0 in record[str(boost_id)] and boosted.index(before[-1]) in record[str(boost_id)]
    admin_client.post(f"/admin/merchandising/{boost_id}/delete")
    assert _home(shopper) == before

    first_brand = shop[before[0]][1]
    admin_client.post("/admin/merchandising/new", data=_form(target_kind="brand", kind="bury", brand=first_brand,
                                                            factor="0.01"))
    buried = _home(shopper)
    assert shop[buried[0]][1] != first_brand and before[0] not in buried[:1]
    admin_client.post(f"/admin/merchandising/{_rule_ids(app)[-1]}/deactivate")
    assert _home(shopper) == before

    category = shop[before[0]][0]
    admin_client.post("/admin/merchandising/new", data=_form(widget="*", target_kind="category",
                                                            kind="exclude", category_id=str(category)))
    excluded = _home(shopper)
    assert len(excluded) == 8 and all(shop[p][0] != category for p in excluded)
    assert _latest(app, "home_for_you").rules == {str(_rule_ids(app)[-1]): []}


def test_rules_never_break_the_business_rules(app, admin_client, shop):
    """Pinned: the page's own product, a product in the cart, an out-of-stock one: none is
    shown, in any widget of the page; back in stock, the third takes its slot."""
    shopper = _shopper(app, shop)
    page_product, in_cart, sold_out = sorted(shop)[10], sorted(shop)[11], sorted(shop)[12]
    assert add_to_cart(shopper, in_cart).status_code == 302
    set_product(app, sold_out, stock=0)
    admin_client.post("/admin/merchandising/new", data=_form(
        widget="*", kind="pin", target_kind="products", product_ids=f"{page_product}, {in_cart}, {sold_out}",
        positions="1, 2, 3"))
    (rule_id,) = _rule_ids(app)
    page = shelves(shopper.get(f"/products/{page_product}"))
    shown = [p for shelf in page.values() for p in shelf.product_ids]
    assert page and not {page_product, in_cart, sold_out} & set(shown)
    assert all(len(shelf.product_ids) == 8 for name, shelf in page.items() if name != "product_recently_viewed")
    assert all(str(rule_id) not in (i.rules or {}) for i in impressions(app))
    set_product(app, sold_out, stock=5)
    page = shelves(shopper.get(f"/products/{page_product}"))
    assert page["product_also_bought"].product_ids[2] == sold_out  # position 3; the others still barred
    assert _latest(app, "product_also_bought").rules == {str(rule_id): [2]}
    assert sold_out not in page["product_similar"].product_ids  # no duplicates on a page


def test_a_rule_out_of_its_dates_does_nothing(app, shop):
    shopper = _shopper(app, shop)
    before = _home(shopper)
    now = utcnow()
    with ctx(app) as session:
        for starts, ends in ((now - timedelta(days=9), now - timedelta(days=2)), (now + timedelta(days=1), None)):
            session.add(MerchandisingRule(name="idle", widget="home_for_you", kind="pin", target_kind="products",
                                          product_ids=[before[-1]], positions=[1], starts_at=starts, ends_at=ends))
            session.add(MerchandisingRule(name="idle", widget="*", kind="exclude", target_kind="products",
                                          product_ids=[before[0]], starts_at=starts, ends_at=ends))
        session.commit()
    assert _home(shopper) == before
    assert _latest(app, "home_for_you").rules is None


def test_category_and_campaign_targets_cover_the_subcategories(app):
    parent_id, _ = new_category(app, "Lighting")
    child_id, _ = new_category(app, "Desk lamps", parent_id=parent_id)
    campaign_id = new_campaign(app, category_id=parent_id, brand="Lumen", name="Lumen lights")
    lamp = new_product(app, child_id, brand="Lumen")
    with app.app_context():
        catalog = snapshot.current()
        card = catalog.cards([lamp])[0]
        starts = utcnow() - timedelta(days=3)
        by_category = resolve(MerchandisingRule(id=1, widget="*", kind="boost", target_kind="category",
                                                category_id=parent_id, factor=2.0, starts_at=starts, is_active=True),
                              catalog)
        by_campaign = resolve(MerchandisingRule(id=2, widget="*", kind="boost", target_kind="campaign",
                                                campaign_id=campaign_id, factor=2.0, starts_at=starts, is_active=True),
                              catalog)
        assert by_category.matches(card) and by_campaign.matches(card)
        assert by_campaign.brand == "Lumen" and by_campaign.starts_at > starts  # within the campaign's dates too
        assert by_campaign.ends_at is not None and by_campaign.in_force(utcnow())
        assert resolve(MerchandisingRule(id=3, widget="*", kind="boost", target_kind="campaign", campaign_id=999,
                                         factor=2.0, starts_at=starts, is_active=True), catalog) is None


def test_the_admin_preview_shows_a_widget_with_the_rules_applied_and_records_nothing(app, admin_client, shop):
    page_product, pinned = sorted(shop)[20], sorted(shop)[-1]
    admin_client.post("/admin/merchandising/new", data=_form(
        name="Hero lamp", widget="product_also_bought", kind="pin", target_kind="products",
        product_ids=str(pinned), positions="2"))
    (rule_id,) = _rule_ids(app)
    shown_before = len(impressions(app))
    response = admin_client.get(f"/admin/merchandising/preview?widget=product_also_bought&product={page_product}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    row = html.split('<tr id="preview-2">', 1)[1].split("</tr>", 1)[0]
    assert f"#{pinned}<" in row and f"Hero lamp (#{rule_id})" in row and "<code>pinned</code>" in row
    assert f"#{page_product}<" not in html  # the page's own product, never
    assert len(impressions(app)) == shown_before
    assert admin_client.get("/admin/merchandising/preview?widget=home_for_you").status_code == 200  # a new visitor
    for bad in ("widget=nope", "widget=home_for_you&product=x", "widget=home_for_you&customer=424242",
                "widget=home_for_you&product=424242"):
        assert admin_client.get(f"/admin/merchandising/preview?{bad}").status_code == 422, bad

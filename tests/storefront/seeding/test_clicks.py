"""``flask shop seed`` writes demo campaigns and a click log the ranker can trust: every click
points at an impression that showed its item at its position, to the same shopper and session."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.storefront.support.campaigns import banner, banner_impressions
from tests.helpers import reset_postgres_schema
from storefront.extensions import db
from storefront.models import CLICK, Campaign, Event, Impression, Visitor
from storefront.models.common import utcnow

SMALL = ["shop", "seed", "--products", "200", "--categories", "10", "--customers", "200", "--anonymous", "100",
         "--events", "20000", "--days", "60", "--end-date", "2026-01-01", "--b2b-visitors", "0"]


def _seed(runner, *extra) -> str:
    result = runner.invoke(args=[*SMALL, *extra])
    assert result.exit_code == 0, result.output
    return result.output


def _impressions() -> dict[int, Impression]:
    return {i.id: i for i in db.session.scalars(select(Impression))}


def test_the_seed_writes_campaigns_impressions_and_consistent_clicks(runner, app_ctx):
    output = _seed(runner)
    assert "campaigns and click logs" in output
    campaigns = db.session.scalars(select(Campaign)).all()
    assert 6 <= len(campaigns) <= 12
    assert any(c.target_brand for c in campaigns) and any(c.target_category_id for c in campaigns)
    assert {c.offer_kind for c in campaigns} == {"percent_off", "free_shipping", "bundle", "new_arrivals"}

    impressions = _impressions()
    banners = [i for i in impressions.values() if i.widget == "home_banner"]
    widgets = [i for i in impressions.values() if i.widget != "home_banner"]
    sessions = db.session.scalar(select(func.count(func.distinct(Event.session_id))).where(Event.type == "view"))
    assert 1.0 < len(widgets) / sessions < 1.3 and 0.3 < len(banners) / sessions < 0.55
    assert {i.widget for i in widgets} == {"home_for_you", "product_similar", "product_also_bought",
                                           "home_trending", "cart_for_you"}
    assert all(i.strategy == "seed" and i.model_version is None and i.ranking is None for i in impressions.values())
    assert all(i.visitor_id is not None and i.session_id and i.device for i in impressions.values())
    assert all(len(i.items) == 8 == len(set(i.items)) and i.campaign_id is None for i in widgets)
    assert all(i.items == [] and i.campaign_id in {c.id for c in campaigns} for i in banners)
    live = {c.id: c for c in campaigns}
    assert all(live[i.campaign_id].starts_at <= i.created_at < live[i.campaign_id].ends_at for i in banners)

    clicks = db.session.scalars(select(Event).where(Event.type == CLICK)).all()
    item_clicks = [c for c in clicks if c.product_id is not None]
    banner_clicks = [c for c in clicks if c.product_id is None]
    assert 0.015 < len(item_clicks) / (8 * len(widgets)) < 0.045
    assert 0.02 < len(banner_clicks) / len(banners) < 0.08
    for click in clicks:
        shown = impressions[click.impression_id]
        assert (click.visitor_id, click.customer_id) == (shown.visitor_id, shown.customer_id)
        assert (click.session_id, click.device) == (shown.session_id, shown.device)
        assert 2 <= (click.occurred_at - shown.created_at).total_seconds() <= 40
        assert click.properties["widget"] == shown.widget
        if shown.widget == "home_banner":
            assert click.product_id is None and click.properties == {
                "position": 0, "widget": "home_banner", "campaign_id": shown.campaign_id}
        else:
            assert shown.items[click.properties["position"]] == click.product_id
    # The seeded session ids are the shoppers' own browsing sessions.
    visitor_sessions = set(db.session.execute(select(Event.visitor_id, Event.session_id).where(Event.type == "view")))
    assert all((i.visitor_id, i.session_id) in visitor_sessions for i in impressions.values())


def _snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(Visitor.token, Impression.widget, Impression.items, Impression.created_at, Campaign.name)
        .join(Visitor, Impression.visitor_id == Visitor.id)
        .outerjoin(Campaign, Impression.campaign_id == Campaign.id)
        .order_by(Impression.id)
    )
    return [(token, widget, tuple(items), at, name) for token, widget, items, at, name in rows]


def test_the_click_log_is_deterministic_for_a_seed(runner, app_ctx):
    _seed(runner, "--seed", "3")
    first = _snapshot()
    first_clicks = db.session.scalar(select(func.count()).select_from(Event).where(Event.type == CLICK))
    db.session.remove()
    reset_postgres_schema()
    db.drop_all()
    db.create_all()
    _seed(runner, "--seed", "3")
    assert _snapshot() == first
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.type == CLICK)) == first_clicks


def test_a_freshly_seeded_shop_shows_a_live_banner(app, client, runner):
    today = utcnow().strftime("%Y-%m-%d")
    args = [a if a != "2026-01-01" else today for a in SMALL]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    shown = banner(client.get("/"))
    assert shown is not None and shown.impression_id is not None
    latest = banner_impressions(app)[-1]
    assert (latest.id, latest.strategy, latest.campaign_id) == (shown.impression_id, "rules", shown.campaign_id)

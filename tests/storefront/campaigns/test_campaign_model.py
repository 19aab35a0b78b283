"""The ``Campaign`` table's rules (CHECK and UNIQUE constraints), ``is_live`` and the live query."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from tests import factories
from storefront.extensions import db
from storefront.models import Campaign
from storefront.campaigns import banner as campaigns

START = datetime(2026, 3, 1, 9, 0)


def _campaign(**overrides) -> Campaign:
    values = {
        "name": "Spring sale", "target_category_id": None, "target_brand": "Acme", "offer": "20% off",
        "offer_kind": "percent_off", "headline": "20% off Acme", "body": "While it lasts.",
        "starts_at": START, "ends_at": START + timedelta(days=14),
    }
    values.update(overrides)
    return Campaign(**values)


def _rejected(campaign: Campaign) -> None:
    db.session.add(campaign)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_a_campaign_needs_a_category_or_a_brand(app_ctx):
    _rejected(_campaign(target_brand=None))
    _rejected(_campaign(target_brand=""))
    category = factories.category("Shoes")
    for target in ({"target_category_id": category.id, "target_brand": None},
                   {"target_brand": "Acme"}, {"target_category_id": category.id, "target_brand": "Acme"}):
        db.session.add(_campaign(name=f"ok {sorted(target.items())}", **target))
        db.session.flush()
    db.session.commit()
    assert db.session.query(Campaign).count() == 3


def test_dates_kind_and_name_are_enforced(app_ctx):
    _rejected(_campaign(ends_at=START))
    _rejected(_campaign(ends_at=START - timedelta(hours=1)))
    _rejected(_campaign(offer_kind="mystery_box"))
    db.session.add(_campaign())
    db.session.commit()
    _rejected(_campaign())  # the same name again
    _rejected(_campaign(target_category_id=10_000, name="No such category"))


def test_is_live_within_its_dates_and_only_when_active():
    campaign = _campaign(is_active=True)
    assert campaign.is_live(START) and campaign.is_live(START + timedelta(days=13, hours=23))
    assert not campaign.is_live(START - timedelta(seconds=1))
    assert not campaign.is_live(START + timedelta(days=14))  # the end is exclusive
    campaign.is_active = False
    assert not campaign.is_live(START + timedelta(days=1))


def test_live_campaigns_leave_out_ended_future_and_switched_off_ones(app_ctx):
    now = START + timedelta(days=3)
    db.session.add_all([
        _campaign(name="live"),
        _campaign(name="ended", starts_at=START - timedelta(days=30), ends_at=START),
        _campaign(name="future", starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=9)),
        _campaign(name="off", is_active=False),
    ])
    db.session.commit()
    assert [c.name for c in campaigns.live_campaigns(now)] == ["live"]
    assert campaigns.live_campaigns(START - timedelta(days=40)) == []

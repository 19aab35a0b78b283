"""Screening flags scripted-looking visitors; popularity and training leave them out."""
from __future__ import annotations

from datetime import timedelta

from storefront.extensions import db
from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Event, Visitor
from storefront.models.common import utcnow
from storefront.tracking.screening import COHORT, RATE, screen_visitors
from storefront.training.data import load_events_frame
from tests import factories

NOW = utcnow()


def _visitor(token: str, address_key: str | None = None, created_at=None) -> Visitor:
    visitor = Visitor(token=token.ljust(32, "x"), address_key=address_key, created_at=created_at or NOW - timedelta(hours=1))
    db.session.add(visitor)
    db.session.flush()
    return visitor


def _event(visitor: Visitor, product, kind: str, when) -> None:
    db.session.add(Event(visitor_id=visitor.id, product_id=product.id, type=kind, occurred_at=when))


def _flags() -> dict[str, str | None]:
    return {v.token.rstrip("x"): v.flag_reason for v in db.session.query(Visitor).order_by(Visitor.id)}


def test_a_visitor_faster_than_a_person_is_flagged(app_ctx):
    products = [factories.product(name=f"P{i}") for i in range(30)]
    fast, reader = _visitor("fast"), _visitor("reader")
    start = NOW - timedelta(hours=2)
    for i, product in enumerate(products):
        _event(fast, product, VIEW, start + timedelta(seconds=2 * i))  # 30 pages in a minute
    for i, product in enumerate(products[:15]):
        _event(reader, product, VIEW, start + timedelta(seconds=40 * i))  # one page every 40 s
    db.session.commit()
    report = screen_visitors(NOW)
    assert report.summary() == {RATE: 1, COHORT: 0}
    assert _flags() == {"fast": RATE, "reader": None}


def test_a_cohort_of_new_visitors_from_one_address_pushing_one_product_is_flagged(app_ctx):
    target, other = factories.product(name="Target"), factories.product(name="Other")
    start = NOW - timedelta(hours=3)
    for i in range(5):  # five scripted sessions, a minute apart, from one address
        visitor = _visitor(f"bot{i}", "addr-1", start + timedelta(minutes=i))
        _event(visitor, target, VIEW, start + timedelta(minutes=i, seconds=5))
        _event(visitor, target, ADD_TO_CART, start + timedelta(minutes=i, seconds=9))
    # An office behind one address: five people, each on a different product.
    products = [factories.product(name=f"Desk {i}") for i in range(5)]
    for i, product in enumerate(products):
        _event(_visitor(f"office{i}", "addr-2", start + timedelta(minutes=i)), product, VIEW, start + timedelta(minutes=i))
    # A real surge: six new visitors on one product within the hour, from six addresses.
    for i in range(6):
        at = start + timedelta(minutes=3 * i)
        _event(_visitor(f"fan{i}", f"addr-fan-{i}", at), other, VIEW, at)
    # Four from one address on one product, but hours apart: never within the window.
    slow = factories.product(name="Slow")
    for i in range(4):
        at = start - timedelta(hours=3 * i)
        _event(_visitor(f"slow{i}", "addr-3", at), slow, VIEW, at)
    db.session.commit()
    report = screen_visitors(NOW)
    assert report.summary() == {RATE: 0, COHORT: 5}
    flags = _flags()
    assert {k for k, v in flags.items() if v == COHORT} == {f"bot{i}" for i in range(5)}


def test_a_cohort_spread_over_a_handful_of_addresses_is_flagged_too(app_ctx):
    target = factories.product(name="Target")
    start = NOW - timedelta(hours=1)
    for i in range(8):  # eight sessions within a minute from four addresses: two each
        at = start + timedelta(seconds=7 * i)
        _event(_visitor(f"bot{i}", f"addr-{i % 4}", at), target, ADD_TO_CART, at)
    db.session.commit()
    assert screen_visitors(NOW).summary() == {RATE: 0, COHORT: 8}


def test_buyers_are_never_flagged(app_ctx):
    target = factories.product(name="Target")
    start = NOW - timedelta(hours=1)
    for i in range(5):
        visitor = _visitor(f"fan{i}", "addr-9", start + timedelta(minutes=i))
        _event(visitor, target, VIEW, start + timedelta(minutes=i))
        if i < 2:
            _event(visitor, target, TRANSACTION, start + timedelta(minutes=i, seconds=30))
    db.session.commit()
    screen_visitors(NOW)
    flags = _flags()
    assert flags["fan0"] is None and flags["fan1"] is None  # bought: never flagged
    assert {flags[f"fan{i}"] for i in range(2, 5)} == {None}  # three left: under the cohort minimum


def test_training_data_leaves_flagged_visitors_out(app_ctx):
    product = factories.product(name="Target")
    person, bot = _visitor("person"), _visitor("bot")
    bot.flagged_at, bot.flag_reason = NOW, COHORT
    _event(person, product, VIEW, NOW - timedelta(minutes=5))
    _event(bot, product, ADD_TO_CART, NOW - timedelta(minutes=5))
    db.session.commit()
    frame = load_events_frame()
    assert frame["user_id"].tolist() == [f"v{person.id}"]

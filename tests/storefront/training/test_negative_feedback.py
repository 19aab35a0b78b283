"""Cancellations and returns reach training as negative feedback: the events Admin -> Orders
writes are read with the shop's other events, weighed with CANCEL_EVENT_WEIGHT and
RETURN_EVENT_WEIGHT (0 switches them off), and a product cancelled by everyone who bought it
loses its weight in the matrix the job publishes."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ml.artifacts import read_active
from ml.data import build_interactions
from ml.serving import LoadedVersion
from storefront.extensions import db
from storefront.models import TRANSACTION, Event, Order, OrderLine
from storefront.models.order_history import CANCEL, RETURN
from storefront.orders import management
from storefront.tracking.visitors import ml_item_id, ml_user_id
from storefront.training import job as training
from storefront.training.data import event_weights, load_events_frame
from tests.storefront.support.orders import line_ids, place_order
from tests.storefront.support.shop import ctx, new_customer, new_product


@pytest.fixture
def shop(app):
    """Four customers each buy the kettle and the toaster (one order each); every kettle order is
    cancelled, and one toaster is returned."""
    kettle, toaster = new_product(app, name="Kettle", stock=50), new_product(app, name="Toaster", stock=50)
    buyers, kettle_orders = [], []
    for n in range(4):
        customer_id, _ = new_customer(app, f"buyer{n}@example.com")
        buyers.append(customer_id)
        kettle_orders.append(place_order(app, {kettle: 1}, customer_id=customer_id))
        toaster_order = place_order(app, {toaster: 1}, customer_id=customer_id, status="delivered")
        if n == 0:
            returned = toaster_order
    with ctx(app) as session:
        for order_id in kettle_orders:
            management.change_status(session.get(Order, order_id), "cancel", "boss@example.com")
        management.refund(session.get(Order, returned), {line_ids(app, returned)[0]: 1}, True, "boss@example.com")
        session.commit()
    return {"kettle": kettle, "toaster": toaster, "buyers": buyers}


def _column(app, product_id: int) -> dict[str, float]:
    """user -> strength of ``product_id`` in the matrix built from the shop's events."""
    with app.app_context():
        frame, weights = load_events_frame(), event_weights()
    matrix, id_map = build_interactions(frame, weights)
    column = matrix[:, id_map.item_index(ml_item_id(product_id))].tocoo()
    return {str(id_map.user_ids[row]): float(value) for row, value in zip(column.row, column.data)}


def test_training_reads_the_cancel_and_return_events_of_the_admin(app, shop):
    with app.app_context():
        frame = load_events_frame()
        assert sorted(frame["event"].value_counts().items()) == [(CANCEL, 4), (RETURN, 1), (TRANSACTION, 8)]
        weights = training.training_config().event_weights
    assert (weights[CANCEL], weights[RETURN]) == (-20.0, -25.0)
    cancels = frame[frame["event"] == CANCEL]
    assert set(cancels["user_id"]) == {ml_user_id(None, customer) for customer in shop["buyers"]}
    assert set(cancels["item_id"]) == {ml_item_id(shop["kettle"])} and cancels["basket_id"].notna().all()


def test_a_product_cancelled_by_everyone_who_bought_it_loses_its_weight(app, shop):
    assert _column(app, shop["kettle"]) == {}
    toaster = _column(app, shop["toaster"])
    assert len(toaster) == 3 and set(toaster.values()) == {10.0}  # the returned one is gone, the rest kept


@pytest.mark.parametrize("setting, kept", [("CANCEL_EVENT_WEIGHT", "kettle"), ("RETURN_EVENT_WEIGHT", "toaster")])
def test_a_weight_of_0_switches_it_off(app, shop, setting, kept):
    app.config[setting] = 0
    assert len(_column(app, shop[kept])) == 4


def test_a_negative_setting_counts_as_its_size(app, shop):
    app.config["CANCEL_EVENT_WEIGHT"] = -20
    with app.app_context():
        assert event_weights()[CANCEL] == -20.0
    app.config["CANCEL_EVENT_WEIGHT"] = float("nan")
    with app.app_context(), pytest.raises(ValueError, match="CANCEL_EVENT_WEIGHT"):
        event_weights()


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


def test_the_published_version_no_longer_counts_cancelled_purchases(seeded):
    """On the demo shop: every order holding its best seller is cancelled through the service;
    the job's published rows hold no trace of those buyers' purchase of it."""
    app = seeded
    with app.app_context():
        best = db.session.execute(
            select(OrderLine.product_id).group_by(OrderLine.product_id)
            .order_by(db.func.count().desc(), OrderLine.product_id).limit(1)).scalar_one()
        orders = list(db.session.scalars(select(Order).join(OrderLine).where(OrderLine.product_id == best)))
        buyers = set()
        for order in orders:  # the buyers as training names them: from their purchase events
            buyers |= {ml_user_id(e.visitor_id, e.customer_id) for e in db.session.scalars(
                select(Event).where(Event.order_id == order.id, Event.type == TRANSACTION))}
            management.change_status(order, "cancel", "boss@example.com")
        db.session.commit()
        assert db.session.scalar(select(db.func.count()).select_from(Event).where(Event.type == CANCEL)) >= len(orders)
        run = training.run_training()
        assert run.status == "succeeded", run.error
        version = LoadedVersion.load(Path(app.config["MODEL_DIR"]) / read_active(Path(app.config["MODEL_DIR"])))
        frame = load_events_frame()
    weights = version.event_weights
    assert weights[CANCEL] == -20.0 and weights[TRANSACTION] <= 20.0
    # what each buyer's browsing of it (views, carts) weighs: all that may be left of the pair
    theirs = frame[(frame["item_id"] == ml_item_id(best)) & frame["user_id"].isin(buyers)]
    browsing = theirs.assign(w=theirs["event"].map(lambda kind: max(weights.get(kind, 0.0), 0.0) if kind != TRANSACTION
                                                   else 0.0)).groupby("user_id")["w"].sum()
    column = version.id_map.item_index(ml_item_id(best))
    assert len(browsing) == len(buyers)
    for user, most in browsing.items():
        left = float(version.user_items[version.id_map.user_index(user), column])
        assert left <= most, (user, left, most)  # the purchases no longer count

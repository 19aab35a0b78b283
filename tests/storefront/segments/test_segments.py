"""Customer segments in the training job (storefront.segments.training, storefront.training.extras) and in
the web worker (storefront.segments.serving): real shop, real training, real artifacts."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select, text, update

from ml.artifacts import read_active
from ml.registry import ModelRegistry
from ml.segments import load
from storefront.extensions import db
from storefront.models import RUN_SUCCEEDED, Category, Order, Product
from storefront.segments import serving as segment_serving
from storefront.segments import training as segments
from storefront.training import job as training
from storefront.recommendations.widgets import current_version
from storefront.training.extras import SkipExtra

SEGMENT_FILES = ["segments.npz", "segments.json"]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


def _version_dir(version: str) -> Path:
    return Path(current_app.config["MODEL_DIR"]) / version


def _customer_orders() -> dict[str, tuple[int, float]]:
    """customer key -> (orders, revenue), straight from the database."""
    rows = db.session.execute(
        select(Order.customer_id, func.count(Order.id), func.sum(Order.total))
        .where(Order.customer_id.is_not(None)).group_by(Order.customer_id)
    )
    return {str(c): (int(n), float(total)) for c, n, total in rows}


def test_the_frames_hold_customer_orders_with_category_and_department(seeded, app_ctx):
    orders, lines, products = segments.load_segment_frames()
    customer_orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.customer_id.is_not(None)))
    guest_orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.customer_id.is_(None)))
    assert len(orders) == customer_orders and guest_orders > 0  # guests are nobody to segment
    assert set(lines["order_id"]) <= set(orders["order_id"])
    assert orders["created_at"].is_monotonic_increasing
    assert len(products) == db.session.scalar(select(func.count()).select_from(Product))
    product = db.session.scalars(select(Product).limit(1)).one()
    row = products.set_index("product_id").loc[str(product.id)]
    department = db.session.get(Category, product.category.parent_id or product.category_id)
    assert (row["category"], row["department"]) == (product.category.slug, department.slug)


def test_a_run_publishes_segments_in_the_version_and_records_the_summary(seeded, app_ctx):
    run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    manifest = ModelRegistry(current_app.config["MODEL_DIR"]).manifest(run.version)
    assert manifest["extras"]["segments"] == SEGMENT_FILES
    assert set(SEGMENT_FILES) <= set(manifest["files"])  # hashed and verified like the rest

    record = run.params["extras"]["segments"]
    assert record["status"] == "ok" and record["files"] == SEGMENT_FILES and record["seconds"] > 0
    assert run.timings["extras"] >= record["seconds"] - 0.01
    summary = record["summary"]
    truth = _customer_orders()
    assert summary["data"]["customers"] == len(truth)
    assert sum(summary["rfm_segments"].values()) == len(truth)
    table = summary["table"]
    assert sum(row["customers"] for row in table) == len(truth)
    assert sum(row["orders"] for row in table) == sum(n for n, _ in truth.values())
    assert sum(row["revenue"] for row in table) == pytest.approx(sum(r for _, r in truth.values()), abs=0.05)
    for row in table:
        assert row["average_order_value"] == pytest.approx(row["revenue"] / row["orders"], abs=0.01)
    comparison = summary["comparison"]
    assert set(comparison["methods"]) == {"customer2vec", "kmeans", "kmeans_customer2vec", "popularity"}
    assert all(0.0 <= m["hit_rate@10"] <= 1.0 for m in comparison["methods"].values())
    for space in ("feature_clusters", "embedding_clusters"):
        assert -1.0 <= summary[space]["silhouette"] <= 1.0 and summary[space]["k"] >= 1
    assert summary["timings"]["total"] > 0 and summary["timings"]["customer2vec"] > 0

    # The artifact agrees with the database: RFM as of the newest order.
    result = load(_version_dir(run.version))
    assert set(result.rfm.index) == set(truth)
    newest = db.session.scalar(select(func.max(Order.created_at)))
    assert result.reference_time.startswith(newest.isoformat(timespec="seconds"))
    key, (n_orders, revenue) = max(truth.items(), key=lambda item: item[1][1])
    assert result.rfm.loc[key, "frequency"] == n_orders
    assert result.rfm.loc[key, "monetary"] == pytest.approx(revenue, abs=0.01)
    assert json.loads((_version_dir(run.version) / "segments.json").read_text())["comparison"] == comparison


def _broken_builder(context):
    raise RuntimeError("segments exploded")


def _half_writer(context):
    def write(directory):
        (directory / "segments.npz").write_bytes(b"half")
        raise OSError("disk full")
    return write


def _bad_query(context):
    db.session.execute(text("SELECT * FROM no_such_table"))  # poisons a PostgreSQL transaction


@pytest.mark.parametrize("builder, error", [
    (_broken_builder, "RuntimeError: segments exploded"),
    (_half_writer, "OSError: disk full"),
    (_bad_query, "no_such_table"),
], ids=["builder", "writer", "query"])
def test_a_failing_extra_leaves_the_recommender_published(seeded, app_ctx, monkeypatch, builder, error):
    monkeypatch.setitem(training.EXTRA_BUILDERS, "segments", builder)
    run = training.run_training()

    assert run.status == RUN_SUCCEEDED, run.error
    model_dir = Path(current_app.config["MODEL_DIR"])
    assert read_active(model_dir) == run.version
    record = run.params["extras"]["segments"]
    assert record["status"] == "failed" and error in record["error"]
    manifest = ModelRegistry(model_dir).manifest(run.version)
    assert "segments" not in manifest["extras"]
    names = {p.name for p in _version_dir(run.version).iterdir()}
    assert names == set(manifest["files"]) | {"manifest.json"}  # nothing half-written left behind
    assert not [p for p in model_dir.iterdir() if p.name.startswith(".tmp-")]  # staging removed


def test_one_extra_failing_does_not_cost_the_others(seeded, app_ctx, monkeypatch):
    """The asset engineer's builder will sit next to this one: each stands alone."""
    monkeypatch.setitem(training.EXTRA_BUILDERS, "broken", _broken_builder)

    def clashing(context):  # a file name the recommender already uses
        def write(directory):
            (directory / "ids.npz").write_bytes(b"x")
            return ["ids.npz"]
        return write

    monkeypatch.setitem(training.EXTRA_BUILDERS, "clashing", clashing)
    run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    extras = run.params["extras"]
    assert extras["segments"]["status"] == "ok"
    assert extras["broken"]["status"] == "failed"
    assert extras["clashing"]["status"] == "failed" and "already used" in extras["clashing"]["error"]
    published = ModelRegistry(current_app.config["MODEL_DIR"]).manifest(run.version)["extras"]
    assert published["segments"] == SEGMENT_FILES
    assert "broken" not in published and "clashing" not in published


def test_a_shop_without_customer_orders_skips_segments(seeded, app_ctx, monkeypatch):
    db.session.execute(update(Order).values(customer_id=None))
    db.session.commit()
    run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    skipped = run.params["extras"]["segments"]
    assert (skipped["status"], skipped["reason"]) == ("skipped", "no orders of registered customers yet")
    assert skipped["summary"] == {} and skipped["seconds"] >= 0

    def skipping(context):
        raise SkipExtra("not today")

    monkeypatch.setitem(training.EXTRA_BUILDERS, "segments", skipping)
    assert training.run_training().params["extras"]["segments"]["reason"] == "not today"


def test_the_worker_loads_segments_once_per_version_and_survives_broken_files(seeded, app, client):
    with app.app_context():
        first = training.run_training()
    with app.test_request_context():
        served = current_version()
        loaded = segment_serving.segments_for(served)
        assert served.version == first.version and loaded is not None
        assert segment_serving.segments_for(served) is loaded  # cached
    with app.app_context():
        second = training.run_training()
        path = _version_dir(second.version) / "segments.npz"
    with app.test_request_context():
        served = current_version()  # the holder loads the new version first (files intact)
        path.write_bytes(path.read_bytes()[:100])  # then the segments break before first use
        assert served.version == second.version
        assert segment_serving.segments_for(served) is None  # logged, treated as "no segments"
        assert segment_serving.segments_for(served) is None  # remembered: no retry per request

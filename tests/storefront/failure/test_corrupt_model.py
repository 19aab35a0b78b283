"""A corrupt or truncated model version activated under a running app.

The registry only ever activates verified versions; these tests go around it, the way a full
disk, a bad copy from a backup or a hand edit would: a new version directory is forged from a
good one, damaged, and ``ACTIVE`` is pointed at it with ``os.replace`` (what the registry does).
Every page and API answer must stay 200 and the worker must keep the version it had
(``ml.serving.ModelHolder``), or serve the popularity fallbacks when it never had one (a fresh
worker). Some damages come with a recomputed sha256 in the manifest, so that only the loader's
own checks can catch them. A broken click-model (``ctr_*.npz``) file costs the re-ranking only.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from tests.helpers import browser_client
from ml.ctr import CtrTrainConfig, compare_ctr_models
from ml.artifacts import ACTIVE_FILE, MANIFEST_FILE, new_version, read_active, sha256_file
from ml.registry import ModelRegistry, write_atomic
from ml.training import TrainingConfig, train
from tests.storefront.support.recommendations import FAST_TRAINING, events_frame, seed_small_shop, shelves, train_and_publish
from storefront import create_app
from storefront.models import Impression, Product
from storefront.ctr import data as ctr_data
from storefront.ctr import serving as ctr_serving
from storefront.ctr.features import FEATURE_COLUMNS
from tests.storefront.support.shop import ctx


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CTR_BUDGET_SECONDS": 3, "CTR_MIN_IMPRESSIONS": 500, "CTR_MIN_CLICKS": 20}


@pytest.fixture
def seeded(app, runner, caplog):
    caplog.set_level(logging.CRITICAL, logger="ml.serving")  # the expected load errors
    caplog.set_level(logging.CRITICAL, logger="storefront.ctr.serving")
    seed_small_shop(runner)
    return app


def _product_ids(app) -> list[int]:
    with ctx(app) as session:
        return list(session.scalars(select(Product.id).where(Product.stock > 0, Product.active)
                                    .order_by(Product.popularity.desc()).limit(3)))


def _rehash(directory: Path, name: str) -> None:
    """Record ``name``'s current sha256 in the manifest: the damage passes the file check."""
    manifest = json.loads((directory / MANIFEST_FILE).read_text())
    manifest["files"][name] = {"sha256": sha256_file(directory / name), "bytes": (directory / name).stat().st_size}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest))


def _truncate(path: Path, keep: int = 100) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _wrong_shape(directory: Path, name: str = "user_items.npz") -> None:
    with open(directory / name, "wb") as handle:  # a valid npz of the right keys, wrong sizes
        np.savez(handle, data=np.ones(1, np.float32), indices=np.zeros(1, np.int32),
                 indptr=np.array([0, 1], np.int32), shape=np.array([1, 3], np.int64))


DAMAGES = {
    "truncated recommender.npz": lambda d: _truncate(d / "recommender.npz"),
    "truncated recommender.npz, rehashed": lambda d: (_truncate(d / "recommender.npz"), _rehash(d, "recommender.npz")),
    "truncated ids.npz, rehashed": lambda d: (_truncate(d / "ids.npz", 300), _rehash(d, "ids.npz")),
    "wrong-shaped user_items.npz, rehashed": lambda d: (_wrong_shape(d), _rehash(d, "user_items.npz")),
    "garbage manifest": lambda d: (d / MANIFEST_FILE).write_bytes(b"\x00\xffnot json{"),
    "manifest is a list": lambda d: (d / MANIFEST_FILE).write_text("[]"),
    "manifest names another version": lambda d: (d / MANIFEST_FILE).write_text(
        (d / MANIFEST_FILE).read_text().replace(d.name, new_version())),
    "missing similar.npz": lambda d: (d / "similar.npz").unlink(),
    "empty directory": lambda d: [p.unlink() for p in d.iterdir()],
}


def _forge(app, source: str, damage) -> str:
    """A copy of version ``source`` under a new name, damaged, then made ACTIVE by os.replace."""
    model_dir = Path(app.config["MODEL_DIR"])
    forged = new_version()
    shutil.copytree(model_dir / source, model_dir / forged)
    manifest = json.loads((model_dir / forged / MANIFEST_FILE).read_text())
    manifest["version"] = forged
    (model_dir / forged / MANIFEST_FILE).write_text(json.dumps(manifest))
    damage(model_dir / forged)
    write_atomic(model_dir / ACTIVE_FILE, forged + "\n")
    return forged


def _served_versions(client, product_ids: list[int]) -> set[str | None]:
    """Fetch every page kind (all must answer 200) and collect the model versions they show."""
    seen: set[str | None] = set()
    for url in ("/", f"/products/{product_ids[0]}", f"/products/{product_ids[1]}", "/cart"):
        response = client.get(url)
        assert response.status_code == 200, url
        seen |= {shelf.model_version for shelf in shelves(response).values() if shelf.model_version}
    for url in ("/api/v1/recommendations/user", f"/api/v1/recommendations/item/{product_ids[0]}?kind=similar",
                f"/api/v1/recommendations/item/{product_ids[0]}?kind=bought"):
        response = client.get(url)
        assert response.status_code == 200, url
        if response.get_json()["model_version"]:
            seen.add(response.get_json()["model_version"])
    return seen


def test_damaged_versions_activated_keep_the_previous_one_serving(seeded, client):
    good = train_and_publish(seeded)
    products = _product_ids(seeded)
    client.get(f"/products/{products[2]}")  # some history, so the personalised widgets use the model
    assert _served_versions(client, products) == {good}
    model_dir = Path(seeded.config["MODEL_DIR"])
    for name, damage in DAMAGES.items():
        forged = _forge(seeded, good, damage)
        assert read_active(model_dir) == forged
        assert _served_versions(client, products) == {good}, name  # MODEL_CHECK_INTERVAL is 0 in tests
        with seeded.app_context():
            assert seeded.extensions["recommender"].get().version == good, name

        # A worker started now (after a restart or a max_requests recycle) never had a good
        # version: it serves the fallbacks, still without a single error.
        fresh = create_app(dict(seeded.config))
        assert _served_versions(browser_client(fresh), products) == set(), name
        with fresh.app_context():
            assert fresh.extensions["recommender"].get() is None, name
            from storefront.extensions import db

            db.engine.dispose()

    for pointer in ("../../../etc", "not-a-version", "20990101T000000000000Z-abcdef", ""):
        write_atomic(model_dir / ACTIVE_FILE, pointer + "\n")
        assert _served_versions(client, products) == {good}, pointer

    # Publishing a good version again is picked up as usual.
    healed = train_and_publish(seeded)
    assert _served_versions(client, products) == {healed}


# -- the click model -----------------------------------------------------------------------------


def _publish_with_click_model(app) -> str:
    app.config["CTR_RERANK_SHARE"] = 1.0  # everyone in the re-ranked group
    with ctx(app):
        result = train(events_frame(app), TrainingConfig(**FAST_TRAINING))
        table, buckets = ctr_data.training_table(result)
        comparison = compare_ctr_models(table, FEATURE_COLUMNS, time_column=ctr_data.TIME, kinds=("lr",),
                                        config=CtrTrainConfig(time_budget_seconds=3))

        def write(directory):
            np.savez(directory / ctr_serving.BUCKETS_FILE, **buckets.to_arrays())
            return [*comparison.save(directory, prefix="ctr", kind="lr"), ctr_serving.BUCKETS_FILE]

        return ModelRegistry(app.config["MODEL_DIR"]).publish(result, extras={ctr_serving.CTR_EXTRA: write})


def _last_ranking(app) -> str | None:
    with ctx(app) as session:
        return session.scalars(select(Impression.ranking).where(Impression.widget == "cart_for_you")
                               .order_by(Impression.id.desc()).limit(1)).first()


def test_a_corrupt_click_model_file_costs_only_the_reranking(seeded, client):
    good = _publish_with_click_model(seeded)
    products = _product_ids(seeded)
    client.get(f"/products/{products[2]}")
    assert client.get("/cart").status_code == 200
    assert _last_ranking(seeded) == ctr_serving.RERANKED  # the click model is in use

    directory = Path(seeded.config["MODEL_DIR"])
    ctr_files = sorted(p.name for p in (directory / good).glob("ctr_*.npz"))
    assert ctr_serving.BUCKETS_FILE in ctr_files and len(ctr_files) >= 2

    def damage(rehash: bool):
        def apply(forged: Path) -> None:
            for name in ctr_files:
                _truncate(forged / name, 64)
                if rehash:
                    _rehash(forged, name)
        return apply

    # The manifest lists the ctr files with their sha256: a mismatch refuses the whole version.
    _forge(seeded, good, damage(rehash=False))
    assert _served_versions(client, products) == {good}
    assert client.get("/cart").status_code == 200
    assert _last_ranking(seeded) == ctr_serving.RERANKED

    # Rehashed, the recommender loads and only the click model fails: the retrieval order.
    forged = _forge(seeded, good, damage(rehash=True))
    assert _served_versions(client, products) == {forged}
    assert client.get("/cart").status_code == 200
    assert _last_ranking(seeded) is None

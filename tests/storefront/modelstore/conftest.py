"""Fixtures of the model store tests: a small trained result to publish, a real PostgreSQL
database and a real S3 protocol (moto's server on a local port).

PostgreSQL: ``TEST_DATABASE_URL`` when it names one, else a scratch database created on
``postgresql://postgres@127.0.0.1:5432`` for the session (``MODELSTORE_TEST_DATABASE`` names it)
and dropped at its end; the tests skip with the reason when neither answers.
"""
from __future__ import annotations

import os
import secrets

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from ml.registry import ModelRegistry
from ml.training import TrainingConfig, train
from storefront.database import normalise_database_url
from storefront.extensions import db

SCRATCH_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def trained():
    """A small real training result (popularity + item kNN): loadable and servable by a node."""
    rng = np.random.default_rng(7)
    users, items = rng.integers(0, 60, 900), rng.integers(0, 40, 900)
    events = pd.DataFrame({
        "user_id": [f"u{u}" for u in users], "item_id": [f"{i + 1}" for i in items], "event": "view",
        "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 20 * 86_400, 900), "s"),
    })
    return train(events, TrainingConfig(candidates=("popularity", "item_knn_cosine"), search=False))


@pytest.fixture
def version_dir(trained, tmp_path):
    """A complete version directory, as the training job writes it (not activated)."""
    registry = ModelRegistry(tmp_path / "trainer")
    return registry.path(registry.publish(trained, activate=False))


def _server_up() -> bool:
    engine = create_engine(normalise_database_url(f"{SCRATCH_SERVER}/postgres"))
    try:
        with engine.connect():
            return True
    except Exception:
        return False
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    given = os.environ.get("TEST_DATABASE_URL", "")
    if given.startswith("postgres"):
        yield given
        return
    if not _server_up():
        pytest.skip(f"no PostgreSQL: TEST_DATABASE_URL is unset and {SCRATCH_SERVER} does not answer")
    name = os.environ.get("MODELSTORE_TEST_DATABASE") or f"modelstore_test_{os.getpid()}_{secrets.token_hex(2)}"
    admin = create_engine(normalise_database_url(f"{SCRATCH_SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{SCRATCH_SERVER}/{name}"
    from tests.fresh_schema import POSTGRES

    POSTGRES.fingerprint = None  # the schema it knew goes with the database
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_config(postgres_url, tmp_path) -> dict:
    return {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": postgres_url, "MODEL_DIR": str(tmp_path / "node-a"),
            "MODEL_STORE": "postgresql", "MODEL_SYNC_IN_BACKGROUND": False}


def unlink_large_objects() -> None:
    """The large objects the files table references (the suite's cleanup deletes rows only)."""
    with db.engine.begin() as connection:
        connection.execute(text("SELECT lo_unlink(large_object) FROM model_version_files"))


@pytest.fixture(scope="session")
def s3_endpoint():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        pytest.skip("moto[server] is not installed (pip install -r requirements-dev.txt)")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(s3_endpoint, monkeypatch):
    """Credentials as boto3 reads them from the environment, and a fresh bucket; the store URL."""
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"models-{secrets.token_hex(4)}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/shop/models"

"""``flask modelstore``: push local versions, activate one, warm a new node's cache, show the state."""
from __future__ import annotations

from pathlib import Path

import pytest

from ml.artifacts import read_active
from ml.registry import ModelRegistry
from storefront import create_app
from storefront.extensions import db
from tests.storefront.modelstore.conftest import unlink_large_objects


@pytest.fixture
def app_config(pg_config):
    return pg_config


def test_push_activate_sync_status(app, runner, trained, pg_config, tmp_path):
    local = ModelRegistry(app.config["MODEL_DIR"])
    version = local.publish(trained)  # a shop that ran with MODEL_STORE=local
    try:
        result = runner.invoke(args=["modelstore", "push"])
        assert result.exit_code == 0 and f"Pushed {version}." in result.output, result.output
        assert "Nothing to push." in runner.invoke(args=["modelstore", "push"]).output
        result = runner.invoke(args=["modelstore", "activate", "20990101T000000000000Z-abcdef"])
        assert result.exit_code == 1 and "not a complete version" in result.output
        result = runner.invoke(args=["modelstore", "activate", version])
        assert result.exit_code == 0, result.output
        node_b = create_app({**pg_config, "MODEL_DIR": str(tmp_path / "node-b")})
        result = node_b.test_cli_runner().invoke(args=["modelstore", "sync"])
        assert result.exit_code == 0 and f"ACTIVE {version}" in result.output, result.output
        assert read_active(Path(tmp_path / "node-b")) == version
        result = runner.invoke(args=["modelstore", "status"])
        assert result.exit_code == 0 and "Store: postgresql" in result.output and version in result.output
        assert "flask modelstore activate" in result.output
    finally:
        with app.app_context():
            db.session.remove()
            unlink_large_objects()


def test_a_local_shop_has_nothing_to_push(tmp_path):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                      "MODEL_DIR": str(tmp_path / "models")})
    result = app.test_cli_runner().invoke(args=["modelstore", "push"])
    assert result.exit_code == 1 and "MODEL_STORE=local" in result.output

"""Starting a test refuses a challenger that could not be served; training's pruning spares the
challenger of a running test."""
from __future__ import annotations

import pytest

from ml.registry import ModelRegistry
from storefront.experiments import management
from storefront.extensions import db
from storefront.training import job
from tests.storefront.support.experiments import start, two_versions
from tests.storefront.support.recommendations import corrupt, train_and_publish


@pytest.fixture
def versions(app, runner):
    return two_versions(app, runner)


def test_a_corrupt_challenger_is_refused_before_anyone_sees_it(app, versions):
    older, _ = versions
    corrupt(app, older)
    with app.app_context():
        with pytest.raises(management.ExperimentError, match="cannot be served") as refused:
            management.start_experiment("home_for_you", older, 50, 300, "a@example.com")
        assert refused.value.field == "challenger_version"
        assert management.running_challengers() == set()


def test_pruning_after_training_keeps_a_running_challenger(app, versions):
    older, active = versions
    start(app, older)
    newest = train_and_publish(app, seed=5)  # another run: the versions kept are the newest one...
    app.config["MODEL_VERSIONS_KEPT"] = 1
    registry = ModelRegistry(app.config["MODEL_DIR"])
    with app.app_context():
        job._prune(registry)
        db.session.remove()
    assert registry.versions() == sorted([older, newest])  # ...and the challenger; not `active`
    assert active not in registry.versions()

"""Web nodes sharing nothing but PostgreSQL: publish on one node, serve on another within one
check; activation (training, promotion) through one function; the local cache pruned."""
from __future__ import annotations

import filecmp
import os
from pathlib import Path

import pytest

from ml.artifacts import ACTIVE_FILE, ArtifactError, new_version, read_active
from ml.registry import ModelRegistry
from storefront import create_app, modelstore
from storefront.extensions import db
from storefront.models.experiments import EXPERIMENT_RUNNING, Experiment
from storefront.models.common import utcnow
from storefront.modelstore.pointer import read_pointer
from storefront.modelstore.sync import SyncedHolder
from tests.storefront.modelstore.conftest import unlink_large_objects


@pytest.fixture
def app_config(pg_config):
    return pg_config


@pytest.fixture
def node_a(app):
    """The node that trains (the suite's app: its schema is prepared and cleaned by the fixture)."""
    yield app
    with app.app_context():
        db.session.remove()
        unlink_large_objects()


@pytest.fixture
def make_node(pg_config, tmp_path):
    """Another web node: the same database, a cache of its own."""
    made = []

    def make(name: str = "node-b", **settings):
        node = create_app({**pg_config, "MODEL_DIR": str(tmp_path / name), **settings})
        made.append(node)
        return node

    yield make
    for node in made:
        with node.app_context():
            db.session.remove()
            db.engine.dispose()


def publish(app, result) -> str:
    with app.app_context():
        return modelstore.publish_version(ModelRegistry(app.config["MODEL_DIR"]), result, by="test run")


def served(node) -> str | None:
    with node.app_context():
        loaded = node.extensions["recommender"].get()
        return loaded.version if loaded is not None else None


def test_a_node_with_an_empty_cache_serves_the_active_version_after_one_check(node_a, make_node, trained):
    version = publish(node_a, trained)
    with node_a.app_context():
        pointer = read_pointer(db.engine)
    assert (pointer.version, pointer.activated_by) == (version, "test run")
    assert read_active(Path(node_a.config["MODEL_DIR"])) == version  # the trainer's node at once
    node_b = make_node()
    assert isinstance(node_b.extensions["recommender"], SyncedHolder)
    assert served(node_b) == version
    cache_a, cache_b = Path(node_a.config["MODEL_DIR"]) / version, Path(node_b.config["MODEL_DIR"]) / version
    assert all(filecmp.cmp(cache_a / n, cache_b / n, shallow=False) for n in os.listdir(cache_a))
    assert read_active(cache_b.parent) == version


def test_a_new_activation_reaches_a_serving_node_and_its_cache_is_pruned(node_a, make_node, trained):
    node_a.config["MODEL_VERSIONS_KEPT"] = 1
    node_b = make_node(MODEL_VERSIONS_KEPT=1)
    assert served(node_b) is None  # nothing published yet: the fallbacks serve
    first = publish(node_a, trained)
    assert served(node_b) == first
    second = publish(node_a, trained)
    assert served(node_b) == second
    third = publish(node_a, trained)
    assert served(node_b) == third
    assert ModelRegistry(node_b.config["MODEL_DIR"]).versions() == [third]  # kept: 1, and the active one
    with node_a.app_context():
        assert modelstore.published_versions() == [third]  # the store is pruned by the publish too


def test_the_pointer_flips_only_to_complete_versions(node_a, make_node, trained):
    version = publish(node_a, trained)
    node_b = make_node()
    assert served(node_b) == version
    with node_a.app_context():
        local_only = ModelRegistry(node_a.config["MODEL_DIR"]).publish(trained, activate=False)  # never uploaded
        for name in (local_only, new_version()):
            with pytest.raises(ArtifactError, match="not a complete version"):
                modelstore.activate(name, by="admin")
        assert modelstore.active_version() == version
    assert read_active(Path(node_a.config["MODEL_DIR"])) == version
    assert served(node_b) == version


def test_a_running_challenger_is_fetched_and_promoting_it_moves_the_pointer(node_a, make_node, trained):
    from storefront.experiments import management

    challenger = publish(node_a, trained)
    champion = publish(node_a, trained)
    with node_a.app_context():
        assert [c.value for c in management.challenger_choices()] == [challenger]
        experiment = Experiment(widget="home_for_you", champion_version=champion, challenger_version=challenger,
                                challenger_share=0.5, min_clicks=10, status=EXPERIMENT_RUNNING,
                                started_at=utcnow(), started_by="a@example.com")
        db.session.add(experiment)
        db.session.commit()
        experiment_id = experiment.id
    node_b = make_node()
    with node_b.app_context():
        cache = node_b.extensions["experiments"]
        assert cache.challenger(challenger).version == challenger  # fetched into node b's cache first
    with node_a.app_context():
        experiment = db.session.get(Experiment, experiment_id)
        management.promote_challenger(experiment, "boss@example.com")
        db.session.commit()
        pointer = read_pointer(db.engine)
    assert (pointer.version, pointer.activated_by) == (challenger, "boss@example.com")
    assert served(node_b) == challenger


def test_a_corrupt_version_is_not_served_and_the_node_keeps_what_it_had(node_a, make_node, trained):
    from sqlalchemy import text

    good = publish(node_a, trained)
    node_b = make_node()
    assert served(node_b) == good
    bad = publish(node_a, trained)
    with node_a.app_context(), db.engine.begin() as connection:
        connection.execute(text("SELECT lo_put(CAST(large_object AS oid), 0, '\\x00'::bytea) "
                                "FROM model_version_files WHERE version = :v AND name = 'ids.npz'"), {"v": bad})
    assert served(node_b) == good
    assert not (Path(node_b.config["MODEL_DIR"]) / bad).exists()
    assert "cannot fetch" in node_b.extensions["model_store"].sync.last_error


def test_the_sqlite_default_is_unchanged(tmp_path, trained):
    settings = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                "MODEL_DIR": str(tmp_path / "models")}
    app = create_app(settings)
    assert app.config["MODEL_STORE"] == "local" and app.extensions["model_store"].store is None
    assert type(app.extensions["recommender"]).__name__ == "ModelHolder"
    with app.app_context():
        version = modelstore.publish_version(ModelRegistry(app.config["MODEL_DIR"]), trained)
        assert modelstore.active_version() == version == read_active(tmp_path / "models")
        assert modelstore.published_versions() == [version]
    assert (tmp_path / "models" / ACTIVE_FILE).is_file()


@pytest.mark.parametrize("settings, message", [
    ({"MODEL_STORE": "postgresql"}, "must then be PostgreSQL"),
    ({"MODEL_STORE": "s3"}, "MODEL_STORE_URL=s3://bucket/prefix"),
    ({"MODEL_STORE": "nfs"}, "not a model store"),
])
def test_a_store_that_cannot_work_is_refused_at_startup(tmp_path, settings, message):
    with pytest.raises(RuntimeError, match=message):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                    **settings})


def test_the_environment_selects_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MODEL_STORE", "postgresql")
    with pytest.raises(RuntimeError, match="must then be PostgreSQL"):
        create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}"})


def test_an_s3_store_serves_a_second_node(tmp_path, trained, s3_env, s3_endpoint):
    """S3 for the files, the pointer row in the app's database (SQLite here: one file both nodes open)."""
    settings = {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shop.db'}",
                "MODEL_STORE": "s3", "MODEL_STORE_URL": s3_env, "MODEL_STORE_ENDPOINT_URL": s3_endpoint,
                "MODEL_SYNC_IN_BACKGROUND": False}
    node_a = create_app({**settings, "MODEL_DIR": str(tmp_path / "a")})
    with node_a.app_context():
        db.create_all()
    version = publish(node_a, trained)
    node_b = create_app({**settings, "MODEL_DIR": str(tmp_path / "b")})
    assert served(node_b) == version
    with node_a.app_context():
        assert modelstore.published_versions() == [version]


def test_a_serving_node_fetches_the_next_version_off_the_request_path(node_a, make_node, trained, monkeypatch):
    import threading

    first = publish(node_a, trained)
    node_b = make_node(MODEL_SYNC_IN_BACKGROUND=True)
    assert served(node_b) == first  # nothing served yet: fetched inline
    sync = node_b.extensions["model_store"].sync
    release, real_fetch = threading.Event(), sync.store.fetch
    monkeypatch.setattr(sync.store, "fetch", lambda *args: release.wait(30) and real_fetch(*args))
    second = publish(node_a, trained)
    assert served(node_b) == first  # the request that noticed goes on with what the node has
    release.set()
    assert sync._lock.acquire(timeout=30)  # the background fetch is over
    sync._lock.release()
    assert served(node_b) == second


def test_a_training_run_publishes_to_the_store_and_another_node_serves_it(node_a, make_node):
    from tests.storefront.support.recommendations import seed_small_shop
    from storefront.training import job

    seed_small_shop(node_a.test_cli_runner())
    with node_a.app_context():
        run = job.run_training()
        assert run.status == "succeeded", run.error
        pointer = read_pointer(db.engine)
        assert modelstore.published_versions() == [run.version]
    assert (pointer.version, pointer.activated_by) == (run.version, f"training run #{run.id}")
    assert served(make_node()) == run.version


def test_the_workers_of_a_node_share_one_download(node_a, trained, tmp_path):
    import threading

    from storefront.modelstore.sync import NodeSync

    version = publish(node_a, trained)
    with node_a.app_context():
        store = node_a.extensions["model_store"].store
        fetches = []
        real_fetch = store.fetch

        def counted_fetch(*args):
            fetches.append(args)
            return real_fetch(*args)

        store.fetch = counted_fetch
        workers = [NodeSync(store, db.engine, tmp_path / "node-c", 0.0, keep=5) for _ in range(4)]
        threads = [threading.Thread(target=worker.ensure, args=(version,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert len(fetches) == 1 and ModelRegistry(tmp_path / "node-c").versions() == [version]

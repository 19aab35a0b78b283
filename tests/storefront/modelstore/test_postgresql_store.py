"""PostgreSQL large objects as the model store: a publish is one transaction, a fetch is verified."""
from __future__ import annotations

import filecmp
import os

import pytest
from sqlalchemy import create_engine, text

from ml.artifacts import MANIFEST_FILE, ArtifactError, new_version, verify_version
from storefront.extensions import db
from storefront.modelstore import StoreError
from storefront.modelstore import postgresql as pg_module
from storefront.modelstore.pointer import point_at, read_pointer
from storefront.modelstore.postgresql import PostgresStore
from tests.storefront.modelstore.conftest import unlink_large_objects


@pytest.fixture
def app_config(pg_config):
    return pg_config


@pytest.fixture
def store(app):
    with app.app_context():
        yield PostgresStore(db.engine)
        db.session.remove()
        unlink_large_objects()


def large_objects() -> int:
    """Counted on a connection of its own (what any other node would see)."""
    engine = create_engine(db.engine.url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM pg_largeobject_metadata"))
    finally:
        engine.dispose()


def same_files(left, right) -> bool:
    names = sorted(os.listdir(left))
    return names == sorted(os.listdir(right)) and all(filecmp.cmp(left / n, right / n, shallow=False) for n in names)


def test_publish_then_fetch_on_another_node_gives_identical_files(store, version_dir, tmp_path):
    version = store.publish(version_dir)
    assert store.versions() == [version] and store.is_complete(version)
    node_b = tmp_path / "node-b"
    fetched = store.fetch(version, node_b)
    assert fetched == node_b / version and same_files(version_dir, fetched)
    verify_version(fetched)
    assert not [name for name in os.listdir(node_b) if name.startswith(".tmp-")]
    assert store.publish(version_dir) == version and store.versions() == [version]  # a retry adds nothing
    assert store.manifest(version) == (version_dir / MANIFEST_FILE).read_bytes()


def test_a_corrupt_large_object_is_refused_and_nothing_is_renamed(store, version_dir, tmp_path):
    version = store.publish(version_dir)
    with db.engine.begin() as connection:
        connection.execute(text("SELECT lo_put(CAST(large_object AS oid), 16, '\\xdeadbeef'::bytea) "
                                "FROM model_version_files WHERE version = :v AND name = 'recommender.npz'"),
                           {"v": version})
    node_b = tmp_path / "node-b"
    with pytest.raises(ArtifactError, match="recommender.npz"):
        store.fetch(version, node_b)
    assert not (node_b / version).exists()
    assert not [name for name in os.listdir(node_b) if name.startswith(".tmp-")]


def test_a_publish_killed_half_way_is_never_seen(store, version_dir, monkeypatch):
    before = large_objects()
    reads = []
    real = pg_module.read_checked

    def failing_read(path, sha256):
        reads.append(path.name)
        if len(reads) == 2:
            # half way: the first file is a large object in the open transaction; others see nothing
            assert other_connection_versions() == [] and large_objects() == before
            raise OSError("disk read failed")
        return real(path, sha256)

    def other_connection_versions():
        return PostgresStore(db.engine).versions()

    monkeypatch.setattr(pg_module, "read_checked", failing_read)
    with pytest.raises(OSError, match="disk read failed"):
        store.publish(version_dir)
    assert len(reads) == 2
    assert store.versions() == [] and not store.is_complete(version_dir.name)
    assert large_objects() == before  # rolled back with the rows
    with pytest.raises(ArtifactError, match="not a complete version"):
        point_at(db.engine, store, version_dir.name, "test")
    assert read_pointer(db.engine) is None
    with pytest.raises(StoreError):
        store.fetch(version_dir.name, version_dir.parent / "elsewhere")


def test_a_file_changed_since_its_manifest_is_not_published(store, version_dir):
    with open(version_dir / "popular.npz", "ab") as handle:
        handle.write(b"tampered")
    with pytest.raises(ArtifactError, match="popular.npz"):
        store.publish(version_dir)
    assert store.versions() == []


def test_the_pointer_flips_only_to_complete_versions_and_pruning_spares_it(store, trained, version_dir):
    from ml.registry import ModelRegistry

    first = store.publish(version_dir)
    assert point_at(db.engine, store, first, "admin@example.com").version == first
    with pytest.raises(ArtifactError):
        point_at(db.engine, store, new_version(), "test")  # never published
    with pytest.raises(ValueError):
        point_at(db.engine, store, "../etc", "test")
    pointer = read_pointer(db.engine)
    assert (pointer.version, pointer.activated_by) == (first, "admin@example.com")
    registry = ModelRegistry(version_dir.parent)
    second = store.publish(registry.path(registry.publish(trained, activate=False)))
    point_at(db.engine, store, second, "training run #2")
    assert read_pointer(db.engine).version == second
    with pytest.raises(StoreError, match="active"):
        store.delete(second)
    objects = large_objects()
    store.delete(first)
    assert store.versions() == [second]
    assert large_objects() == objects - len(os.listdir(version_dir))  # its objects are unlinked

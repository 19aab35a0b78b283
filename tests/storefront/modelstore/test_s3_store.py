"""An S3-compatible bucket as the model store (the real S3 protocol: moto's server, boto3)."""
from __future__ import annotations

import filecmp
import os

import pytest

from ml.artifacts import MANIFEST_FILE, ArtifactError, verify_version
from storefront.modelstore import StoreError
from storefront.modelstore.s3 import COMPLETE, S3Store, parse_url


@pytest.fixture
def store(s3_env, s3_endpoint):
    return S3Store(s3_env, endpoint_url=s3_endpoint)


def keys(store) -> list[str]:
    listed = store.client.list_objects_v2(Bucket=store.bucket, Prefix=store.prefix).get("Contents", [])
    return sorted(item["Key"] for item in listed)


def test_the_url_names_a_bucket_and_a_prefix():
    assert parse_url("s3://bucket/a/b/") == ("bucket", "a/b/")
    assert parse_url("s3://bucket") == ("bucket", "")
    for bad in (None, "", "bucket/prefix", "http://bucket/x", "s3:///x"):
        with pytest.raises(StoreError, match="MODEL_STORE_URL"):
            parse_url(bad)


def test_publish_then_fetch_on_another_node_gives_identical_files(store, version_dir, tmp_path):
    version = store.publish(version_dir)
    assert store.versions() == [version] and store.is_complete(version)
    expected = {f"shop/models/{version}/{name}" for name in os.listdir(version_dir)}
    assert set(keys(store)) == expected | {f"shop/models/{version}/{COMPLETE}"}
    fetched = store.fetch(version, tmp_path / "node-b")
    names = sorted(os.listdir(version_dir))
    assert sorted(os.listdir(fetched)) == names
    assert all(filecmp.cmp(version_dir / n, fetched / n, shallow=False) for n in names)
    verify_version(fetched)
    assert store.manifest(version) == (version_dir / MANIFEST_FILE).read_bytes()


@pytest.mark.parametrize("name", ["recommender.npz", MANIFEST_FILE])
def test_a_corrupt_object_is_refused_and_nothing_is_renamed(store, version_dir, tmp_path, name):
    version = store.publish(version_dir)
    body = bytearray((version_dir / name).read_bytes())
    body[20] ^= 0xFF
    store.client.put_object(Bucket=store.bucket, Key=f"shop/models/{version}/{name}", Body=bytes(body))
    node_b = tmp_path / "node-b"
    with pytest.raises(ArtifactError):
        store.fetch(version, node_b)
    assert not (node_b / version).exists()
    assert not [entry for entry in os.listdir(node_b) if entry.startswith(".tmp-")]


def test_an_upload_killed_half_way_is_never_listed(store, version_dir, monkeypatch, tmp_path):
    calls = []
    real = store.client.upload_file

    def failing_upload(*args, **kwargs):
        calls.append(args)
        if len(calls) == 3:
            raise ConnectionError("network down")
        return real(*args, **kwargs)

    monkeypatch.setattr(store.client, "upload_file", failing_upload)
    monkeypatch.setattr(store, "_delete_keys", lambda keys: None)  # killed: no chance to clean up
    with pytest.raises(ConnectionError):
        store.publish(version_dir)
    assert len(keys(store)) == 2  # two files made it...
    assert store.versions() == [] and not store.is_complete(version_dir.name)  # ...never listed
    with pytest.raises(StoreError, match="no complete version"):
        store.fetch(version_dir.name, tmp_path / "node-b")
    monkeypatch.undo()
    assert store.publish(version_dir) == version_dir.name  # publishing again completes it
    assert store.versions() == [version_dir.name]


def test_a_failed_upload_cleans_up_and_delete_removes_everything(store, version_dir, monkeypatch):
    monkeypatch.setattr(store.client, "put_object", lambda **kwargs: (_ for _ in ()).throw(OSError("quota")))
    with pytest.raises(OSError, match="quota"):
        store.publish(version_dir)
    assert keys(store) == []
    monkeypatch.undo()
    version = store.publish(version_dir)
    store.delete(version)
    assert keys(store) == [] and store.versions() == []


def test_credentials_and_endpoint_come_from_the_environment(s3_env, s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # boto3's own variable works too
    store = S3Store(s3_env)
    assert store.versions() == []

"""Versioned artifacts: publish, activate (refusing corrupt files), prune, the atomic pointer.
The training lock is tested in ``tests/ml/training/test_lock.py``."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from ml.artifacts import ACTIVE_FILE, MANIFEST_FILE, VERSION_PATTERN, ArtifactError, new_version
from ml.registry import ModelRegistry
from ml.training import TrainingConfig, train


@pytest.fixture(scope="module")
def result(planted):
    coo = planted.matrix.tocoo()
    seconds = np.random.default_rng(1).uniform(0, 30 * 86_400, coo.nnz)
    events = pd.DataFrame(
        {
            "user_id": [f"u{r}" for r in coo.row],
            "item_id": [f"i{c}" for c in coo.col],
            "event": "view",
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, "s"),
        }
    )
    config = TrainingConfig(candidates=("popularity", "item_knn_cosine"), search=False)
    return train(events, config)


def visible(model_dir) -> set[str]:
    return set(os.listdir(model_dir))


def test_publish_writes_a_complete_version_and_activates_it(result, tmp_path):
    registry = ModelRegistry(tmp_path)
    version = registry.publish(result)
    assert VERSION_PATTERN.match(version)
    assert registry.active_version() == version == registry.versions()[-1]
    manifest = registry.manifest(version)
    assert manifest["version"] == version and manifest["champion"] == result.champion
    assert set(manifest["metrics"]) == {"popularity", "item_knn_cosine"}
    assert manifest["metrics"]["item_knn_cosine"]["ndcg@10"] > 0
    assert manifest["data"] == result.data and "total" in manifest["timings"]
    expected = {"recommender.npz", "similar.npz", "also_bought.npz", "complements.npz", "popular.npz",
                "ids.npz", "user_items.npz"}
    assert set(manifest["files"]) == expected
    assert set(os.listdir(tmp_path / version)) == expected | {MANIFEST_FILE}
    assert all(len(info["sha256"]) == 64 for info in manifest["files"].values())
    for name in expected:  # plain arrays only
        np.load(tmp_path / version / name, allow_pickle=False).close()


def test_versions_sort_by_time_and_activation_switches(result, tmp_path):
    registry = ModelRegistry(tmp_path)
    first = registry.publish(result)
    second = registry.publish(result, activate=False)
    assert registry.versions() == [first, second] and first < second
    assert registry.active_version() == first
    registry.activate(second)
    assert (tmp_path / ACTIVE_FILE).read_text().strip() == second
    assert not [name for name in visible(tmp_path) if name.startswith(".tmp")]
    assert new_version() > second


class ExplodingModel:
    name = "exploding"

    def save(self, path):
        with open(path, "wb") as handle:
            handle.write(b"half a file")
        raise OSError("disk full")


def test_a_failed_publish_changes_nothing(result, tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path)
    good = registry.publish(result)
    before = visible(tmp_path)
    monkeypatch.setitem(result.models, "also_bought", ExplodingModel())
    with pytest.raises(OSError, match="disk full"):
        registry.publish(result)
    assert registry.active_version() == good
    assert registry.versions() == [good]
    assert visible(tmp_path) == before  # no temporary directory left behind


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_activate_refuses_a_corrupted_version(result, tmp_path, damage):
    registry = ModelRegistry(tmp_path)
    good = registry.publish(result)
    bad = registry.publish(result, activate=False)
    target = tmp_path / bad / "similar.npz"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(target.read_bytes())
        data[-10] ^= 0xFF
        target.write_bytes(bytes(data))
    else:
        target.unlink()
    with pytest.raises(ArtifactError, match="similar.npz"):
        registry.activate(bad)
    assert registry.active_version() == good
    with pytest.raises(ValueError, match="not a version"):
        registry.activate("../elsewhere")


def test_prune_keeps_the_newest_and_never_the_active(result, tmp_path):
    registry = ModelRegistry(tmp_path)
    versions = [registry.publish(result) for _ in range(4)]
    registry.activate(versions[0])
    abandoned = tmp_path / ".tmp-20000101T000000000000Z-abcdef"
    abandoned.mkdir()
    os.utime(abandoned, (0, 0))
    deleted = registry.prune(keep=2)
    assert deleted == versions[1:2]
    assert registry.versions() == [versions[0], *versions[2:]]
    assert registry.active_version() == versions[0] and not abandoned.exists()


def test_prune_spares_the_protected_versions(result, tmp_path):
    """An online experiment's challenger outlives the hourly runs that publish newer versions."""
    registry = ModelRegistry(tmp_path)
    versions = [registry.publish(result) for _ in range(4)]
    assert registry.prune(keep=1, protect={versions[1]}) == [versions[0], versions[2]]
    assert registry.versions() == [versions[1], versions[3]]


def test_extras_are_published_hashed_and_verified(tmp_path, result):
    """Extra artifacts (segments, assets) live in the same version and are checked like the rest."""
    from ml.artifacts import ArtifactError, verify_version
    from ml.registry import ModelRegistry

    def write_segments(directory):
        (directory / "segments.json").write_text('{"k": 3}', encoding="utf-8")
        return ["segments.json"]

    registry = ModelRegistry(tmp_path)
    version = registry.publish(result, extras={"segments": write_segments})
    manifest = registry.manifest(version)
    assert manifest["extras"] == {"segments": ["segments.json"]}
    assert "segments.json" in manifest["files"]
    (registry.path(version) / "segments.json").write_text('{"k": 4}', encoding="utf-8")
    with pytest.raises(ArtifactError):
        verify_version(registry.path(version))


def test_a_failing_extra_writer_publishes_nothing(tmp_path, result):
    from ml.registry import ModelRegistry

    registry = ModelRegistry(tmp_path)
    before = registry.publish(result)

    def broken(directory):
        raise OSError("disk full")

    with pytest.raises(OSError):
        registry.publish(result, extras={"segments": broken})
    assert registry.versions() == [before]
    assert registry.active_version() == before

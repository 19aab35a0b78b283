"""Publishing and activating versions, whatever ``MODEL_STORE`` says: the one way in.

- :func:`publish_version`: the training job's publish. ``local``: ``ModelRegistry.publish`` as
  always (write, verify, activate). A store: the version is written locally without activating
  it, uploaded (complete in one step, see the store modules), activated through the pointer, and
  the store pruned like the local folder (``MODEL_VERSIONS_KEPT``, never the active version nor a
  running experiment's challenger).
- :func:`activate`: every activation (training, promoting an experiment's challenger).
  ``local``: ``ModelRegistry.activate`` (every file checked, ``ACTIVE`` replaced). A store: the
  pointer row, only for a version complete in the store (ArtifactError otherwise), and this
  node's ``ACTIVE`` at once when its cache holds the version (other nodes follow within
  ``MODEL_CHECK_INTERVAL``).
- :func:`published_versions`, :func:`active_version`, :func:`version_manifest`,
  :func:`ensure_local`: what the admin's experiment pages ask, from the store when there is one.

The store is a registry like the model folder: a publish or an activation is its own unit of work
(committed on connections of its own), never part of the caller's session transaction.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from ml.artifacts import ArtifactError
from ml.registry import ExtraWriter, ModelRegistry, Publishable
from storefront.models.experiments import EXPERIMENT_RUNNING, Experiment
from storefront.modelstore.base import check_version
from storefront.modelstore.pointer import point_at, read_pointer
from storefront.modelstore.state import StoreState, state

log = logging.getLogger(__name__)

DEFAULT_ACTIVATED_BY = "storefront"


def publish_version(registry: ModelRegistry, result: Publishable, *,
                    extras: Mapping[str, ExtraWriter] | None = None, by: str = "training") -> str:
    """Publish ``result`` as a new version and activate it everywhere; return its name."""
    current = state()
    if current.store is None:
        return registry.publish(result, extras=extras)
    version = registry.publish(result, activate=False, extras=extras)
    current.store.publish(registry.path(version))
    activate(version, by=by)
    challengers = _running_challengers(current)
    if challengers is not None:  # not knowing which versions a test serves: prune nothing this time
        prune_store(current, protect=challengers)
    return version


def activate(version: str, by: str = DEFAULT_ACTIVATED_BY) -> None:
    """Make ``version`` the one every node serves (see the module doc); ArtifactError, StoreError
    or ValueError when it cannot be (nothing changes then)."""
    current = state()
    registry = ModelRegistry(current.model_dir)
    if current.store is None:
        registry.activate(version)
        return
    point_at(current.engine, current.store, check_version(version), by)
    if (current.model_dir / version).is_dir():
        try:
            registry.activate(version)  # this node at once; the others at their next check
        except (ArtifactError, OSError) as error:
            log.warning("version %s is active, but this node's copy is unusable (%s): it is fetched again "
                        "at the next check", version, error)


def active_version() -> str | None:
    current = state()
    if current.store is None:
        return ModelRegistry(current.model_dir).active_version()
    pointer = read_pointer(current.engine)
    return pointer.version if pointer is not None else None


def published_versions() -> list[str]:
    """Complete versions, oldest first (the store's when there is one, else the local folder's)."""
    current = state()
    return current.store.versions() if current.store is not None else ModelRegistry(current.model_dir).versions()


def version_manifest(version: str) -> dict[str, Any]:
    """A published version's manifest: from this node's cache, else the store's (files not fetched)."""
    current = state()
    registry = ModelRegistry(current.model_dir)
    if current.store is None or registry.path(version).is_dir():
        return registry.manifest(version)
    try:
        return json.loads(current.store.manifest(version))
    except ValueError as error:
        raise ArtifactError(f"version {version}: unreadable manifest ({error})") from None


def ensure_local(version: str) -> Path:
    """``<MODEL_DIR>/<version>``: with a store, fetched and verified first when missing."""
    current = state()
    if current.sync is None:
        return ModelRegistry(current.model_dir).path(version)
    return current.sync.ensure(version)


def prune_store(current: StoreState | None = None, protect: Collection[str] = ()) -> list[str]:
    """Delete all but the ``MODEL_VERSIONS_KEPT`` newest versions of the store, never the active
    one nor those in ``protect``; a failure is logged, never raised (the publish succeeded)."""
    current = current or state()
    if current.store is None:
        return []
    try:
        versions = current.store.versions()
        pointer = read_pointer(current.engine)
        spared = {*protect, *([pointer.version] if pointer is not None else [])}
        keep = int(current_app.config.get("MODEL_VERSIONS_KEPT", current.keep))  # read now, as training does
        doomed = [v for v in versions[: max(len(versions) - keep, 0)] if v not in spared]
        for version in doomed:
            current.store.delete(version)
            log.info("pruned model version %s from the %s store", version, current.store.name)
        return doomed
    except Exception:  # noqa: BLE001 - pruning must not fail a publish
        log.exception("pruning the model store failed; old versions are kept")
        return []


def _running_challengers(current: StoreState) -> set[str] | None:
    """The running experiments' challengers, read on a connection of its own (the caller's session
    is left alone); None when they cannot be read."""
    try:
        with current.engine.connect() as connection:
            names = set(connection.scalars(select(Experiment.challenger_version)
                                           .where(Experiment.status == EXPERIMENT_RUNNING)))
            connection.rollback()
        return names
    except Exception:  # noqa: BLE001
        log.exception("cannot read the running experiments; the model store is not pruned")
        return None

"""Where model versions live and which one is active, for one machine or many (issue 20).

``MODEL_STORE=local`` (the default) is the embedded case: ``MODEL_DIR`` is the store and its
``ACTIVE`` file the pointer, exactly as ``ml.registry`` has always done. ``postgresql`` (large
objects in the app's own database) and ``s3`` (an S3-compatible bucket) let web nodes that share
nothing but the database serve the same versions: each keeps ``MODEL_DIR`` as a local cache that
:mod:`~storefront.modelstore.sync` fills and points from the ``model_pointer`` row.

Modules: ``base`` (the store contract, verified fetches), ``postgresql``, ``s3``, ``pointer``
(the active row), ``sync`` (node sync), ``state`` (settings -> the app's store),
``publishing`` (:func:`publish_version`, :func:`activate`: the only ways in).
"""
from storefront.modelstore.base import ModelStore, StoreError
from storefront.modelstore.publishing import (
    activate, active_version, ensure_local, prune_store, publish_version, published_versions, version_manifest,
)
from storefront.modelstore.state import StoreState, check_settings, init_app, state

__all__ = [
    "ModelStore", "StoreError", "StoreState", "activate", "active_version", "check_settings", "ensure_local",
    "init_app", "prune_store", "publish_version", "published_versions", "state", "version_manifest",
]

"""The asset recommender of the active model version, loaded lazily in each web worker.

The asset model is published as the ``assets`` extra of a product model version, so it follows
that version: when the product ``ModelHolder`` serves version V, this module loads V's asset
files the first time a page asks, once per worker and version (``ml.resources.load``: numpy and
scipy only). A version without the extra, or with files that fail to load, gives None (logged
once) and the "Suggested next" widget serves its popularity fallbacks.

The published metrics (``assets_summary.json``) are read separately for the admin page, so an
admin view never needs the model in memory.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from ml.resources import LoadedAssets, load
from ml.resources.result import SUMMARY_FILE
from ml.artifacts import MANIFEST_FILE, read_active
from ml.serving import LoadedVersion
from storefront.recommendations.widgets import current_version
from storefront.resources.training import ARTIFACT_NAME
from storefront.recommendations.version_extras import extra_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServedAssets:
    version: str
    model: LoadedAssets


def _load(version: LoadedVersion, directory: Path) -> LoadedAssets | None:
    if ARTIFACT_NAME not in (version.manifest.get("extras") or {}):
        return None
    try:
        return load(directory)
    except Exception:  # a broken artifact must never cost a page
        log.exception("cannot load the asset recommender of version %s", version.version)
        return None


def current() -> ServedAssets | None:
    """The active version's asset recommender, or None."""
    version = current_version()
    model = extra_for(ARTIFACT_NAME, version, _load)
    return ServedAssets(version.version, model) if model is not None else None


def active_summary() -> tuple[str | None, dict[str, Any] | None]:
    """``(active version, its asset summary)``; the summary is None without an asset model."""
    model_dir = Path(current_app.config["MODEL_DIR"])
    version = read_active(model_dir)
    if version is None:
        return None, None
    try:
        manifest = json.loads((model_dir / version / MANIFEST_FILE).read_text(encoding="utf-8"))
        if ARTIFACT_NAME not in (manifest.get("extras") or {}):
            return version, None
        return version, json.loads((model_dir / version / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        log.exception("cannot read the asset summary of version %s", version)
        return version, None

"""An extra artifact of the served model version, loaded once per version in each web worker.

The customer segments, the asset recommender and the click model are optional extras of a
model version (``storefront.training.extras``). Each worker loads the one it needs on first use,
keeps it for as long as that version is served, and loads the next version's when the
``ModelHolder`` swaps: the recommender and the extras a page uses always come from the same
version. A version without the extra, or whose files fail to load (the loader logs why), has
"none" (``None``), remembered for that version, so a broken file is not retried on every request.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from flask import current_app

from ml.artifacts import sha256_file
from ml.serving import LoadedVersion

log = logging.getLogger(__name__)

T = TypeVar("T")


class VersionCache(Generic[T]):
    """The loaded extra of the last version asked for (one version at a time: the served one)."""

    def __init__(self, load: Callable[[LoadedVersion, Path], T | None]) -> None:
        self._load = load
        # (version name, its extra or None): one attribute, so readers never see the name of
        # one version with the extra of another
        self._entry: tuple[str, T | None] | None = None
        self._lock = threading.Lock()

    def get(self, version: LoadedVersion, directory: Path) -> T | None:
        entry = self._entry
        if entry is not None and entry[0] == version.version:
            return entry[1]
        with self._lock:
            entry = self._entry
            if entry is None or entry[0] != version.version:
                entry = (version.version, self._load(version, directory))
                self._entry = entry
        return entry[1]


def extra_for(key: str, version: LoadedVersion | None, load: Callable[[LoadedVersion, Path], T | None]) -> T | None:
    """The extra ``key`` of ``version`` (the one a request is served from), or None."""
    if version is None:
        return None
    cache = current_app.extensions.setdefault(f"extra:{key}", VersionCache(load))
    try:
        return cache.get(version, Path(current_app.config["MODEL_DIR"]) / version.version)
    except Exception:  # last line of defence, like recommendations.current_version
        log.exception("cannot serve the %s extra; serving without it", key)
        return None


def verified_files(version: LoadedVersion, directory: Path, name: str) -> list[str] | None:
    """The files of extra ``name`` of ``version`` (None when it has none), after checking them
    against the manifest's sha256: the version was verified when loaded, but its files may have
    changed since. Raises ValueError for a file that does not match."""
    files = (version.manifest.get("extras") or {}).get(name)
    if not files:
        return None
    recorded = version.manifest["files"]
    for file_name in files:
        if sha256_file(directory / file_name) != recorded[file_name]["sha256"]:
            raise ValueError(f"{file_name} does not match its sha256")
    return list(files)

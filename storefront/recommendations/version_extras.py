"""An extra artifact of the served model version, loaded once per version in each web worker.

The customer segments, the asset recommender and the click model are optional extras of a
model version (``storefront.training.extras``). Each worker loads the one it needs on first use,
keeps it for as long as that version is served (or is an A/B test's challenger), and loads the
next version's when the ``ModelHolder`` swaps: the recommender and the extras a widget uses
always come from the same version. A version without the extra, or whose files fail to load
(the loader logs why), has "none" (``None``), remembered for that version, so a broken file is
not retried on every request.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Generic, TypeVar

from flask import current_app

from ml.artifacts import sha256_file
from ml.serving import LoadedVersion
from storefront.experiments.serving import challenger_names

log = logging.getLogger(__name__)

T = TypeVar("T")


class VersionCache(Generic[T]):
    """The loaded extra of each version that may be asked for: the served one and, while an A/B
    test runs (``storefront.experiments``), its challenger, so requests that alternate between
    the two arms do not reload the extra on every switch. A version no longer live is dropped
    at the next load (its memory goes with it)."""

    def __init__(self, load: Callable[[LoadedVersion, Path], T | None]) -> None:
        self._load = load
        # version name -> its extra or None; replaced, never mutated, so a reader without the
        # lock sees one whole mapping
        self._entries: dict[str, T | None] = {}
        self._lock = threading.Lock()

    def get(self, version: LoadedVersion, directory: Path,
            live: Callable[[], Collection[str]] = tuple) -> T | None:
        entries = self._entries
        if version.version in entries:
            return entries[version.version]
        with self._lock:
            entries = self._entries
            if version.version not in entries:
                keep = live()
                entries = {name: extra for name, extra in entries.items() if name in keep}
                entries[version.version] = self._load(version, directory)
                self._entries = entries
        return entries[version.version]


def live_versions() -> set[str]:
    """The versions a request may be served from now: the active one and the challengers of
    the running experiments."""
    holder = current_app.extensions.get("recommender")
    served = holder.get() if holder is not None else None
    return {served.version, *challenger_names()} if served is not None else set(challenger_names())


def extra_for(key: str, version: LoadedVersion | None, load: Callable[[LoadedVersion, Path], T | None]) -> T | None:
    """The extra ``key`` of ``version`` (the one a request is served from), or None."""
    if version is None:
        return None
    cache = current_app.extensions.setdefault(f"extra:{key}", VersionCache(load))
    try:
        return cache.get(version, Path(current_app.config["MODEL_DIR"]) / version.version, live_versions)
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

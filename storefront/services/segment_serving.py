"""The served version's customer segments in a web worker: loaded lazily, once per version.

Why beside the ``ModelHolder`` rather than inside it: segments are an optional extra of a
version (see ``services.training_extras``), so the holder's contract (check and load the
recommender fully before swapping) stays as it is, and a worker that never renders a segments
widget never pays for loading them. The cache is keyed by version name: when the holder swaps
to a new version, the next request for segments loads that version's, so the recommender and
the segments a page uses always come from the same version.

A version without the extra (its builder skipped or failed), or whose files are missing,
corrupted or unreadable, has "no segments": logged once and remembered for that version (no
retry on every request); the widget falls back to trending, the admin page says why.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app

from ml.registry import sha256_file
from ml.serving import LoadedVersion

if TYPE_CHECKING:  # loading imports ml.segments (and scikit-learn) only when first needed
    from ml.segments import SegmentsResult

log = logging.getLogger(__name__)

#: The extra's name in the manifest and on the run.
SEGMENTS_EXTRA = "segments"


def customer_key(customer_id: int) -> str:
    """The id a customer has in the segments artifact (the database id as text)."""
    return str(customer_id)


class SegmentsCache:
    """The segments of the last version asked for (one version at a time: the served one)."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        # (version name, its segments or None): one attribute, so readers never see the name
        # of one version with the segments of another
        self._entry: tuple[str, SegmentsResult | None] | None = None
        self._lock = threading.Lock()

    def get(self, version: LoadedVersion | None) -> SegmentsResult | None:
        if version is None:
            return None
        entry = self._entry
        if entry is not None and entry[0] == version.version:
            return entry[1]
        with self._lock:
            entry = self._entry
            if entry is None or entry[0] != version.version:
                entry = (version.version, self._load(version))
                self._entry = entry
        return entry[1]

    def _load(self, version: LoadedVersion) -> SegmentsResult | None:
        files = (version.manifest.get("extras") or {}).get(SEGMENTS_EXTRA)
        if not files:
            log.info("model version %s has no customer segments", version.version)
            return None
        directory = self.model_dir / version.version
        try:
            recorded = version.manifest["files"]
            for name in files:  # the version was verified when loaded; the files may have changed since
                if sha256_file(directory / name) != recorded[name]["sha256"]:
                    raise ValueError(f"{name} does not match its sha256")
            from ml.segments import load

            segments = load(directory)
        except Exception:  # a broken extra costs the segments widget, never a page
            log.exception("cannot load the customer segments of version %s; serving without them",
                          version.version)
            return None
        log.info("loaded the customer segments of version %s (%d customers)", version.version,
                 len(segments.rfm))
        return segments


def segments_for(version: LoadedVersion | None) -> SegmentsResult | None:
    """The segments of ``version`` (the one a request is served from), or None."""
    cache = current_app.extensions.get("segments")
    if cache is None:
        cache = current_app.extensions.setdefault("segments", SegmentsCache(current_app.config["MODEL_DIR"]))
    try:
        return cache.get(version)
    except Exception:  # last line of defence, like recommendations.current_version
        log.exception("segments cache failed; serving without segments")
        return None

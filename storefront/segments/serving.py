"""The served version's customer segments in a web worker: loaded lazily, once per version.

Why beside the ``ModelHolder`` rather than inside it: segments are an optional extra of a
version (see ``storefront.training.extras``), so the holder's contract (check and load the
recommender fully before swapping) stays as it is, and a worker that never renders a segments
widget never pays for loading them. ``storefront.recommendations.version_extras`` keeps them per version, so the
recommender and the segments a page uses always come from the same version.

A version without the extra (its builder skipped or failed), or whose files are missing,
corrupted or unreadable, has "no segments": logged once and remembered for that version (no
retry on every request); the widget falls back to trending, the admin page says why.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ml.serving import LoadedVersion
from storefront.recommendations.version_extras import extra_for, verified_files

if TYPE_CHECKING:  # loading imports ml.segments (and scikit-learn) only when first needed
    from ml.segments import SegmentsResult

log = logging.getLogger(__name__)

#: The extra's name in the manifest and on the run.
SEGMENTS_EXTRA = "segments"


def _load(version: LoadedVersion, directory: Path) -> SegmentsResult | None:
    try:
        files = verified_files(version, directory, SEGMENTS_EXTRA)
        if files is None:
            log.info("model version %s has no customer segments", version.version)
            return None
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
    return extra_for(SEGMENTS_EXTRA, version, _load)

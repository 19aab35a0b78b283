"""The served model version in a web worker: one ``ModelHolder`` per app.

The holder notices a newly activated version within ``MODEL_CHECK_INTERVAL`` seconds and loads
it fully before swapping the reference; a broken artifact is logged and the worker keeps what it
had (or serves the fallbacks): a page never fails because of the recommender.
"""
from __future__ import annotations

import logging

from flask import Flask, current_app

from ml.serving import LoadedVersion, ModelHolder

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """One model holder per app: every request of a worker shares the loaded version."""
    app.extensions["recommender"] = ModelHolder(
        app.config["MODEL_DIR"], check_interval=float(app.config["MODEL_CHECK_INTERVAL"])
    )


def current_version() -> LoadedVersion | None:
    """The model version to serve now, or None (nothing published, or nothing loadable)."""
    holder = current_app.extensions.get("recommender")
    if holder is None:
        return None
    try:
        return holder.get()
    except Exception:  # the holder logs load errors itself; this is the last line of defence
        log.exception("model holder failed; serving the fallbacks")
        return None

"""Experiments in a web worker: which are running, and the challenger versions they serve.

**Running experiments, at no cost per page.** A worker keeps the running experiments with the
catalog version they were read at. Starting or ending one moves that version (the
``experiments`` table has the catalog's triggers, ``storefront.models.catalog_version``), and
every page reads the version anyway for its catalog snapshot, so a page asks nothing more: when
no experiment runs, nothing; after an experiment changed, one query in the first page of each
worker.

**Challenger versions.** Each is loaded the way the ``ModelHolder`` loads the active version
(``LoadedVersion.load``: every file against its sha256, shapes, a trial scoring), once per
worker and version, and kept while its experiment runs. A version that fails to load is logged
and remembered as unusable: its arm's shoppers see the champion and their impressions are not
counted (no arm is recorded), so a broken challenger can cost the test data, never a page.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from ml.artifacts import VERSION_PATTERN
from ml.serving import LoadedVersion
from storefront.catalog import snapshot
from storefront.experiments.assignment import arm_of, assignment_key
from storefront.extensions import db
from storefront.models.experiments import CHAMPION, EXPERIMENT_RUNNING, Experiment
from storefront.tracking.visitors import RequestContext

log = logging.getLogger(__name__)

MEMO_KEY = "running_experiments"
EXTENSION = "experiments"


@dataclass(frozen=True)
class RunningExperiment:
    id: int
    widget: str
    challenger_version: str
    challenger_share: float


@dataclass(frozen=True)
class Exposure:
    """A widget render inside an experiment: its arm, and the version to fill it from (None:
    the request's own, i.e. the active version)."""

    experiment_id: int
    arm: str
    version: LoadedVersion | None = None


class ExperimentCache:
    """One per app: the running experiments as of a catalog version, and the loaded challengers."""

    def __init__(self, model_dir: str | Path, fetch: Callable[[str], Any] | None = None) -> None:
        self.model_dir = Path(model_dir)
        self._fetch = fetch  # a model store's node sync: brings a challenger into the local cache
        # (catalog version, widget -> experiment): one attribute, swapped whole
        self._running: tuple[int, dict[str, RunningExperiment]] | None = None
        self._challengers: dict[str, LoadedVersion | None] = {}
        self._lock = threading.Lock()

    def running(self, catalog_version: int) -> dict[str, RunningExperiment]:
        known = self._running
        if known is not None and known[0] == catalog_version:
            return known[1]
        rows = db.session.scalars(select(Experiment).where(Experiment.status == EXPERIMENT_RUNNING))
        found = {row.widget: RunningExperiment(row.id, row.widget, row.challenger_version, row.challenger_share)
                 for row in rows}
        with self._lock:
            self._running = (catalog_version, found)
            wanted = {e.challenger_version for e in found.values()}
            # an ended experiment's challenger is no longer needed: free its memory
            self._challengers = {name: v for name, v in self._challengers.items() if name in wanted}
        return found

    def challenger_names(self) -> set[str]:
        known = self._running
        return {e.challenger_version for e in known[1].values()} if known else set()

    def challenger(self, name: str) -> LoadedVersion | None:
        """The challenger version ``name`` loaded and verified, or None (it cannot be served)."""
        challengers = self._challengers
        if name in challengers:
            return challengers[name]
        with self._lock:  # one load per version; the requests of its arm wait for it
            if name not in self._challengers:
                self._challengers = {**self._challengers, name: self._load(name)}
            return self._challengers[name]

    def _load(self, name: str) -> LoadedVersion | None:
        try:
            if not VERSION_PATTERN.match(name):
                raise ValueError(f"not a version name: {name!r}")
            if self._fetch is not None:
                self._fetch(name)
            loaded = LoadedVersion.load(self.model_dir / name)
        except Exception:
            log.exception("cannot load challenger version %s; its arm sees the champion, uncounted", name)
            return None
        log.info("loaded challenger version %s", name)
        return loaded


def init_app(app: Flask) -> None:
    node = app.extensions["model_store"].sync  # None: MODEL_STORE=local, the folder has every version
    app.extensions[EXTENSION] = ExperimentCache(app.config["MODEL_DIR"], node.ensure if node is not None else None)


def _cache() -> ExperimentCache:
    return current_app.extensions[EXTENSION]


def running(memo: MutableMapping[str, Any] | None = None) -> dict[str, RunningExperiment]:
    """widget -> its running experiment, as of this request's catalog snapshot (``memo``: the
    request context's, so a page reads it once)."""
    if memo is not None and MEMO_KEY in memo:
        return memo[MEMO_KEY]
    found = _cache().running(snapshot.current(memo).version)
    if memo is not None:
        memo[MEMO_KEY] = found
    return found


def challenger_names() -> set[str]:
    """The challenger versions of the experiments this worker knows to be running (no query)."""
    cache = current_app.extensions.get(EXTENSION)
    return cache.challenger_names() if cache is not None else set()


def exposure(ctx: RequestContext, widget: str) -> Exposure | None:
    """This shopper's arm of the experiment running on ``widget``, or None: no experiment, a
    bot or no browser (the champion, not counted), or a challenger that cannot be served here."""
    experiments = running(ctx.memo)
    experiment = experiments.get(widget) if experiments else None
    if experiment is None:
        return None
    key = assignment_key(ctx)
    if key is None:
        return None
    arm = arm_of(key, experiment.id, experiment.challenger_share)
    if arm == CHAMPION:
        return Exposure(experiment.id, arm)
    version = _cache().challenger(experiment.challenger_version)
    return Exposure(experiment.id, arm, version) if version is not None else None

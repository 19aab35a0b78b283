"""Starting and ending A/B tests of model versions (the admin's services; they flush, the view
commits).

- **Start**: a widget a model fills, a challenger among the published versions other than the
  active one (loaded and verified here exactly as a worker will load it, so a broken version is
  refused up front), the challenger's share of shoppers and the minimum clicks per arm. At most
  one running experiment per widget (checked here for the message, and by a partial unique
  index for two admins at once).
- **Promote**: activate the challenger, as training activates a version
  (``storefront.modelstore.activate``: locally every file checked, then the ``ACTIVE`` pointer
  replaced atomically; with a model store the pointer row; workers serve it within
  ``MODEL_CHECK_INTERVAL``), then end the experiment.

The versions offered and checked are the model store's when ``MODEL_STORE`` is not local (a
challenger is fetched into this node's cache to be checked).
- **Stop**: end it; the champion stays.

Either end freezes the results the decision was made on in the row (``Experiment.results``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ml.artifacts import VERSION_PATTERN, ArtifactError
from ml.serving import LoadedVersion
from storefront import modelstore
from storefront.experiments import results
from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.experiments import (
    EXPERIMENT_ENDED, EXPERIMENT_RUNNING, OUTCOME_PROMOTED, OUTCOME_STOPPED, Experiment,
)
from storefront.recommendations import registry as widget_registry

log = logging.getLogger(__name__)

DEFAULT_SHARE_PERCENT = 50
DEFAULT_MIN_CLICKS = 300


class ExperimentError(Exception):
    """A request the rules refuse; ``field`` names the form field it is about (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def widget_choices() -> list[Choice]:
    """The widgets a model version fills, by name (what impressions and experiments store)."""
    return [Choice(spec.name, f"{spec.title_for('<category>')} — {spec.placement} ({spec.name})")
            for spec in widget_registry.model_widgets()]


def challenger_choices() -> list[Choice]:
    """The published versions other than the active one, newest first, with their champion."""
    active = modelstore.active_version()
    choices = []
    for version in reversed(modelstore.published_versions()):
        if version == active:
            continue
        try:
            manifest = modelstore.version_manifest(version)
        except (ArtifactError, modelstore.StoreError, OSError, ValueError):
            continue  # unreadable: it could not be served either
        created = str(manifest.get("created_at") or "")[:16].replace("T", " ")
        choices.append(Choice(version, f"{version} — {manifest.get('champion', '?')}, {created} UTC"))
    return choices


def running_on(widget: str) -> Experiment | None:
    return db.session.scalar(
        select(Experiment).where(Experiment.widget == widget, Experiment.status == EXPERIMENT_RUNNING))


def running_challengers() -> set[str]:
    """The challenger versions of the running experiments (pruning old versions keeps them)."""
    return set(db.session.scalars(
        select(Experiment.challenger_version).where(Experiment.status == EXPERIMENT_RUNNING)))


def _check_challenger(version: str) -> None:
    if not VERSION_PATTERN.match(version) or version not in modelstore.published_versions():
        raise ExperimentError("Choose a published model version.", "challenger_version")
    if version == modelstore.active_version():
        raise ExperimentError("That version is the active one: choose another as the challenger.",
                              "challenger_version")
    try:  # what a worker will do with it: every file against its sha256, shapes, a trial scoring
        LoadedVersion.load(modelstore.ensure_local(version))
    except (ArtifactError, modelstore.StoreError) as error:
        log.warning("refused challenger %s: %s", version, error)
        raise ExperimentError(f"That version cannot be served: {error}", "challenger_version") from None


def start_experiment(widget: str, challenger_version: str, share_percent: int, min_clicks: int,
                     started_by: str) -> Experiment:
    """A running experiment on ``widget`` (flushed), or ExperimentError."""
    if widget not in {choice.value for choice in widget_choices()}:
        raise ExperimentError("Choose a widget that a model fills.", "widget")
    if not 1 <= share_percent <= 99:
        raise ExperimentError("The challenger's share must be between 1 and 99%.", "share_percent")
    if min_clicks < 1:
        raise ExperimentError("The minimum sample must be at least one click per arm.", "min_clicks")
    if running_on(widget) is not None:
        raise ExperimentError("An experiment is already running on this widget: stop it first.", "widget")
    _check_challenger(challenger_version)
    experiment = Experiment(
        widget=widget, champion_version=modelstore.active_version(), challenger_version=challenger_version,
        challenger_share=share_percent / 100, min_clicks=min_clicks, status=EXPERIMENT_RUNNING,
        started_at=utcnow(), started_by=started_by,
    )
    try:
        with db.session.begin_nested():  # another admin may have started one a moment ago
            db.session.add(experiment)
    except IntegrityError:
        raise ExperimentError("An experiment is already running on this widget: stop it first.", "widget") from None
    log.info("experiment #%d started on %s: challenger %s for %d%% of shoppers", experiment.id, widget,
             challenger_version, share_percent)
    return experiment


def _end(experiment: Experiment, outcome: str, ended_by: str) -> None:
    experiment.results = results.measure(experiment).to_dict()
    experiment.status, experiment.outcome = EXPERIMENT_ENDED, outcome
    experiment.ended_at, experiment.ended_by = utcnow(), ended_by
    db.session.flush()
    log.info("experiment #%d on %s ended: %s by %s", experiment.id, experiment.widget, outcome, ended_by)


def promote_challenger(experiment: Experiment, ended_by: str) -> None:
    """Activate the challenger version and end the experiment; ExperimentError if it has ended
    or the version can no longer be activated (then nothing changes)."""
    if not experiment.running:
        raise ExperimentError("This experiment has already ended.")
    try:
        modelstore.activate(experiment.challenger_version, by=ended_by)
    except (ArtifactError, modelstore.StoreError, OSError, ValueError) as error:
        log.warning("cannot promote %s: %s", experiment.challenger_version, error)
        raise ExperimentError(f"Version {experiment.challenger_version} cannot be activated: {error}") from None
    _end(experiment, OUTCOME_PROMOTED, ended_by)


def stop_experiment(experiment: Experiment, ended_by: str) -> None:
    """End the experiment; the active version stays. ExperimentError if it has ended."""
    if not experiment.running:
        raise ExperimentError("This experiment has already ended.")
    _end(experiment, OUTCOME_STOPPED, ended_by)

"""What Admin -> ML shows of the A/B tests: each experiment with its numbers per arm."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ml.artifacts import MANIFEST_FILE, VERSION_PATTERN
from storefront.experiments.results import ATTRIBUTION_WINDOW, Results, results_of
from storefront.extensions import db
from storefront.models.experiments import EXPERIMENT_RUNNING, Experiment
from storefront.recommendations.registry import WIDGET_TITLES

ENDED_SHOWN = 20


@dataclass(frozen=True)
class ExperimentRow:
    experiment: Experiment
    results: Results
    # the challenger's files are gone (pruned or deleted by hand): its arm sees the champion
    # and is no longer counted, so the test cannot finish
    challenger_missing: bool = False

    @property
    def widget_title(self) -> str:
        return WIDGET_TITLES.get(self.experiment.widget, self.experiment.widget)


@dataclass(frozen=True)
class ExperimentBoard:
    running: list[ExperimentRow]
    ended: list[ExperimentRow]
    window_hours: int = int(ATTRIBUTION_WINDOW.total_seconds() // 3600)


def _missing(version: str) -> bool:
    if not VERSION_PATTERN.match(version):
        return True
    return not (Path(current_app.config["MODEL_DIR"]) / version / MANIFEST_FILE).is_file()


def board(ended_shown: int = ENDED_SHOWN) -> ExperimentBoard:
    """The running experiments, measured now, and the latest ended ones with their final numbers."""
    running = list(db.session.scalars(
        select(Experiment).where(Experiment.status == EXPERIMENT_RUNNING).order_by(Experiment.started_at.desc())))
    ended = list(db.session.scalars(
        select(Experiment).where(Experiment.status != EXPERIMENT_RUNNING)
        .order_by(Experiment.ended_at.desc(), Experiment.id.desc()).limit(ended_shown)))
    return ExperimentBoard(
        running=[ExperimentRow(e, results_of(e), _missing(e.challenger_version)) for e in running],
        ended=[ExperimentRow(e, results_of(e)) for e in ended],
    )

"""Extra artifacts published in the same model version as the recommender (customer segments,
later the asset recommender), built by the training job without ever putting the recommender at
risk.

Why a hook rather than more code in the job: every version is one consistent snapshot (serving
swaps the recommender and its extras together), but the recommender is what the shop cannot do
without. So an extra that fails is logged, recorded on the run and left out; the version is
published without it.

Registering a builder is one line in ``storefront.training.job.EXTRA_BUILDERS``::

    EXTRA_BUILDERS: dict[str, ExtraBuilder] = {
        "segments": segments.build_extra,
        "assets": asset_training.build_extra,      # <- a new extra
    }

The key names the extra in the manifest (``manifest["extras"][name]``: its files) and on the run
(``run.params["extras"][name]``). A builder is ``builder(context) -> writer``:

- it gets an :class:`ExtraContext` (the events the recommender was trained on, the
  ``TrainingResult``, and a ``summary`` dict it may fill with JSON-ready numbers worth showing
  without loading the artifact; it is recorded for a skipped extra too); it runs inside the job's app context, so it may query the
  database (read only);
- it does the heavy work and returns ``writer(directory) -> [file names]`` (the shape
  ``ml.registry.ModelRegistry.publish`` takes), or raises :class:`SkipExtra` when there is
  nothing to publish (e.g. no orders yet): recorded as ``skipped``, not ``failed``.

The writer runs at once, into a staging directory next to the versions, so a writer that fails
half way is caught here too; ``publish`` then only moves finished files into the version.
Recorded per extra: ``status`` (ok / skipped / failed), ``seconds`` (build and write),
``files``, ``summary``, and ``error`` or ``reason``.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ml.artifacts import IDS_FILE, MANIFEST_FILE, USER_ITEMS_FILE
from ml.registry import ExtraWriter
from ml.training import TrainingResult
from storefront.extensions import db

log = logging.getLogger(__name__)

#: Staging directories share the registry's temporary prefix, so ``ModelRegistry.prune``
#: removes any a killed job left behind.
STAGING_PREFIX = ".tmp-extras-"
ERROR_MAX_CHARS = 2000


class SkipExtra(Exception):
    """Raised by a builder when there is nothing to publish; the message says why."""


@dataclass
class ExtraContext:
    """What a builder gets: the training data and result, and a summary to fill."""

    events: pd.DataFrame
    result: TrainingResult
    summary: dict[str, Any] = field(default_factory=dict)


ExtraBuilder = Callable[[ExtraContext], ExtraWriter]


@dataclass
class StagedExtras:
    """The writers to hand to ``publish`` (only extras that were built and written) and the
    record of every extra, for the run."""

    writers: dict[str, ExtraWriter] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


@contextmanager
def staged_extras(
    builders: Mapping[str, ExtraBuilder],
    events: pd.DataFrame,
    result: TrainingResult,
    model_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> Iterator[StagedExtras]:
    """Build and write every extra into a staging directory under ``model_dir``; yield the
    writers that move them into a version. The staging directory is removed on exit."""
    staged = StagedExtras()
    model_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=model_dir))
    taken = {MANIFEST_FILE, IDS_FILE, USER_ITEMS_FILE, *(f"{role}.npz" for role in result.models)}
    try:
        for name, builder in builders.items():
            if progress is not None:
                progress(name)
            _stage_one(name, builder, ExtraContext(events, result), staging / name, staged, taken)
        yield staged
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _stage_one(name: str, builder: ExtraBuilder, context: ExtraContext, directory: Path,
               staged: StagedExtras, taken: set[str]) -> None:
    started = time.perf_counter()
    directory.mkdir()
    try:
        writer = builder(context)
        files = [str(f) for f in writer(directory)]
        _check_files(directory, files, taken)
    except SkipExtra as skip:
        log.info("extra artifact %r skipped: %s", name, skip)
        # what a builder measured before deciding to skip (e.g. a model that did not beat its
        # baseline) is worth showing all the same
        staged.records[name] = {"status": "skipped", "reason": str(skip), "summary": context.summary,
                                "seconds": round(time.perf_counter() - started, 4)}
        return
    except Exception as error:  # noqa: BLE001 - an extra must never fail the recommender's run
        log.exception("extra artifact %r failed; publishing the version without it", name)
        db.session.rollback()  # builders only read; a failed query would poison the session
        staged.records[name] = {
            "status": "failed", "error": f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS],
            "seconds": round(time.perf_counter() - started, 4),
        }
        return
    staged.records[name] = {
        "status": "ok", "files": files, "seconds": round(time.perf_counter() - started, 4),
        "summary": context.summary,
    }
    staged.writers[name] = _mover(directory, files)
    taken.update(files)


def _check_files(directory: Path, files: list[str], taken: set[str]) -> None:
    """The writer must name exactly the plain files it wrote, and none may clash with a file
    of the recommender or of another extra: in the version they share one directory, and a
    clash found while publishing would cost the whole version."""
    written = sorted(p.name for p in directory.iterdir())
    if sorted(files) != written:
        raise ValueError(f"the writer returned {sorted(files)} but wrote {written}")
    if any(not (directory / f).is_file() for f in files):
        raise ValueError("extra artifacts must be plain files")
    clashes = sorted(taken.intersection(files))
    if clashes:
        raise ValueError(f"file name(s) already used in the version: {', '.join(clashes)}")


def _mover(source: Path, files: list[str]) -> ExtraWriter:
    """A writer for ``publish`` that moves the staged files into the version directory."""

    def write(directory: Path) -> list[str]:
        for name in files:
            if (directory / name).exists():
                raise FileExistsError(f"extra file {name} clashes with another file of the version")
            os.replace(source / name, directory / name)
        return list(files)

    return write

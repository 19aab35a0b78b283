"""The click model in the training job: the ``ctr`` extra of a model version.

Reads the impressions and clicks (``storefront.ctr.data``), trains logistic regression, a
factorization machine and xDeepFM on the same rows with a time split (the latest 20 % of
impressions are the test set), and publishes xDeepFM's numpy export with the version only when
it beats logistic regression on test AUC: a click model that cannot beat the linear baseline
would only make the shelves worse. The comparison (AUC, log loss, calibration, training time per
model) is recorded on the run either way, for the admin page.

Settings (app config, optional): ``CTR_ENABLED`` (default True), ``CTR_BUDGET_SECONDS`` (per
model; default 60), ``CTR_MIN_IMPRESSIONS`` (rows, default 2,000) and ``CTR_MIN_CLICKS``
(default 50): below those there is nothing to learn from yet.
"""
from __future__ import annotations

import logging
import sys
from typing import Any

import numpy as np
from flask import current_app

from ml.registry import ExtraWriter
from storefront.ctr import data as ctr_data
from storefront.ctr.features import FEATURE_COLUMNS
from storefront.ctr.serving import BUCKETS_FILE, CTR_EXTRA
from storefront.training.extras import ExtraContext, SkipExtra

__all__ = ["CTR_EXTRA", "build_extra", "PUBLISHED_KIND"]

log = logging.getLogger(__name__)

PUBLISHED_KIND = "xdeepfm"
BASELINE_KIND = "lr"


def build_extra(context: ExtraContext) -> ExtraWriter:
    config = current_app.config
    if not config.get("CTR_ENABLED", True):
        raise SkipExtra("the click model is switched off (CTR_ENABLED)")
    table, buckets = ctr_data.training_table(context.result)
    rows, clicks = len(table), int(table[ctr_data.LABEL].sum()) if len(table) else 0
    minimum_rows, minimum_clicks = int(config.get("CTR_MIN_IMPRESSIONS", 2000)), int(config.get("CTR_MIN_CLICKS", 50))
    if rows < minimum_rows or clicks < minimum_clicks or clicks == rows:
        raise SkipExtra(f"not enough click data yet: {rows:,} impression rows and {clicks:,} clicks "
                        f"(needs {minimum_rows:,} and {minimum_clicks:,})")
    from ml.ctr import CtrTrainConfig, compare_ctr_models  # torch: only in the training process

    train_config = CtrTrainConfig(time_budget_seconds=float(config.get("CTR_BUDGET_SECONDS", 60)),
                                  seed=int(config.get("TRAINING_SEED", 42)))
    comparison = compare_ctr_models(
        table, FEATURE_COLUMNS, label_column=ctr_data.LABEL, time_column=ctr_data.TIME,
        config=train_config, progress=sys.stderr.isatty(),
    )
    context.summary.update(summarise(comparison, rows, clicks))
    published = comparison.results[PUBLISHED_KIND]
    baseline = comparison.results[BASELINE_KIND]
    if not comparison.beats_lr(PUBLISHED_KIND):
        raise SkipExtra(f"xDeepFM did not beat logistic regression on test AUC "
                        f"({published.auc:.4f} vs {baseline.auc:.4f}): no click model published")
    context.summary["published"] = PUBLISHED_KIND

    def write(directory) -> list[str]:
        files = comparison.save(directory, prefix="ctr", kind=PUBLISHED_KIND)
        np.savez(directory / BUCKETS_FILE, **buckets.to_arrays())
        return [*files, BUCKETS_FILE]

    return write


def summarise(comparison, rows: int, clicks: int) -> dict[str, Any]:
    """What the admin page and ``flask ml train`` show: data sizes and one row per model
    (AUC, log loss, calibration, training time, how it stopped)."""
    return {
        "rows": rows, "clicks": clicks, "base_rate": round(float(comparison.base_rate), 5),
        "base_log_loss": round(float(comparison.base_log_loss), 6),
        "models": [{**row, "kind": row["model"]} for row in comparison.table()], "published": None,
    }

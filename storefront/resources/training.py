"""The shop's asset interactions as the frames ``ml.resources`` expects, and the asset model build.

:func:`build_extra` is the training job's extras builder (``storefront.training.extras``): it
publishes the asset recommender in the same model version as the product models, or skips
when there is too little B2B data (a shop without gated content still trains its product
models). :func:`build_asset_artifacts` is the same for a direct ``ModelRegistry.publish``.

Ids: a user is :func:`~storefront.tracking.visitors.ml_user_id` (what serving asks with), an
item is the asset's database id as text, so assets created in the shop (no export hash) are
learnt like imported ones. Strength = type weight x the summed ``count`` of the visitor's
``form_submission`` events, weights from ``ASSET_TYPE_WEIGHTS`` (overrides of the marketing
team's defaults, validated by ``ml.resources.type_weights``).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app
from sqlalchemy import func, select

from ml.resources import AssetConfig, AssetResult, save, train_assets
from ml.constants import TIME_COL
from ml.datasets.b2b import ASSET_TYPE, ASSET_TYPES, COOKIE, PAGE, SUBMISSIONS, UNIT
from ml.registry import ExtraWriter
from storefront.extensions import db
from storefront.models import FORM_SUBMISSION, Asset, BusinessUnit, Event, asset_business_units
from storefront.tracking.visitors import ml_user_id
from storefront.training.extras import ExtraContext, SkipExtra

log = logging.getLogger(__name__)

ARTIFACT_NAME = "assets"
MIN_VISITORS = 2
MIN_ASSETS = 2


@dataclass(frozen=True)
class AssetFrames:
    """``submissions`` and ``bu_mapping`` in the reader's shape (see ``ml.datasets.b2b``)."""

    submissions: pd.DataFrame
    bu_mapping: pd.DataFrame

    @property
    def enough(self) -> bool:
        return (self.submissions[COOKIE].nunique() >= MIN_VISITORS
                and self.submissions[PAGE].nunique() >= MIN_ASSETS)

    def describe(self) -> str:
        return (f"{len(self.submissions):,} visitor/asset pairs from "
                f"{self.submissions[COOKIE].nunique():,} visitors on "
                f"{self.submissions[PAGE].nunique():,} assets")


def asset_config(k: int = 10, seed: int | None = None, candidates: Sequence[str] | None = None,
                 **protocol: Any) -> AssetConfig:
    """The asset pipeline's settings for this app (``ValueError`` on a bad weight override, an
    unknown candidate or a bad protocol). ``protocol``: ``split``, ``test_fraction``, ``search``
    or ``min_bu_hit_rate`` for an evaluation (``ASSET_MIN_BU_HIT_RATE`` otherwise)."""
    config = current_app.config
    options: dict[str, Any] = {"min_bu_hit_rate": float(config.get("ASSET_MIN_BU_HIT_RATE", 0.6))}
    if seed is not None:
        options["seed"] = seed
    if candidates:
        options["candidates"] = tuple(candidates)
    options.update({key: value for key, value in protocol.items() if value is not None})
    return AssetConfig(
        type_weights=dict(config.get("ASSET_TYPE_WEIGHTS") or {}),
        num_threads=int(config.get("TRAINING_THREADS", 0)),
        k=k, **options,
    )


def load_asset_frames() -> AssetFrames:
    """Every ``form_submission`` summed per (user, asset), and every asset's business units."""
    count = func.coalesce(Event.properties["count"].as_integer(), 1)
    query = (
        select(Event.visitor_id, Event.customer_id, Event.asset_id, Asset.type, func.sum(count),
               func.max(Event.occurred_at))
        .join(Asset, Asset.id == Event.asset_id)
        .where(Event.type == FORM_SUBMISSION)
        .group_by(Event.visitor_id, Event.customer_id, Event.asset_id, Asset.type)
    )
    rows = db.session.execute(query).all()
    known = set(ASSET_TYPES)
    strange = {kind for *_, kind, _, _ in rows if kind not in known}
    if strange:
        log.warning("assets of unknown type(s) %s are weighted as 'Unspecified'", sorted(strange))
    submissions = pd.DataFrame({
        COOKIE: pd.Series([ml_user_id(v, c) for v, c, *_ in rows], dtype="str"),
        ASSET_TYPE: pd.Series([k if k in known else "Unspecified" for *_, k, _, _ in rows], dtype="str"),
        PAGE: pd.Series([str(a) for _, _, a, _, _, _ in rows], dtype="str"),
        SUBMISSIONS: np.maximum(np.asarray([int(n or 1) for *_, n, _ in rows], dtype=np.int64), 1),
        # the latest submission of the pair: what the time split of an evaluation orders by
        TIME_COL: pd.to_datetime(pd.Series([when for *_, when in rows], dtype="object"), utc=True),
    })
    links = db.session.execute(
        select(BusinessUnit.code, asset_business_units.c.asset_id)
        .join(BusinessUnit, BusinessUnit.id == asset_business_units.c.business_unit_id)
    ).all()
    mapping = pd.DataFrame({
        UNIT: pd.Series([code for code, _ in links], dtype="str"),
        PAGE: pd.Series([str(asset_id) for _, asset_id in links], dtype="str"),
    })
    return AssetFrames(submissions, mapping)


def train_on_shop(k: int = 10, seed: int | None = None, candidates: Sequence[str] | None = None,
                  **protocol: Any) -> AssetResult | None:
    """Train and evaluate every asset candidate (or ``candidates``) on the shop's data; None
    when too little. ``protocol``: see :func:`asset_config`."""
    frames = load_asset_frames()
    if not frames.enough:
        log.info("asset recommender not trained: %s (need %d visitors and %d assets)",
                 frames.describe(), MIN_VISITORS, MIN_ASSETS)
        return None
    log.info("training the asset recommender on %s", frames.describe())
    return train_assets(frames.submissions, frames.bu_mapping, asset_config(k, seed, candidates, **protocol))


def headline(result: AssetResult) -> dict[str, object]:
    """The few numbers worth showing on a training run without opening the artifact."""
    k = result.config.k
    best = result.metrics.get(result.champion, {})
    names = (f"hit_rate@{k}", f"ndcg@{k}", f"recall@{k}", f"bu_hit_rate@{k}", f"top_hit_rate@{k}")
    return {
        "champion": result.champion,
        "why": result.selection,
        **{name: best.get(name) for name in names},
        f"popularity_ndcg@{k}": result.baseline.get(f"ndcg@{k}"),
        "visitors": result.data.get("visitors"), "assets": result.data.get("assets"),
    }


def build_extra(context: ExtraContext) -> ExtraWriter:
    """The training job's extras hook (``EXTRA_BUILDERS["assets"] = build_extra``).

    Trains now (on the database's form submissions, not on ``context.events``, which are the
    product events), fills ``context.summary`` with the headline metrics and returns the writer
    of ``ml.resources.save``'s files. Raises ``SkipExtra`` when the shop has too little asset data.
    """
    result = train_on_shop()
    if result is None:
        raise SkipExtra(f"too few form submissions (need {MIN_VISITORS} visitors on {MIN_ASSETS} assets)")
    context.summary.update(headline(result))
    return lambda directory: save(result, directory)


def build_asset_artifacts() -> dict[str, ExtraWriter]:
    """The same build for a direct ``ModelRegistry.publish(result, extras=...)``:
    ``{"assets": writer}``, or ``{}`` when there is too little asset data."""
    try:
        return {ARTIFACT_NAME: build_extra(ExtraContext(pd.DataFrame(), None))}
    except SkipExtra:
        return {}

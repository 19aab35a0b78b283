"""The offline diversity report of the shop (``flask ml evaluate-diversity``).

The re-ranking and the metrics are ``ml.ranking``'s; this module hands them what only the shop
knows: its events, each product's category and brand, and which model it serves (the active
version's champion, with the parameters and event weights it was tuned to). Nothing is published.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from ml.ranking.report import DiversityReport, evaluate_diversity
from storefront.extensions import db
from storefront.models import Product
from storefront.training import data as training_data
from storefront.training import job as training
from storefront.tracking.visitors import ml_item_id


class NoModel(LookupError):
    """No model was named and no version is active."""


@dataclass(frozen=True)
class ModelChoice:
    name: str
    params: dict[str, Any]
    event_weights: dict[str, float]
    half_life_days: float | None
    source: str  # for the report: where the parameters come from


def item_labels() -> pd.DataFrame:
    """``item_id`` (the models' id), ``category`` (the product's own category, a leaf of the
    tree) and ``brand`` of every product, active or not: a product sold out today may still be
    in last month's held-out events."""
    rows = db.session.execute(select(Product.id, Product.category_id, Product.brand)).all()
    return pd.DataFrame({"item_id": [ml_item_id(r.id) for r in rows],
                         "category": [r.category_id for r in rows],
                         "brand": [r.brand or None for r in rows]}, columns=["item_id", "category", "brand"])


def champion_choice(model: str | None = None) -> ModelChoice:
    """The model to report on: ``model`` at its defaults, or else the active version's champion
    with its tuned parameters, event weights and recency setting."""
    if model:
        return ModelChoice(model, {}, {}, None, "default parameters")
    version = training.active_version()
    if version is None:
        raise NoModel("no model version is active: run flask ml train first, or name a model with --model")
    try:
        manifest = json.loads((training.model_dir() / version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise NoModel(f"the active version {version} has no readable manifest ({error}); name a model with --model") from None
    name = manifest.get("champion")
    if not isinstance(name, str):
        raise NoModel(f"the active version {version} names no champion; name a model with --model")
    config = manifest.get("config") or {}
    return ModelChoice(name, dict(manifest.get("params") or {}), dict(manifest.get("event_weights") or {}),
                       config.get("recency_half_life_days"), f"the champion of version {version}, as tuned")


def evaluate(choice: ModelChoice, *, split: str = "time", test_fraction: float = 0.2, k: int = 10,
             relevance: str = "rank", seed: int = 42,
             progress: Callable[[str, dict], None] | None = None) -> DiversityReport:
    """Every diversity level of ``choice`` on the shop's events (``ml.ranking.report``)."""
    events = training_data.load_events_frame()
    training_data.check_enough_feedback(events)
    return evaluate_diversity(events, item_labels(), choice.name, choice.params, choice.event_weights,
                              split=split, test_fraction=test_fraction, k=k, relevance=relevance, seed=seed,
                              half_life_days=choice.half_life_days, progress=progress)

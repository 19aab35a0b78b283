"""``flask ml evaluate-baskets``: "frequently bought together" against similar items, also-bought
and popularity on held-out baskets of the shop (``ml.training.basket_protocol``), and, where the
catalogue has planted complement pairs, whether they are found.

Planted pairs come from a CSV (``sku,complement_sku``) or, for the demo shop, from the demo seed
itself: ``ml.synth.planted`` rebuilds the demo catalogue of a seed for the shop's numbers of
products and categories, and the pairs are used only when every product of that catalogue is in
the shop under the same SKU and name (a real shop never matches, so it is never judged on
made-up pairs).
"""
from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from ml.synth.planted import demo_catalog, planted_complements
from ml.synth.shop import SynthConfig
from ml.training.basket_protocol import BasketEvaluation, BasketProtocol, evaluate_baskets

from storefront.extensions import db
from storefront.models import Category, Product
from storefront.tracking.visitors import ml_item_id
from storefront.training.data import check_enough_feedback, load_events_frame, load_items_frame
from storefront.training.job import training_config

AUTO = "auto"


@dataclass(frozen=True)
class PlantedPairs:
    pairs: pd.DataFrame | None  # item_id, complement_id (ml ids); None: none known
    source: str  # where they come from, or why there are none


def _sku_ids() -> dict[str, int]:
    return dict(db.session.execute(select(Product.sku, Product.id)).all())


def _as_item_pairs(frame: pd.DataFrame, ids: dict[str, int]) -> pd.DataFrame:
    """(sku, complement_sku) -> (item_id, complement_id) for the SKUs the shop has."""
    known = frame["sku"].isin(ids.keys()) & frame["complement_sku"].isin(ids.keys())
    return pd.DataFrame({
        "item_id": [ml_item_id(ids[s]) for s in frame.loc[known, "sku"]],
        "complement_id": [ml_item_id(ids[s]) for s in frame.loc[known, "complement_sku"]],
    }, columns=["item_id", "complement_id"])


def demo_pairs(seed: int) -> PlantedPairs:
    """The pairs planted by ``flask shop seed --seed SEED`` when this shop is that demo shop."""
    products = db.session.scalar(select(func.count()).select_from(Product)) or 0
    leaves = db.session.scalar(select(func.count()).select_from(Category).where(Category.parent_id.isnot(None))) or 0
    roots = db.session.scalar(select(func.count()).select_from(Category).where(Category.parent_id.is_(None))) or 0
    if not products or not leaves:
        return PlantedPairs(None, "none: the shop has no catalogue")
    if db.session.scalar(select(Product.id).where(Product.sku == "SKU-000001")) is None:
        return PlantedPairs(None, "none: not a demo catalogue")  # cheap: rebuilding a big catalogue is not
    try:
        config = SynthConfig(seed=seed, n_departments=roots, n_categories=leaves, n_products=products)
        catalog = demo_catalog(config)
    except (ValueError, IndexError) as refused:  # sizes no demo seed produces
        return PlantedPairs(None, f"none: not a demo catalogue ({refused})")
    names = dict(db.session.execute(select(Product.sku, Product.name)).all())
    if any(names.get(sku) != name for sku, name in zip(catalog["sku"], catalog["name"])):
        return PlantedPairs(None, f"none: the catalogue is not the demo seed {seed}'s")
    pairs = _as_item_pairs(planted_complements(config), _sku_ids())
    return PlantedPairs(pairs, f"demo seed {seed} ({len(pairs)} planted pairs)")


def csv_pairs(path: Path) -> PlantedPairs:
    """Pairs from a ``sku,complement_sku`` CSV (rows naming an unknown SKU are left out)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"sku", "complement_sku"} <= set(rows[0]):
        raise ValueError(f"{path}: the header must name sku and complement_sku")
    frame = pd.DataFrame(rows, columns=["sku", "complement_sku"]).astype(str)
    pairs = _as_item_pairs(frame, _sku_ids())
    return PlantedPairs(pairs, f"{path} ({len(pairs)} of {len(frame)} pairs in the catalogue)")


def hidden_items() -> list[str]:
    """The products a widget would not show now (inactive or out of stock)."""
    ids = db.session.scalars(select(Product.id).where((Product.active.is_(False)) | (Product.stock <= 0)))
    return [ml_item_id(i) for i in ids]


def evaluate_shop_baskets(protocol: BasketProtocol, planted: PlantedPairs) -> BasketEvaluation:
    """The shop's events and catalogue under ``protocol``; nothing is published."""
    events = load_events_frame()
    check_enough_feedback(events)
    config = dataclasses.replace(training_config(), search=False)  # the helper models as training fits them
    return evaluate_baskets(events, protocol, config, items=load_items_frame(), planted=planted.pairs,
                            hidden=hidden_items())

"""The catalogue as training's items frame, and "frequently bought together" published with it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from ml.artifacts import COMPLEMENTS, read_active
from ml.serving import LoadedVersion
from storefront.extensions import db
from storefront.models import RUN_SUCCEEDED, Product
from storefront.tracking.visitors import ml_item_id
from storefront.training import job as training
from storefront.training.data import load_items_frame
from tests import factories


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False, "TRAINING_DEEP_MODELS": False}


def test_the_items_frame_names_each_products_category_brand_and_price(app_ctx):
    leaf = factories.category("Headphones", factories.category("Electronics"))
    branded = factories.product(leaf, brand="Nordvik", price="89.50")
    blank = factories.product(leaf, brand="  ", price="5.00")
    frame = load_items_frame().set_index("item_id")
    assert list(frame.columns) == ["category", "brand", "price"]
    assert frame.loc[ml_item_id(branded.id)].tolist() == [str(leaf.id), "Nordvik", 89.5]
    assert frame.loc[ml_item_id(blank.id), "brand"] is None
    assert frame["price"].dtype == np.float64


def test_training_publishes_complements_that_know_the_categories(seeded, app_ctx):
    run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    model_dir = Path(training.model_dir())
    version = LoadedVersion.load(model_dir / read_active(model_dir))
    model = version.models[COMPLEMENTS]
    product = db.session.scalars(select(Product).order_by(Product.id).limit(1)).one()
    assert model.category_of(version.id_map.item_index(ml_item_id(product.id))) == str(product.category_id)
    assert any(version.complement_categories(str(c)) for c in model.category_labels)

"""Helpers for the recommendation tests: real data, real training, and reading widgets back.

Models are trained for real (a few hundred milliseconds on these shops) on events read back
from the database with the same identity functions serving uses, then published with the
registry exactly as the training job does. Nothing under test is mocked.
"""
from __future__ import annotations

import html as html_lib
import random
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
from sqlalchemy import insert, select

from ml.registry import ModelRegistry
from ml.training import TrainingConfig, train
from storefront.models import CLICK, Category, Event, Impression, Product, Visitor
from storefront.models.common import utcnow
from storefront.tracking.visitors import ml_item_id, ml_user_id
from storefront.training.data import load_items_frame
from tests.fresh_schema import seed_once
from tests.storefront.support.shop import ctx

SMALL_SHOP = [
    "shop", "seed", "--products", "120", "--categories", "8", "--customers", "150",
    "--anonymous", "80", "--events", "12000", "--days", "40", "--end-date", "2026-01-01", "--b2b-visitors", "0",
]
FAST_TRAINING = {"candidates": ("popularity", "item_knn_cosine", "als"), "search": False, "num_threads": 1}


def seed_small_shop(runner) -> None:
    """``flask shop seed`` with SMALL_SHOP; on a fresh SQLite database, a copy of the first such
    seed of the session (the same rows: see tests/fresh_schema.py)."""
    seed_once(runner, SMALL_SHOP)


def events_frame(app) -> pd.DataFrame:
    """Every product event as the ``ml`` events frame, with serving's user and item ids."""
    with ctx(app) as session:
        rows = session.execute(
            select(Event.visitor_id, Event.customer_id, Event.product_id, Event.type,
                   Event.occurred_at, Event.order_id, Event.session_id)
            .where(Event.product_id.is_not(None), Event.type != CLICK)  # as training_data reads them
        ).all()
    return pd.DataFrame(
        [
            {"user_id": ml_user_id(v, c), "item_id": ml_item_id(p), "event": kind, "timestamp": at,
             "basket_id": str(order) if order else None, "session_id": sid or None}
            for v, c, p, kind, at, order, sid in rows
        ]
    )


def train_and_publish(app, **config) -> str:
    """Train on the database's events and catalogue (the items frame "frequently bought
    together" reads, as the job does) and activate the result; returns the version name."""
    with app.app_context():
        items = load_items_frame()
    result = train(events_frame(app), TrainingConfig(**{**FAST_TRAINING, **config}), items=items)
    return ModelRegistry(app.config["MODEL_DIR"]).publish(result)


def corrupt(app, version: str, file_name: str = "recommender.npz") -> None:
    """Truncate one artifact file of a published version (its sha256 no longer matches)."""
    path = Path(app.config["MODEL_DIR"]) / version / file_name
    path.write_bytes(path.read_bytes()[:100])


@dataclass
class PlantedShop:
    groups: dict[int, list[int]]  # taste group -> product ids

    def group_of(self, product_id: int) -> int:
        return next(g for g, ids in self.groups.items() if product_id in ids)


def plant_groups(app, n_groups: int = 4, per_group: int = 12, n_categories: int = 3,
                 shoppers: int = 200, seed: int = 7) -> PlantedShop:
    """A shop whose shoppers each browse and buy within one of ``n_groups`` taste groups.

    Groups cut across categories (every category holds every group), so only a model that
    learnt the co-occurrences can tell them apart: the category fallback cannot.
    """
    rng = random.Random(seed)
    with ctx(app) as session:
        categories = [Category(name=f"Planted {i}", slug=f"planted-{i}") for i in range(n_categories)]
        session.add_all(categories)
        groups: dict[int, list[Product]] = {}
        for group in range(n_groups):
            groups[group] = [
                Product(sku=f"PL-{group}-{k}", name=f"Group {group} item {k}", brand="Planted",
                        price=Decimal("10.00"), stock=50, category=categories[k % n_categories])
                for k in range(per_group)
            ]
            session.add_all(groups[group])
        session.flush()
        session.execute(insert(Visitor), [{"token": f"planted-{i:04d}"} for i in range(shoppers)])
        visitor_ids = list(session.scalars(select(Visitor.id).where(Visitor.token.like("planted-%"))))
        start = utcnow() - timedelta(days=30)
        rows = []
        for index, visitor_id in enumerate(visitor_ids):
            group = groups[index % n_groups]
            for position, product in enumerate(rng.sample(group, 7)):
                at = start + timedelta(days=rng.uniform(0, 28))
                rows.append({"visitor_id": visitor_id, "product_id": product.id, "type": "view",
                             "occurred_at": at, "session_id": f"s{visitor_id}", "device": "desktop"})
                if position < 2:
                    rows.append({"visitor_id": visitor_id, "product_id": product.id, "type": "addtocart",
                                 "occurred_at": at + timedelta(minutes=1), "session_id": f"s{visitor_id}",
                                 "device": "desktop"})
        session.execute(insert(Event), rows)
        session.commit()
        return PlantedShop({g: [p.id for p in products] for g, products in groups.items()})


@dataclass
class Shelf:
    widget: str
    strategy: str
    model_version: str | None
    product_ids: list[int]
    hrefs: list[str]
    reasons: list[str] = None  # the reason printed under each card ("" where none)


_SHELF = re.compile(
    r'<section class="shelf widget" data-widget="([^"]*)" data-strategy="([^"]*)"\s+'
    r'data-model-version="([^"]*)".*?</section>',
    flags=re.S,
)
_CARD_LINK = re.compile(r'<article class="card shelf-card">\s*<a href="([^"]*)"')
_CARD = re.compile(r'<article class="card shelf-card">.*?</article>', flags=re.S)
_REASON = re.compile(r'<p class="reason muted">(.*?)</p>', flags=re.S)


def shelves(response) -> dict[str, Shelf]:
    """The recommendation widgets of a page, by widget name."""
    found = {}
    for match in _SHELF.finditer(response.get_data(as_text=True)):
        hrefs = [html_lib.unescape(h) for h in _CARD_LINK.findall(match.group(0))]
        ids = [int(re.match(r"/products/(\d+)", h).group(1)) for h in hrefs]
        reasons = [html_lib.unescape(r.group(1)) if (r := _REASON.search(card)) else ""
                   for card in _CARD.findall(match.group(0))]
        found[match.group(1)] = Shelf(match.group(1), match.group(2), match.group(3) or None, ids, hrefs, reasons)
    return found


def impressions(app) -> list[Impression]:
    with ctx(app) as session:
        rows = list(session.scalars(select(Impression).order_by(Impression.id)))
        session.expunge_all()
        return rows

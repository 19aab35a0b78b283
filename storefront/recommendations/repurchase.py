""""Buy it again": repeat-purchase categories learnt at training time, served per model version.

The training job's ``repurchase`` extra (``storefront.training.extras``) learns, from the purchases
the recommender was trained on, which categories people buy again and after how many days
(:func:`ml.repurchase.repurchase_cycles`); it is published in the model version as one JSON file, so
a web worker reads it once per version and a page costs no query. The step then offers what the
shopper bought in such a category once its interval has (nearly) passed
(:func:`ml.repurchase.due_items`).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from ml.repurchase import CategoryCycle, due_items, repurchase_cycles
from ml.serving import LoadedVersion
from storefront.catalog.snapshot import CatalogSnapshot
from storefront.extensions import db
from storefront.models import Product
from storefront.recommendations.version_extras import extra_for, verified_files
from storefront.training.extras import ExtraContext, SkipExtra

log = logging.getLogger(__name__)

REPURCHASE_EXTRA = "repurchase"
CYCLES_FILE = "repurchase_cycles.json"
PURCHASE = "transaction"  # the training frame's purchase event


def build_extra(context: ExtraContext):
    """Learn the repeat-purchase categories from the training frame's purchases."""
    events = context.events
    if events.empty or "event" not in events.columns:
        raise SkipExtra("no purchases to learn repeat-purchase intervals from")
    purchases = events[events["event"] == PURCHASE]
    if purchases.empty:
        raise SkipExtra("no purchases to learn repeat-purchase intervals from")
    ids = {int(item) for item in purchases["item_id"].unique() if str(item).isdigit()}
    categories = dict(db.session.execute(select(Product.id, Product.category_id).where(Product.id.in_(ids))).all())
    cycles = repurchase_cycles(purchases, {str(pid): cid for pid, cid in categories.items()})
    context.summary.update({"repeat_purchase_categories": len(cycles)})
    payload = {str(cid): {"buyers": c.buyers, "repeat_buyers": c.repeat_buyers, "median_days": c.median_days}
               for cid, c in sorted(cycles.items())}

    def write(directory: Path) -> list[str]:
        (directory / CYCLES_FILE).write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
        return [CYCLES_FILE]
    return write


def _load(version: LoadedVersion, directory: Path) -> dict[int, CategoryCycle] | None:
    try:
        files = verified_files(version, directory, REPURCHASE_EXTRA)
        if not files:
            return None
        payload = json.loads((directory / CYCLES_FILE).read_text(encoding="utf-8"))
        return {int(cid): CategoryCycle(int(v["buyers"]), int(v["repeat_buyers"]), float(v["median_days"]))
                for cid, v in payload.items()}
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.error("repurchase cycles of version %s cannot be read: %s", version.version, error)
        return None


def cycles_of(version: LoadedVersion | None) -> dict[int, CategoryCycle]:
    return extra_for(REPURCHASE_EXTRA, version, _load) or {}


def due(version: LoadedVersion | None, bought_at: dict[int, datetime], catalog: CatalogSnapshot,
        now: datetime) -> list[int]:
    """The shopper's purchases due again, the most overdue first (eligible products only)."""
    cycles = cycles_of(version)
    if not cycles:
        return []
    categories = {pid: catalog.category_of(pid) for pid in bought_at if catalog.category_of(pid) is not None}
    config = current_app.config
    return due_items({pid: when for pid, when in bought_at.items() if pid in categories}, categories, cycles, now,
                     float(config.get("BUY_AGAIN_DUE_SHARE", 0.8)), float(config.get("BUY_AGAIN_STALE_FACTOR", 4.0)))

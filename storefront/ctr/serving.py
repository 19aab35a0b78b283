"""The click model in a web worker: re-rank "Recommended for you", choose the home banner.

Two-stage recommendation: the retrieval model (the version's champion) proposes the top
``CTR_CANDIDATES`` eligible products, the click model published with the same version (the
``ctr`` extra, see ``storefront.ctr.training``) orders them by predicted click probability. The
serve-time rules were applied before scoring (the candidates come out of ``load_in_order``), so
re-ranking only changes the order, never what may be shown.

Scoring uses the numpy export of the model (``ml.ctr`` scorer; no torch in the worker). Every
candidate is scored at position 0, since its position is what is being decided.

An online A/B split measures whether re-ranking earns its keep: shoppers are assigned by a hash
of their id to the re-ranked group with probability ``CTR_RERANK_SHARE`` (default 0.5); the
other group sees the retrieval order. Impressions record which (``ranking``: ``ctr`` or
``retrieval``), so the admin page compares the two click-through rates. A version without a
click model (none published, or the extra failed to load) serves the retrieval order and
records no ``ranking``.
"""
from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from flask import current_app

from ml.serving import LoadedVersion
from storefront.models.common import utcnow
from storefront.ctr import features
from storefront.catalog.listings import departments_of_categories
from storefront.tracking.shopper_facts import ShopperFacts
from storefront.tracking.visitors import Shopper
from storefront.recommendations.version_extras import extra_for, verified_files

if TYPE_CHECKING:
    from ml.ctr import CtrRanker
    from storefront.catalog.snapshot import CatalogSnapshot
    from storefront.models import Campaign, Product

log = logging.getLogger(__name__)

CTR_EXTRA = "ctr"
BUCKETS_FILE = "ctr_buckets.npz"
RERANKED, RETRIEVAL = "ctr", "retrieval"


@dataclass(frozen=True)
class ServedRanker:
    version: str
    ranker: "CtrRanker"
    buckets: features.Buckets
    department_of: dict[int, str]


def _load(version: LoadedVersion, directory: Path) -> ServedRanker | None:
    try:
        files = verified_files(version, directory, CTR_EXTRA)
        if files is None:
            return None
        from ml.ctr import load_ranker  # numpy only; imported on first use like the segments

        with np.load(directory / BUCKETS_FILE, allow_pickle=False) as arrays:
            buckets = features.Buckets.from_arrays(arrays)
        ranker = load_ranker(directory, [f for f in files if f != BUCKETS_FILE])
        served = ServedRanker(version.version, ranker, buckets, departments_of_categories(features.NONE))
    except Exception:  # a broken click model costs the re-ranking, never a page
        log.exception("cannot load the click model of version %s; serving the retrieval order",
                      version.version)
        return None
    log.info("loaded the click model of version %s (%s)", version.version, ranker.kind)
    return served


def ranker_for(version: LoadedVersion | None) -> ServedRanker | None:
    """The click model published with ``version``, or None (serve the retrieval order)."""
    return extra_for(CTR_EXTRA, version, _load)


def in_treatment(shopper: Shopper) -> bool:
    """Whether this shopper sees re-ranked lists: a stable hash of their id against the share."""
    share = float(current_app.config.get("CTR_RERANK_SHARE", 0.5))
    key = shopper.ml_user_id or shopper.session_id
    return (zlib.crc32(key.encode()) % 10_000) / 10_000 < share


def candidate_count() -> int:
    return int(current_app.config.get("CTR_CANDIDATES", 100))


# -- features of one request -----------------------------------------------------------------------


def shopper_columns(shopper: Shopper, facts: ShopperFacts, n: int,
                    now: datetime | None = None) -> features.Columns:
    """The user-side feature columns, ``n`` identical rows, from the shopper's facts (asked once
    per request with the page's other facts: ``storefront.tracking.shopper_facts``)."""
    one = facts.derived.get(_USER_COLUMNS) if now is None else None
    if one is None:
        one = _user_columns(shopper, facts, now or utcnow())
        if now is None:
            facts.derived[_USER_COLUMNS] = one
    return {name: np.repeat(values, n) for name, values in one.items()}


_USER_COLUMNS = "ctr_user_columns"


def _user_columns(shopper: Shopper, facts: ShopperFacts, now: datetime) -> features.Columns:
    orders, last = facts.orders, facts.last_order_at
    counts: dict[int, int] = {}
    for event in facts.recent:
        counts[event.category_id] = counts.get(event.category_id, 0) + 1
    top = min((c for c in counts if counts[c] == max(counts.values())), default=None)
    days = (now - last).total_seconds() / 86400 if last else np.nan
    return features.user_columns([orders], [days], [shopper.device], [np.datetime64(now, "s")], [top])


def _context(user: features.Columns, items: features.Columns, widget: str, retrieval: np.ndarray) -> features.Columns:
    n = len(retrieval)
    return {**user, **items, "widget": np.full(n, widget, dtype=object), "position": np.full(n, "0", dtype=object),
            "retrieval": retrieval}


def candidate_table(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
                    products: list["Product"], widget: str,
                    catalog: "CatalogSnapshot | None" = None) -> features.Columns:
    """The click model's input for ``products`` in retrieval order (rank = list position).

    With the ``catalog`` the products came from, each product's item-side values are computed
    once per catalog version and click model (``_item_values``): a re-ranked shelf asks for
    100 candidates, and bucketing and formatting their six fields was a third of the re-ranking."""
    if catalog is None:
        rows = [_item_values(served, product) for product in products]
    else:
        rows = [catalog.fragment((_ITEM_VALUES, served.version, product.id),
                                 lambda product=product: _item_values(served, product)) for product in products]
    values = list(zip(*rows)) or [()] * len(features.ITEM_FIELDS)  # no products: empty columns
    items = {name: np.array(column, dtype=object) for name, column in zip(features.ITEM_FIELDS, values)}
    ranks = features.retrieval(np.arange(1, len(products) + 1))
    return _context(shopper_columns(shopper, facts, len(products)), items, widget, ranks)


_ITEM_VALUES = "ctr_item_values"


def _item_values(served: ServedRanker, product: "Product") -> tuple:
    """One product's item-side feature values, in ``features.ITEM_FIELDS`` order."""
    columns = features.item_columns([product.category_id], [served.department_of.get(product.category_id)],
                                    [product.brand], [float(product.price)], [product.popularity], served.buckets)
    return tuple(columns[name][0] for name in features.ITEM_FIELDS)


def rerank(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
           products: list["Product"], widget: str, catalog: "CatalogSnapshot | None" = None) -> list["Product"]:
    """``products`` (in retrieval order) ordered by predicted click probability (ties keep
    the retrieval order)."""
    if len(products) < 2:
        return products
    scores = served.ranker.score(candidate_table(served, shopper, facts, products, widget, catalog))
    return [products[i] for i in np.argsort(-scores, kind="stable")]


def rank_campaigns(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
                   campaigns: list["Campaign"], widget: str) -> list["Campaign"]:
    """``campaigns`` ordered by predicted click probability of their banner."""
    if len(campaigns) < 2:
        return campaigns
    items = features.campaign_columns(
        [c.target_category_id for c in campaigns], [served.department_of.get(c.target_category_id) for c in campaigns],
        [c.target_brand for c in campaigns], [c.offer_kind for c in campaigns],
    )
    retrieval = np.full(len(campaigns), features.BANNER, dtype=object)
    scores = served.ranker.score(_context(shopper_columns(shopper, facts, len(campaigns)), items, widget, retrieval))
    return [campaigns[i] for i in np.argsort(-scores, kind="stable")]

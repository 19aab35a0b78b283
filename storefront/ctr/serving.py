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
from dataclasses import dataclass, field
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
    # what this click model encodes the same way on every request (``_Encoded``), built on first use
    memo: dict = field(default_factory=dict, compare=False, repr=False)


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


def _user_inputs(shopper: Shopper, facts: ShopperFacts, now: datetime) -> tuple:
    """What the user-side features are computed from: orders, days since the last one (None:
    none), device, the moment and the most-viewed recent category (the lowest id of a tie)."""
    orders, last = facts.orders, facts.last_order_at
    counts: dict[int, int] = {}
    for event in facts.recent:
        counts[event.category_id] = counts.get(event.category_id, 0) + 1
    top = min((c for c in counts if counts[c] == max(counts.values())), default=None)
    days = (now - last).total_seconds() / 86400 if last else None
    return orders, days, shopper.device, now, top


def _user_columns(shopper: Shopper, facts: ShopperFacts, now: datetime) -> features.Columns:
    orders, days, device, moment, top = _user_inputs(shopper, facts, now)
    return features.user_columns([orders], [np.nan if days is None else days], [device],
                                 [np.datetime64(moment, "s")], [top])


def _context(user: features.Columns, items: features.Columns, widget: str, retrieval: np.ndarray) -> features.Columns:
    n = len(retrieval)
    return {**user, **items, "widget": np.full(n, widget, dtype=object), "position": np.full(n, "0", dtype=object),
            "retrieval": retrieval}


def candidate_table(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
                    products: list["Product"], widget: str) -> features.Columns:
    """The click model's input for ``products`` in retrieval order (rank = list position), as
    feature values: the readable definition, which :func:`candidate_codes` assembles encoded."""
    ranks = features.retrieval(np.arange(1, len(products) + 1))
    return _context(shopper_columns(shopper, facts, len(products)), _item_values(served, products), widget, ranks)


def candidate_codes(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
                    products: list["Product"], widget: str,
                    catalog: "CatalogSnapshot | None" = None) -> np.ndarray:
    """``encoder.transform(candidate_table(...))`` built from parts encoded once: each product's
    item fields per catalog version and click model (with the ``catalog`` they came from), the
    shopper's fields once per request, the widget and the rank buckets once per click model.
    A re-ranked shelf asks for 100 candidates: formatting and looking up their 1,600 cells on
    every request was most of the re-ranking."""
    encoded = _encoded(served)
    if catalog is None:  # nothing to keep them in: every product's fields at once
        item_rows = encoded.codes(encoded.item_fields, _item_values(served, products), len(products))
    else:
        items = [catalog.fragment((_ITEM_CODES, served.version, product.id),
                                  lambda product=product: tuple(encoded.codes(encoded.item_fields,
                                                                              _item_values(served, [product]), 1)[0]))
                 for product in products]
        item_rows = np.array(items, dtype=np.int64).reshape(len(products), len(encoded.item_columns))
    return encoded.rows(_user_codes(served, shopper, facts), item_rows, encoded.widget(widget),
                        encoded.ranks(len(products)))


_ITEM_CODES = "ctr_item_codes"
_MAX_USER_CODES = 20_000


class _Encoded:
    """A click model's encoded constants and where each field sits in a row (one per model)."""

    def __init__(self, served: ServedRanker) -> None:
        encoder = served.ranker.encoder
        self.encoder = encoder
        fields = list(encoder.fields)
        sources = (features.USER_FEATURES, features.ITEM_FEATURES, features.CONTEXT_FEATURES)
        unknown = [f for f in fields if not any(f in source for source in sources)]
        if unknown:
            raise KeyError(f"the click model asks for fields no request provides: {unknown}")
        self.user_fields = [f for f in fields if f in features.USER_FEATURES]
        self.item_fields = [f for f in fields if f in features.ITEM_FEATURES]
        self.user_columns = [fields.index(f) for f in self.user_fields]
        self.item_columns = [fields.index(f) for f in self.item_fields]
        self.context_columns = {f: fields.index(f) for f in features.CONTEXT_FEATURES if f in fields}
        self.position = self.code("position", "0")  # every candidate is scored at position 0
        self._widgets: dict[str, int | None] = {}
        self._ranks = np.zeros(0, dtype=np.int64)
        self._users: dict[tuple[str, ...], np.ndarray] = {}

    def user_codes(self, values: tuple[str, ...]) -> np.ndarray:
        """The codes of one shopper's user-side values (``USER_FEATURES`` order), kept per value
        combination: there are few (segments x recency x device x hour x weekday x categories)."""
        codes = self._users.get(values)
        if codes is None:
            if len(self._users) >= _MAX_USER_CODES:
                self._users.clear()
            row = dict(zip(features.USER_FEATURES, values))
            codes = np.array([self.encoder.field_codes(name, [row[name]])[0] for name in self.user_fields],
                             dtype=np.int64)
            codes.setflags(write=False)  # shared by every request with these values
            self._users[values] = codes
        return codes

    def code(self, name: str, value) -> int | None:
        """One value's code, or None when the model has no such field."""
        return int(self.encoder.field_codes(name, [value])[0]) if name in self.encoder.fields else None

    def codes(self, names: list[str], columns: features.Columns, n: int) -> np.ndarray:
        """``(n, len(names))`` codes of ``n`` rows of value columns."""
        out = np.empty((n, len(names)), dtype=np.int64)
        for j, name in enumerate(names):
            out[:, j] = self.encoder.field_codes(name, columns[name])
        return out

    def widget(self, widget: str) -> int | None:
        code = self._widgets.get(widget)
        if code is None:
            code = self._widgets[widget] = self.code("widget", widget)
        return code

    def ranks(self, n: int) -> np.ndarray | None:
        """Codes of the retrieval ranks 1..n (grown when a longer list comes)."""
        if "retrieval" not in self.context_columns:
            return None
        if len(self._ranks) < n:
            self._ranks = self.encoder.field_codes("retrieval", features.retrieval(np.arange(1, n + 1)))
        return self._ranks[:n]

    def rows(self, user: np.ndarray, items: np.ndarray, widget: int | None, retrieval) -> np.ndarray:
        n = len(items)
        out = np.empty((n, self.encoder.n_fields), dtype=np.int64)
        out[:, self.user_columns] = user
        out[:, self.item_columns] = items
        for name, value in (("widget", widget), ("position", self.position), ("retrieval", retrieval)):
            if name in self.context_columns:
                out[:, self.context_columns[name]] = value
        return out


def _encoded(served: ServedRanker) -> _Encoded:
    encoded = served.memo.get("encoded")
    if encoded is None:
        encoded = served.memo["encoded"] = _Encoded(served)
    return encoded


def _item_values(served: ServedRanker, products: list["Product"]) -> features.Columns:
    return features.item_columns([p.category_id for p in products],
                                 [served.department_of.get(p.category_id) for p in products],
                                 [p.brand for p in products], [float(p.price) for p in products],
                                 [p.popularity for p in products], served.buckets)


_USER_CODES = "ctr_user_codes"


def _user_codes(served: ServedRanker, shopper: Shopper, facts: ShopperFacts) -> np.ndarray:
    """The shopper's fields encoded, once per request and click model (the banner and every
    re-ranked shelf ask)."""
    key = (_USER_CODES, served.version)
    codes = facts.derived.get(key)
    if codes is None:
        codes = facts.derived[key] = _encoded(served).user_codes(features.user_values(*_user_inputs(shopper, facts, utcnow())))
    return codes


def rerank(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
           products: list["Product"], widget: str, catalog: "CatalogSnapshot | None" = None) -> list["Product"]:
    """``products`` (in retrieval order) ordered by predicted click probability (ties keep
    the retrieval order)."""
    if len(products) < 2:
        return products
    scores = served.ranker.score_codes(candidate_codes(served, shopper, facts, products, widget, catalog))
    return [products[i] for i in np.argsort(-scores, kind="stable")]


def rank_campaigns(served: ServedRanker, shopper: Shopper, facts: ShopperFacts,
                   campaigns: list["Campaign"], widget: str) -> list["Campaign"]:
    """``campaigns`` ordered by predicted click probability of their banner."""
    if len(campaigns) < 2:
        return campaigns
    encoded = _encoded(served)
    items = features.campaign_columns(
        [c.target_category_id for c in campaigns], [served.department_of.get(c.target_category_id) for c in campaigns],
        [c.target_brand for c in campaigns], [c.offer_kind for c in campaigns],
    )
    banner = encoded.code("retrieval", features.BANNER)
    rows = encoded.rows(_user_codes(served, shopper, facts), encoded.codes(encoded.item_fields, items, len(campaigns)),
                        encoded.widget(widget), banner)
    scores = served.ranker.score_codes(rows)
    return [campaigns[i] for i in np.argsort(-scores, kind="stable")]

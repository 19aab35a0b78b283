""""Suggested next" assets: the asset model, then popularity in the visitor's units, then overall.

Steps, each asked for what is still missing:

1. ``model:<champion>``: the active version's asset recommender (``ml.resources.suggest_next``),
   with the visitor's submissions since training folded in (type weight x count). Only for a
   visitor with submissions or one the model knows: otherwise it has no evidence and would
   answer with global popularity, hiding the better unit-aware fallback below.
2. ``unit_popularity``: assets of the business units the visitor touched (submitted, viewed,
   or the asset whose page this is), most submitted first.
3. ``popularity``: every active asset, most submitted first, then newest.

Rules, whatever the step: never an asset the visitor (or their account) already submitted,
never the asset of the current page, never an inactive asset, no duplicates.

Impressions are not recorded for this widget: the ``impressions`` table stores product ids
(``items``, ``context_product_id`` references products) and its clicks are validated against
products, so asset renders do not fit it without a schema change.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ml.resources import suggest_next
from storefront.extensions import db
from storefront.models import FORM_SUBMISSION, Asset, Event, asset_business_units
from storefront.resources import recommender as asset_models
from storefront.resources.library import AssetHistory, history
from storefront.tracking.visitors import RequestContext, Shopper
from storefront.tracking.visitors import shopper_of

TITLE = "Suggested next"
DEFAULT_N = 4
POPULARITY_TTL_SECONDS = 60.0
MODEL_PREFIX = "model:"
SPARES = 8  # candidates chosen beyond ``n``, for the ones the final active check drops
_EXTENSION = "asset_popularity"


@dataclass
class AssetShelf:
    """What the widget shows: the assets and which step supplied each."""

    title: str
    assets: list[Asset]
    sources: list[str] = field(default_factory=list)
    model_version: str | None = None

    @property
    def strategy(self) -> str:
        return self.sources[0] if self.sources else "none"


@dataclass(frozen=True)
class _Popularity:
    ranked: list[int]  # active asset ids: most distinct submitters first, then newest
    units: dict[int, frozenset[int]]  # asset id -> business unit ids
    expires: float


def _load_popularity(ttl: float) -> _Popularity:
    submitters = (
        select(Event.asset_id.label("asset_id"), func.count(func.distinct(Event.visitor_id)).label("n"))
        .where(Event.type == FORM_SUBMISSION, Event.asset_id.is_not(None))
        .group_by(Event.asset_id)
        .subquery()
    )
    ranked = db.session.scalars(
        select(Asset.id)
        .outerjoin(submitters, submitters.c.asset_id == Asset.id)
        .where(Asset.active.is_(True))
        .order_by(func.coalesce(submitters.c.n, 0).desc(), Asset.created_at.desc(), Asset.id.desc())
    ).all()
    units: dict[int, set[int]] = {}
    for asset_id, unit_id in db.session.execute(select(asset_business_units)):
        units.setdefault(asset_id, set()).add(unit_id)
    return _Popularity(list(ranked), {k: frozenset(v) for k, v in units.items()}, time.monotonic() + ttl)


def popularity() -> _Popularity:
    """Asset popularity and units, cached per worker for ``ASSET_POPULARITY_TTL_SECONDS``:
    the grouped count over every submission is too costly for each page view."""
    ttl = float(current_app.config.get("ASSET_POPULARITY_TTL_SECONDS", POPULARITY_TTL_SECONDS))
    holder = current_app.extensions.setdefault(_EXTENSION, {"value": None, "lock": threading.Lock()})
    value = holder["value"]
    if value is None or time.monotonic() >= value.expires:
        with holder["lock"]:
            value = holder["value"]
            if value is None or time.monotonic() >= value.expires:
                value = holder["value"] = _load_popularity(ttl)
    return value


def _model_ids(shopper: Shopper, past: AssetHistory, banned: set[int], n: int) -> tuple[list[int], str | None, str]:
    served = asset_models.current()
    if served is None:
        return [], None, ""
    user = shopper.ml_user_id or ""
    known = served.model.id_map.user_indices([user])[0] >= 0 if user else False
    if not past.submitted and not known:
        return [], None, ""
    recent = [(str(asset_id), kind, count) for asset_id, (kind, count) in past.submitted.items()]
    ids = suggest_next(served.model, user, recent, n=n, exclude=[str(i) for i in banned])
    chosen = [int(i) for i in ids if i.isdigit()]
    return chosen, served.version, MODEL_PREFIX + served.model.champion


def suggested_next(ctx: RequestContext, context: Asset | None = None, n: int | None = None,
                   require_history: bool = False) -> AssetShelf | None:
    """The shelf for this visitor (None when ``require_history`` and they have none).

    ``context`` is the asset whose page this is: excluded, and its units count as interests.
    """
    n = n or int(current_app.config.get("ASSET_SUGGESTIONS", DEFAULT_N))
    shopper = shopper_of(ctx)
    past = history(shopper)
    if require_history and not past:
        return None
    banned = set(past.submitted) | ({context.id} if context else set())
    popular = popularity()
    chosen: list[int] = []
    sources: list[str] = []

    def take(candidates, source: str) -> None:
        for asset_id in candidates:
            if len(chosen) >= n + SPARES:
                return
            if asset_id not in banned and asset_id not in chosen:
                chosen.append(asset_id)
                sources.append(source)

    # Spares: the model knows retired assets, and the cached popularity may be a minute old.
    active = set(popular.ranked)
    model_ids, version, strategy = _model_ids(shopper, past, banned, n + SPARES)
    take([i for i in model_ids if i in active], strategy)
    interests = set(past.submitted) | past.viewed | ({context.id} if context else set())
    units = frozenset().union(*(popular.units.get(i, frozenset()) for i in interests))
    if units:
        take((i for i in popular.ranked if popular.units.get(i, frozenset()) & units), "unit_popularity")
    take(popular.ranked, "popularity")
    query = select(Asset).where(Asset.id.in_(chosen), Asset.active.is_(True)).options(selectinload(Asset.units))
    by_id = {a.id: a for a in db.session.scalars(query)}
    kept = [(by_id[i], s) for i, s in zip(chosen, sources) if i in by_id][:n]
    from_model = any(s.startswith(MODEL_PREFIX) for _, s in kept)
    return AssetShelf(TITLE, [a for a, _ in kept], [s for _, s in kept], version if from_model else None)

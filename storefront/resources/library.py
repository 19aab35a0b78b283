"""The asset library: listing with filters, one asset, its views, and a visitor's asset history.

Queries only; nothing here commits. Filters arrive from the query string, so an unknown type or
unit is treated as "no filter" rather than an error: a stale bookmark still shows the library.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from sqlalchemy import Integer, String, func, literal, select, union_all
from sqlalchemy.orm import selectinload

from storefront.extensions import db
from storefront.models import (
    ASSET_VIEW,
    FORM_SUBMISSION,
    TYPE_LABELS,
    TYPE_SLUGS,
    Asset,
    BusinessUnit,
    Event,
    Lead,
    asset_business_units,
)
from storefront.tracking import events as tracking
from storefront.tracking.visitors import RequestContext, Shopper, owned_by
from storefront.tracking.visitors import shopper_of

DEFAULT_PER_PAGE = 12
SLUG_TYPES = {slug: name for name, slug in TYPE_SLUGS.items()}


@dataclass(frozen=True)
class LibraryFilter:
    """The library's active filters, validated: ``type_name`` is an export type name,
    ``unit`` a business unit that exists (None = all)."""

    type_name: str | None = None
    unit: BusinessUnit | None = None

    @property
    def type_slug(self) -> str | None:
        return TYPE_SLUGS.get(self.type_name) if self.type_name else None

    @property
    def type_label(self) -> str | None:
        return TYPE_LABELS.get(self.type_name) if self.type_name else None

    @property
    def unit_code(self) -> str | None:
        return self.unit.code if self.unit else None


def parse_filter(type_slug: str | None, unit_code: str | None) -> LibraryFilter:
    unit = None
    if unit_code:
        unit = db.session.scalar(select(BusinessUnit).where(BusinessUnit.code == unit_code[:32]))
    return LibraryFilter(SLUG_TYPES.get(type_slug or ""), unit)


def type_choices() -> list[tuple[str, str, int]]:
    """``(slug, label, active assets)`` for each type present in the library, label order."""
    counts = dict(db.session.execute(
        select(Asset.type, func.count()).where(Asset.active.is_(True)).group_by(Asset.type)
    ).all())
    return sorted(
        ((TYPE_SLUGS[name], TYPE_LABELS[name], n) for name, n in counts.items() if name in TYPE_SLUGS),
        key=lambda choice: choice[1].lower(),
    )


def unit_choices() -> list[BusinessUnit]:
    """Business units that have at least one active asset, by name."""
    used = (
        select(asset_business_units.c.business_unit_id)
        .join(Asset, Asset.id == asset_business_units.c.asset_id)
        .where(Asset.active.is_(True))
    )
    return list(db.session.scalars(
        select(BusinessUnit).where(BusinessUnit.id.in_(used)).order_by(BusinessUnit.name)
    ))


def library(filters: LibraryFilter, page: int, per_page: int | None = None):
    """One page of active assets matching ``filters``, newest first."""
    query = select(Asset).where(Asset.active.is_(True)).options(selectinload(Asset.units))
    if filters.type_name:
        query = query.where(Asset.type == filters.type_name)
    if filters.unit is not None:
        query = query.where(Asset.id.in_(
            select(asset_business_units.c.asset_id)
            .where(asset_business_units.c.business_unit_id == filters.unit.id)
        ))
    per_page = per_page or int(current_app.config.get("ASSETS_PER_PAGE", DEFAULT_PER_PAGE))
    query = query.order_by(Asset.created_at.desc(), Asset.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def active_asset(asset_id: int) -> Asset | None:
    """The asset, if it exists and is switched on (else the page is a 404)."""
    asset = db.session.get(Asset, asset_id)
    return asset if asset is not None and asset.active else None


def track_asset_view(ctx: RequestContext, asset: Asset) -> bool:
    """An ``asset_view`` event, unless this browser viewed the same asset moments ago (a
    reload or the redirect back after a form error): the same rule as product views."""
    if ctx.is_bot or tracking.is_reload(ctx, "recent_asset_views", asset.id):
        return False
    return tracking.track(ctx, ASSET_VIEW, asset_id=asset.id)


def has_submitted(ctx: RequestContext, asset: Asset) -> bool:
    """Whether this visitor (or their customer account) sent the asset's form: the key to its
    content. Leads, not events, decide, because a bot's lead has no event."""
    shopper = shopper_of(ctx)
    if not shopper.known:
        return False
    query = select(Lead.id).where(Lead.asset_id == asset.id, shopper.owns(Lead.visitor_id, Lead.customer_id))
    return db.session.scalar(query.limit(1)) is not None


@dataclass
class AssetHistory:
    """What a visitor did with assets: submissions (id -> (type, count)) and viewed ids."""

    submitted: dict[int, tuple[str, int]] = field(default_factory=dict)
    viewed: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.submitted or self.viewed)


_LEAD = "lead"


@lru_cache(maxsize=4)
def _history_query(owner_key: tuple[bool, bool]):
    """Built once per kind of shopper (visitor, customer, both; ``owned_by``): the home page asks
    it on every request."""
    count = func.coalesce(Event.properties["count"].as_integer(), 1)
    events = (
        select(Event.asset_id, Event.type, Asset.type, func.sum(count))
        .join(Asset, Asset.id == Event.asset_id)
        .where(Event.type.in_((FORM_SUBMISSION, ASSET_VIEW)), owned_by(Event.visitor_id, Event.customer_id, owner_key))
        .group_by(Event.asset_id, Event.type, Asset.type)
    )
    # A bot-classified submission has a lead but no event: it still must never be suggested.
    leads = (
        select(Lead.asset_id, literal(_LEAD, String), Asset.type, literal(1, Integer)).join(Asset)
        .where(owned_by(Lead.visitor_id, Lead.customer_id, owner_key)).distinct()
    )
    return union_all(events, leads)


def history(shopper: Shopper) -> AssetHistory:
    """The shopper's asset events summed per asset, and their leads, in one statement."""
    result = AssetHistory()
    if not shopper.known:
        return result
    lead_rows = []
    for asset_id, kind, asset_type, total in db.session.execute(_history_query(shopper.owner_key),
                                                                shopper.owner_params):
        if kind == FORM_SUBMISSION:
            result.submitted[int(asset_id)] = (asset_type, int(total or 1))
        elif kind == _LEAD:
            lead_rows.append((int(asset_id), asset_type))
        else:
            result.viewed.add(int(asset_id))
    for asset_id, asset_type in lead_rows:  # after the events, whose counts win
        result.submitted.setdefault(asset_id, (asset_type, 1))
    return result

"""Leads: a valid gated-asset form becomes a ``Lead`` row and a ``form_submission`` event.

Rate limit: at most ``ASSET_FORM_LIMIT`` submissions per ``ASSET_FORM_WINDOW_SECONDS`` (default
5 per 10 minutes) per visitor *and* per client address, counted from the ``leads`` table. The
database is the one place every gunicorn worker shares, so the limit holds however requests are
spread; two requests racing at the limit may both pass (a soft limit, enough against a form
flood, with no lock on a hot path). The address is stored only as a keyed hash.

The leads export is CSV for spreadsheets, so every cell that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab, CR) is prefixed with a quote: lead fields are typed by
strangers.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from storefront.extensions import db
from storefront.models import FORM_SUBMISSION, Asset, Lead
from storefront.models.common import utcnow
from storefront.tracking import events as tracking
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import visitor_of

DEFAULT_LIMIT = 5
DEFAULT_WINDOW_SECONDS = 600
LEADS_PER_PAGE = 50
CSV_COLUMNS = (
    "created_at", "name", "email", "company", "consent", "asset_id", "asset_title", "asset_type",
    "visitor_id", "customer_id",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RateLimited(Exception):
    """Too many submissions lately; ``retry_after`` is in whole seconds."""

    def __init__(self, limit: int, window_seconds: int, retry_after: int) -> None:
        self.limit, self.window_seconds, self.retry_after = limit, window_seconds, retry_after
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"You have sent {limit} requests in the last {window_seconds // 60} minutes. "
            f"Please try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass(frozen=True)
class LeadDetails:
    name: str
    email: str
    company: str
    consent: bool


def client_hash(address: str) -> str:
    """A keyed hash of the client address: enough to count, useless to anyone reading the DB."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"lead-client:" + address.encode(), hashlib.sha256).hexdigest()


def _limits() -> tuple[int, int]:
    config = current_app.config
    return (int(config.get("ASSET_FORM_LIMIT", DEFAULT_LIMIT)),
            int(config.get("ASSET_FORM_WINDOW_SECONDS", DEFAULT_WINDOW_SECONDS)))


def check_rate_limit(visitor_id: int | None, client: str, now: datetime | None = None) -> None:
    """Raise :class:`RateLimited` when this visitor or this address is at the limit."""
    limit, window = _limits()
    now = now or utcnow()
    since = now - timedelta(seconds=window)
    for column, value in ((Lead.visitor_id, visitor_id), (Lead.client_hash, client)):
        if value is None:
            continue
        count, oldest = db.session.execute(
            select(func.count(Lead.id), func.min(Lead.created_at))
            .where(column == value, Lead.created_at >= since)
        ).one()
        if count >= limit:
            retry = window - (now - oldest).total_seconds()
            raise RateLimited(limit, window, max(1, math.ceil(retry)))


def submit_lead(ctx: RequestContext, asset: Asset, details: LeadDetails) -> Lead:
    """Store a lead for the current visitor and log its ``form_submission`` event (flushes).

    Raises :class:`RateLimited` before writing anything (not even a new visitor row). Bots'
    submissions are stored as leads but, like every bot request, leave no event (see
    ``storefront.tracking.events``).
    """
    known = visitor_of(ctx, create=False)
    client = client_hash(ctx.address)
    check_rate_limit(known.id if known else None, client)
    visitor = known or visitor_of(ctx, create=True)
    customer_id = ctx.customer_id if ctx.logged_in else visitor.customer_id
    lead = Lead(
        asset_id=asset.id, visitor_id=visitor.id, customer_id=customer_id,
        name=details.name.strip(), email=details.email.strip().lower(),
        company=details.company.strip(), consent=bool(details.consent), client_hash=client,
        created_at=utcnow(),
    )
    db.session.add(lead)
    db.session.flush()
    tracking.track(ctx, FORM_SUBMISSION, asset_id=asset.id, properties={"count": 1, "lead_id": lead.id})
    return lead


@dataclass(frozen=True)
class LeadFilter:
    """What the admin narrowed the leads to (empty: everything): a text found in the name, email
    or company, an asset type, consent given or not, and a date range (inclusive days)."""

    text: str = ""
    asset_type: str = ""
    consent: bool | None = None
    since: date | None = None
    until: date | None = None

    def apply(self, query):
        if self.text:
            pattern = "%" + self.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(or_(*(func.lower(column).like(pattern, escape="\\")
                                      for column in (Lead.name, Lead.email, Lead.company))))
        if self.asset_type:
            query = query.where(Lead.asset_id.in_(select(Asset.id).where(Asset.type == self.asset_type)))
        if self.consent is not None:
            query = query.where(Lead.consent.is_(self.consent))
        if self.since is not None:
            query = query.where(Lead.created_at >= datetime.combine(self.since, time.min))
        if self.until is not None:
            query = query.where(Lead.created_at < datetime.combine(self.until + timedelta(days=1), time.min))
        return query

    @property
    def active(self) -> bool:
        return self != LeadFilter()


def leads_page(page: int, per_page: int = LEADS_PER_PAGE, where: LeadFilter = LeadFilter()):
    """Leads, newest first, with their asset loaded (only those ``where`` lets through)."""
    query = select(Lead).options(joinedload(Lead.asset)).order_by(Lead.created_at.desc(), Lead.id.desc())
    return db.paginate(where.apply(query), page=page, per_page=per_page, error_out=False)


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def leads_csv(batch: int = 1000, where: LeadFilter = LeadFilter()) -> Iterator[str]:
    """Every lead (that ``where`` lets through) as CSV text chunks (header first), newest first;
    formula-safe cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    query = (
        select(Lead.created_at, Lead.name, Lead.email, Lead.company, Lead.consent, Lead.asset_id,
               Asset.title, Asset.type, Lead.visitor_id, Lead.customer_id)
        .join(Asset, Asset.id == Lead.asset_id)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
    )
    query = where.apply(query)
    for rows in db.session.execute(query, execution_options={"yield_per": batch}).partitions():
        for row in rows:
            created, *rest = row
            writer.writerow([created.isoformat(sep=" ", timespec="seconds"),
                             *(_cell("yes" if v is True else "no" if v is False else v) for v in rest)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()

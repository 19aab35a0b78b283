"""Visitor rows: the database side of a browser's identity.

The web boundary reads (or mints) the browser's signed-cookie token (``storefront.web.context``);
here the token becomes a ``Visitor`` row. The row is created lazily, the first time something
needs it (an event, a cart), so crawlers and one-page bounces do not fill the table. Both
lookups are remembered in the request context's ``memo``: a page asks many times.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.models import Visitor
from storefront.tracking.context import RequestContext, Shopper

_ABSENT = object()  # looked up, no row yet (a create=False lookup need not ask again)


def visitor_of(ctx: RequestContext, create: bool = True) -> Visitor | None:
    """The ``Visitor`` row of this request's browser, created on first need when ``create``.
    None outside a browser (no token), or when absent and not ``create``."""
    known = ctx.memo.get("visitor")
    if isinstance(known, Visitor) or (known is _ABSENT and not create):
        return known if known is not _ABSENT else None
    if ctx.visitor_token is None:
        return None
    visitor = db.session.scalar(select(Visitor).where(Visitor.token == ctx.visitor_token))
    if visitor is None and create:
        visitor = _insert_visitor(ctx.visitor_token)
    ctx.memo["visitor"] = visitor if visitor is not None else _ABSENT
    if visitor is not None:
        ctx.memo.pop("shopper", None)  # a shopper resolved before the row existed is stale
    return visitor


def _insert_visitor(token: str) -> Visitor:
    """Create the row; if a parallel first request of the same browser won, use theirs."""
    try:
        with db.session.begin_nested():
            visitor = Visitor(token=token)
            db.session.add(visitor)
        return visitor
    except IntegrityError:
        return db.session.scalars(select(Visitor).where(Visitor.token == token)).one()


def shopper_of(ctx: RequestContext) -> Shopper:
    """The shopper of this request; never creates a visitor row (widgets only read)."""
    shopper = ctx.memo.get("shopper")
    if shopper is None:
        visitor = visitor_of(ctx, create=False)
        if ctx.customer_id is not None:
            ids = (visitor.id if visitor else None, ctx.customer_id, True)
        elif visitor is None:
            ids = (None, None, False)
        else:
            ids = (visitor.id, visitor.customer_id, False)
        shopper = Shopper(*ids, device=ctx.device, session_id=ctx.session_id)
        ctx.memo["shopper"] = shopper
    return shopper


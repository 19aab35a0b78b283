"""Who is asking: the request context, the shopper it resolves to, and the visitor rows behind it.

``RequestContext`` holds the facts of one request that services need (the browser's visitor
token, the logged-in customer, the device, the browsing session, the client address). It is
built by :func:`storefront.web.requests.request_context`, the only place that reads Flask's
request globals for it. Services take it as an argument, so the CLI, the admin's previews and
the tests call them with :meth:`RequestContext.offline` and no fake request.

The object is frozen; two mappings travel with it by reference:

- ``browser_memory``: what the browser carries between requests (the signed session cookie in
  a web request, a plain dict elsewhere): the last product viewed and the last widget link
  followed, so a reload is not counted twice;
- ``memo``: this request's lookups (the visitor row, the shopper, the recommendation
  exclusions), so every widget of a page shares one answer instead of asking the database again.

A ``Visitor`` row is created lazily, the first time something needs it (an event, a cart). Events
wait for a browser that sent its cookie back (:mod:`storefront.tracking.integrity`), so
crawlers, cookieless scripts and one-page bounces do not fill the table; a cart or a login may
create the row on a first request (they are POSTs behind a CSRF token, which only a browser
that keeps cookies has).

Who a "user" is for the recommenders (``ml_user_id``): a logged-in customer is one user across
all their browsers; an anonymous browser is a user of its own. Training and serving must agree
on these ids, so both call it.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.models import Visitor
from storefront.models.common import utcnow

BOT = "bot"


def ml_user_id(visitor_id: int | None, customer_id: int | None) -> str:
    if customer_id is not None:
        return f"c{customer_id}"
    return f"v{visitor_id}"


def ml_item_id(product_id: int) -> str:
    return str(product_id)


def customer_key(customer_id: int) -> str:
    """The id a customer has in the segments artifact (the database id as text)."""
    return str(customer_id)


@dataclass(frozen=True)
class RequestContext:
    visitor_token: str | None  # the browser's signed-cookie token; None outside a browser
    customer_id: int | None  # the logged-in customer, None when anonymous
    device: str = "desktop"  # bot, mobile, tablet or desktop (tracking.events.classify_user_agent)
    session_id: str = ""  # the browsing session (a visit); "" for bots and outside a browser
    address: str = "unknown"  # the client address (behind the proxy: the forwarded one)
    # Whether the browser sent its visitor cookie back (False on a first request, when the token
    # was just minted): nothing is logged until it does (storefront.tracking.integrity).
    confirmed: bool = True
    browser_memory: MutableMapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_bot(self) -> bool:
        return self.device == BOT

    @property
    def logged_in(self) -> bool:
        return self.customer_id is not None

    @classmethod
    def offline(cls, customer_id: int | None = None) -> RequestContext:
        """A context with no browser: the CLI, the admin's preview of a customer's widgets."""
        return cls(visitor_token=None, customer_id=customer_id)


@dataclass(frozen=True)
class Shopper:
    """The person a widget, an impression or a click is for: this browser's visitor and, if
    known, their customer, with the request's device and browsing session.

    ``logged_in`` matters for the cart only: like ``storefront.orders.cart``, a logged-in
    customer's cart is the customer's, an anonymous browser's cart is the visitor's.
    """

    visitor_id: int | None
    customer_id: int | None
    logged_in: bool = False
    device: str = "desktop"
    session_id: str = ""

    @property
    def known(self) -> bool:
        return self.visitor_id is not None or self.customer_id is not None

    @property
    def ml_user_id(self) -> str | None:
        """The recommender's id for this person (the same one training uses), if any."""
        return ml_user_id(self.visitor_id, self.customer_id) if self.known else None

    @property
    def owner_key(self) -> tuple[bool, bool]:
        """Which of ``owned_by``'s clauses apply to this shopper (a visitor id, a customer id)."""
        return self.visitor_id is not None, self.customer_id is not None

    @property
    def owner_params(self) -> dict[str, int | None]:
        """The values of ``owned_by``'s bound parameters."""
        return {OWNER_VISITOR: self.visitor_id, OWNER_CUSTOMER: self.customer_id}

    def owns(self, visitor_column, customer_column) -> ColumnElement[bool]:
        """Rows of this visitor or of this customer (their other browsers included)."""
        clauses = []
        if self.visitor_id is not None:
            clauses.append(visitor_column == self.visitor_id)
        if self.customer_id is not None:
            clauses.append(customer_column == self.customer_id)
        return or_(*clauses)


OWNER_VISITOR, OWNER_CUSTOMER = "owner_visitor_id", "owner_customer_id"


def owned_by(visitor_column, customer_column, owner_key: tuple[bool, bool]) -> ColumnElement[bool]:
    """``Shopper.owns`` with bound parameters instead of values: a statement built with it once
    per ``owner_key`` serves every shopper (run it with ``Shopper.owner_params``), so a hot query
    is not rebuilt on every request (building cost as much as running it on SQLite)."""
    by_visitor, by_customer = owner_key
    clauses = []
    if by_visitor:
        clauses.append(visitor_column == bindparam(OWNER_VISITOR))
    if by_customer:
        clauses.append(customer_column == bindparam(OWNER_CUSTOMER))
    return or_(*clauses)


_ABSENT = object()
# Every page asks it: built once (constructing the ORM select cost more than running it).
_VISITOR_BY_TOKEN = select(Visitor).where(Visitor.token == bindparam("token"))  # looked up, no row yet (a create=False lookup need not ask again)


def visitor_of(ctx: RequestContext, create: bool = True) -> Visitor | None:
    """The ``Visitor`` row of this request's browser, created on first need when ``create``.
    None outside a browser (no token), or when absent and not ``create``."""
    known = ctx.memo.get("visitor")
    if isinstance(known, Visitor):
        return known
    if known is _ABSENT and not create:
        return None
    if ctx.visitor_token is None or (not ctx.confirmed and not create):
        return None  # a token minted by this very request has no row yet
    visitor = db.session.scalar(_VISITOR_BY_TOKEN, {"token": ctx.visitor_token})
    if visitor is None and create:
        visitor = _insert_visitor(ctx)
    ctx.memo["visitor"] = visitor if visitor is not None else _ABSENT
    if visitor is not None:
        ctx.memo.pop("shopper", None)  # a shopper resolved before the row existed is stale
    return visitor


def _insert_visitor(ctx: RequestContext) -> Visitor:
    """Create the row (flagged when its address is over the new-visitor limit: a cart still
    works, nothing is logged); if a parallel request of the same browser won, use theirs."""
    from storefront.tracking import integrity  # integrity decides with visitor rows: imported late

    flagged = not integrity.new_visitor_allowed(ctx)
    try:
        with db.session.begin_nested():
            visitor = Visitor(token=ctx.visitor_token, address_key=integrity.address_key(ctx.address))
            if flagged:
                visitor.flagged_at, visitor.flag_reason = utcnow(), integrity.NEW_VISITOR_RATE
            db.session.add(visitor)
        return visitor
    except IntegrityError:
        return db.session.scalars(select(Visitor).where(Visitor.token == ctx.visitor_token)).one()


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

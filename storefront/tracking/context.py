"""Who is asking: the request context the web boundary builds once, and the shopper it resolves to.

``RequestContext`` holds the facts of one request that services need (the browser's visitor
token, the logged-in customer, the device, the browsing session, the client address) and is
built by :func:`storefront.web.context.request_context`, the only place that reads Flask's
request globals for it. Services take it as an argument, so the CLI, the admin's previews and
the tests call them with :meth:`RequestContext.offline` and no fake request.

The object is frozen; two mappings travel with it by reference:

- ``browser_memory``: what the browser carries between requests (the signed session cookie in
  a web request, a plain dict elsewhere): the last product viewed and the last widget link
  followed, so a reload is not counted twice;
- ``memo``: this request's lookups (the visitor row, the shopper, the recommendation
  exclusions), so every widget of a page shares one answer instead of asking the database again.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, or_

from storefront.tracking.identity import ml_user_id

BOT = "bot"


@dataclass(frozen=True)
class RequestContext:
    visitor_token: str | None  # the browser's signed-cookie token; None outside a browser
    customer_id: int | None  # the logged-in customer, None when anonymous
    device: str = "desktop"  # bot, mobile, tablet or desktop (tracking.events.classify_user_agent)
    session_id: str = ""  # the browsing session (a visit); "" for bots and outside a browser
    address: str = "unknown"  # the client address (behind the proxy: the forwarded one)
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

    def owns(self, visitor_column, customer_column) -> ColumnElement[bool]:
        """Rows of this visitor or of this customer (their other browsers included)."""
        clauses = []
        if self.visitor_id is not None:
            clauses.append(visitor_column == self.visitor_id)
        if self.customer_id is not None:
            clauses.append(customer_column == self.customer_id)
        return or_(*clauses)

"""People: registered customers and the (possibly anonymous) visitors behind every event."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.models.common import utcnow

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class Customer(UserMixin, db.Model):
    """A registered customer (or admin).

    ``session_token`` is the customer's half of every session and remember-me cookie
    (Flask-Login's "alternative id": ``get_id`` is ``<id>:<token>``). Replacing it
    (:meth:`revoke_sessions`) ends every session of the customer on every device, including a
    cookie somebody copied: logout does it, and ``flask shop revoke-sessions EMAIL``.
    """

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_CUSTOMER)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    session_token: Mapped[str | None] = mapped_column(String(64), default=new_session_token)

    visitors: Mapped[list[Visitor]] = relationship(back_populates="customer")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def revoke_sessions(self) -> None:
        self.session_token = new_session_token()

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    def __repr__(self) -> str:
        return f"<Customer {self.email}>"


class Visitor(db.Model):
    """A browser (identified by a long-lived signed cookie) or an imported user id.

    Events hang off visitors, not customers, so that anonymous browsing before a login still
    belongs to the person: on login the visitor is attached to the customer.
    """

    __tablename__ = "visitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # A keyed hash of the client address that created the row (storefront.tracking.screening
    # groups new visitors by it; the address itself is not stored).
    address_key: Mapped[str | None] = mapped_column(String(16))
    # Set when the visitor looks scripted (storefront.tracking.screening): its events stay in the
    # table for the record, but popularity, trending and training leave them out.
    flagged_at: Mapped[datetime | None] = mapped_column(DateTime)
    flag_reason: Mapped[str | None] = mapped_column(String(32))

    customer: Mapped[Customer | None] = relationship(back_populates="visitors")


class RememberToken(db.Model):
    """One "remember me" login of one browser (storefront.web.remember).

    The cookie carries ``<selector>:<validator>``; the table keeps the selector and a SHA-256 of
    the validator, so a copy of the database logs nobody in. Each use replaces the validator
    (a stolen cookie used once stops working for its owner too, which is then detected: every
    token of the customer is revoked). Logout deletes the browser's token, password changes and
    ``flask shop revoke-sessions`` all of the customer's.
    """

    __tablename__ = "remember_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    selector: Mapped[str] = mapped_column(String(32), unique=True)
    validator_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class SavedAddress(db.Model):
    """One per customer (the last one they saved): a shop with one shipping address per account
    covers most people; several would need choosing at checkout, which no one asked for yet."""

    __tablename__ = "saved_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address_line: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(60))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

"""People: registered customers and the (possibly anonymous) visitors behind every event."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.models.common import utcnow

ROLE_CUSTOMER = "customer"
ROLE_ADMIN = "admin"


class Customer(UserMixin, db.Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(256))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_CUSTOMER)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    visitors: Mapped[list[Visitor]] = relationship(back_populates="customer")

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

    customer: Mapped[Customer | None] = relationship(back_populates="visitors")

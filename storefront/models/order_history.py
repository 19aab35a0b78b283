"""What happened to an order after checkout: its status changes and its refunds.

Checkout writes an order as ``paid``; the admin moves it on (``storefront.orders.management``):
paid -> shipped -> delivered, paid -> cancelled (its stock comes back), and refunds of shipped
or delivered orders, in full or per line (all of it refunded: ``refunded``). Every change is an
:class:`OrderChange` row (who, when, from -> to, amount), kept even when the order is final, so
the order page can tell its whole story. A refund also writes one :class:`OrderRefund` per line
it covers (how many units, how much money, whether they went back into stock): what is left to
refund on a line is its quantity minus those rows.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.orders import STATUS_PAID

STATUS_SHIPPED = "shipped"
STATUS_DELIVERED = "delivered"
STATUS_CANCELLED = "cancelled"
STATUS_REFUNDED = "refunded"
ORDER_STATUSES = (STATUS_PAID, STATUS_SHIPPED, STATUS_DELIVERED, STATUS_CANCELLED, STATUS_REFUNDED)
#: Orders that count as sales on the dashboard: a cancelled or fully refunded one does not.
SALE_STATUSES = (STATUS_PAID, STATUS_SHIPPED, STATUS_DELIVERED)

ACTION_SHIP = "ship"
ACTION_DELIVER = "deliver"
ACTION_CANCEL = "cancel"
ACTION_REFUND = "refund"

#: Event types written for an order's lines when it is cancelled or refunded (with the order's
#: visitor and customer): training weighs them as negative feedback (CANCEL_EVENT_WEIGHT,
#: RETURN_EVENT_WEIGHT). Not shopper actions, so ``storefront.tracking`` never writes them.
CANCEL = "cancel"
RETURN = "return"
#: The ``device`` of those events: the back office recorded them, no browser did.
BACK_OFFICE_DEVICE = "admin"


class OrderChange(db.Model):
    __tablename__ = "order_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))  # refunds only
    note: Mapped[str] = mapped_column(String(500), default="")
    # The admin's email, not a foreign key: the history outlives the account.
    changed_by: Mapped[str] = mapped_column(String(254))
    # Indexed: the dashboard counts cancellations in a period.
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class OrderRefund(db.Model):
    __tablename__ = "order_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("order_changes.id", ondelete="CASCADE"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    restocked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed: the dashboard counts returned items in a period.
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

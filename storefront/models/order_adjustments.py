"""What an order charged or took off besides its lines' list prices, as it was at purchase time.

One row per discount a line got from a campaign (``order_line_id`` set), per order-wide discount
(a free-shipping campaign waiving the fee: ``order_line_id`` NULL) and one ``shipping`` row with the
fee charged before any waiver. Amounts are positive: an order's total is its lines' list prices
minus its discounts plus its shipping. Rows keep the campaign's label, so a campaign edited or
gone later does not change what an old order says it got.

A table of its own rather than columns on ``orders``/``order_lines``: older orders need no
rewrite, and an order can have any number of discounts.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from storefront.extensions import db
from storefront.models.orders import Order, OrderLine

DISCOUNT, SHIPPING = "discount", "shipping"


class OrderAdjustment(db.Model):
    __tablename__ = "order_adjustments"
    __table_args__ = (
        CheckConstraint("kind IN ('discount', 'shipping')", name="kind"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # SET NULL: the order keeps its discount (and its label) if the campaign is ever deleted.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    # Backrefs, so the shared order models need no edit: ``order.adjustments``, ``line.adjustments``.
    order: Mapped[Order] = relationship(backref=backref(
        "adjustments", cascade="all, delete-orphan", order_by="OrderAdjustment.id"))
    order_line: Mapped[OrderLine | None] = relationship(backref=backref("adjustments", order_by="OrderAdjustment.id"))

"""Orders and their lines; a line keeps the price and name at purchase time, an order its
discounts and shipping (``OrderAdjustment``)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from storefront.extensions import db
from storefront.models.catalog import Product
from storefront.models.common import utcnow

STATUS_PAID = "paid"


class Order(db.Model):
    __tablename__ = "orders"
    # First order per customer for the admin dashboard (new vs returning; migration 5dbcce0ebc3c).
    __table_args__ = (Index("ix_orders_customer_created", "customer_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random public reference used in URLs: sequential ids would be guessable.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(String(120))
    address_line: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16), default=STATUS_PAID)
    payment_last4: Mapped[str] = mapped_column(String(4), default="")
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


class OrderLine(db.Model):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    product_name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


# -- what an order charged or took off besides its lines' list prices (issue 22: promotions) -----
# One row per discount a line got from a campaign (``order_line_id`` set), per order-wide discount
# (a free-shipping campaign waiving the fee: ``order_line_id`` NULL) and one ``shipping`` row with
# the fee charged before any waiver. Amounts are positive: an order's total is its lines' list
# prices minus its discounts plus its shipping. Rows keep the campaign's label, so a campaign
# edited or gone later does not change what an old order says it got. A table of its own rather
# than columns on orders/order_lines: older orders need no rewrite, and an order can have any
# number of discounts. The relationships are backrefs so that the classes above stay as they are.

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

    # ``order.adjustments``, ``line.adjustments``
    order: Mapped[Order] = relationship(backref=backref(
        "adjustments", cascade="all, delete-orphan", order_by="OrderAdjustment.id"))
    order_line: Mapped[OrderLine | None] = relationship(backref=backref("adjustments", order_by="OrderAdjustment.id"))

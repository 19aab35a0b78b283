"""The log of admin edits to a product: one row per changed field (who, when, old -> new).

Values are kept as text (a price ``"19.99"``, a stock ``"12"``, active ``"yes"``/``"no"``): the
log is for people reading Admin -> Products, and one column type serves every field.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow


class ProductChange(db.Model):
    __tablename__ = "product_changes"
    # A product's history, newest first.
    __table_args__ = (Index("ix_product_changes_product_time", "product_id", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str] = mapped_column(String(200))
    new_value: Mapped[str] = mapped_column(String(200))
    # The admin's email, not a foreign key: the history outlives the account.
    changed_by: Mapped[str] = mapped_column(String(254))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

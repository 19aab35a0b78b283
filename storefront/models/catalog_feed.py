"""What a merchant feed says of a product beyond the ``products`` row (issue 22).

``products`` keeps what the shop sells by (the merchant's id as ``sku``, name, price charged,
stock...); a product imported from a feed also has one ``ProductFeedEntry`` with the rest: the
regular price and the sale (the price charged is the sale price while the sale runs, as of the
import), identifiers (GTIN, MPN), the merchant's link, variants (``item_group_id``) and details
(color, size...). Its presence is also how ``flask catalog import --deactivate-missing`` knows
which products came from a feed.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow


class ProductFeedEntry(db.Model):
    __tablename__ = "product_feed_entries"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    availability: Mapped[str] = mapped_column(String(16))  # in_stock, out_of_stock, preorder, backorder
    currency: Mapped[str] = mapped_column(String(3))
    regular_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    sale_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    sale_starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    sale_ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    link: Mapped[str] = mapped_column(String(2000), default="")
    gtin: Mapped[str] = mapped_column(String(14), default="")
    mpn: Mapped[str] = mapped_column(String(70), default="")
    condition: Mapped[str] = mapped_column(String(12), default="")
    google_product_category: Mapped[str] = mapped_column(String(250), default="")
    item_group_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    details: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # color, size, material...
    # set when --deactivate-missing switched the product off; a later feed listing it again
    # switches it back on (a product the admin switched off stays off)
    deactivated_by_import: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ProductFeedEntry of product {self.product_id}>"

"""What a product has beyond its ``products`` row: its pictures and what a merchant feed said of it
(issue 22).

``ProductImage``: several pictures per product, from the merchant's feed (by URL) or uploaded in
the admin. A row is the picture's place in the product's gallery (``position``, lowest first) and
where it came from; its pixels are files under the instance folder
(``storefront.catalog.image_files``), named after the sha256 of the bytes received, in three sizes
made once when it is stored. A feed picture not downloaded yet has its ``source_url`` and no
``file_key``: pages show only stored files (the shop works offline and its CSP loads images from
itself only), so such a product keeps its drawn placeholder until ``flask catalog fetch-images``
stores it. The table has the catalog's triggers (``storefront.models.catalog_version``): product
cards show the first stored picture and web workers keep that per catalog version.

``ProductFeedEntry``: ``products`` keeps what the shop sells by (the merchant's id as ``sku``,
name, price charged, stock...); a product imported from a feed also has one entry with the rest:
the regular price and the sale (the price charged is the sale price while the sale runs, as of the
import), identifiers (GTIN, MPN), the merchant's link, variants (``item_group_id``) and details
(color, size...). Its presence is also how ``flask catalog import --deactivate-missing`` knows
which products came from a feed.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, Numeric, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

FROM_FEED, FROM_UPLOAD = "feed", "upload"
VARIANTS = ("large", "card", "thumb")  # what a gallery, a card and a gallery's strip show


class ProductImage(db.Model):
    __tablename__ = "product_images"
    __table_args__ = (
        CheckConstraint("source IN ('feed', 'upload')", name="source"),
        CheckConstraint("file_ext IS NULL OR file_ext IN ('jpg', 'png')", name="file_ext"),
        # a feed lists a URL once per product; re-imports find its row by it (uploads have none)
        UniqueConstraint("product_id", "source_url", name="uq_product_images_product_id_source_url"),
        Index("ix_product_images_product_id_position", "product_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(8))
    source_url: Mapped[str | None] = mapped_column(String(2000))
    file_key: Mapped[str | None] = mapped_column(String(64))  # sha256 of the bytes received
    file_ext: Mapped[str | None] = mapped_column(String(4))
    width: Mapped[int | None] = mapped_column(Integer)  # of the "large" file
    height: Mapped[int | None] = mapped_column(Integer)
    fetch_error: Mapped[str | None] = mapped_column(String(300))  # why the last download failed
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime)  # the last download attempt
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def is_stored(self) -> bool:
        return self.file_key is not None

    def file_name(self, variant: str) -> str:
        return f"{self.file_key}-{variant}.{self.file_ext}"

    def __repr__(self) -> str:
        return f"<ProductImage {self.id} of product {self.product_id}>"


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

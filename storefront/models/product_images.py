"""Product pictures: several per product, from the merchant's feed (by URL) or uploaded in the admin.

A row is the picture's place in the product's gallery (``position``, lowest first) and where it
came from; its pixels are files under the instance folder (``storefront.catalog.images``), named
after the sha256 of the bytes received, in three sizes made once when it is stored. A feed image
that was not downloaded yet has its ``source_url`` and no ``file_key``: pages show only stored
files (the shop works offline and its CSP loads images from itself only), so such a product keeps
its drawn placeholder until ``flask catalog fetch-images`` stores it.

The table has the catalog's triggers (``storefront.models.catalog_version``): product cards show
the first stored picture and web workers keep that per catalog version.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
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

"""Catalog: a category tree (departments are the roots) and products."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storefront.extensions import db
from storefront.models.common import utcnow


class Category(db.Model):
    """A node of the category tree; a node without parent is a department."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(
        back_populates="parent", order_by="Category.name"
    )
    products: Mapped[list[Product]] = relationship(back_populates="category", lazy="dynamic")

    @property
    def is_department(self) -> bool:
        return self.parent_id is None

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


class StockRules:
    """Whether a product (a row, or a cached card of it) can be shown as in stock and sold."""

    stock: int
    active: bool

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @property
    def purchasable(self) -> bool:
        return self.active and self.stock > 0


class Product(StockRules, db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(80), index=True, default="")
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Recency-weighted interest score, refreshed in bulk (storefront.catalog.listings.refresh_popularity):
    # sorting a listing by popularity must not aggregate the events table per request.
    popularity: Mapped[float] = mapped_column(Float, default=0.0, index=True)

    category: Mapped[Category] = relationship(back_populates="products")

    def __repr__(self) -> str:
        return f"<Product {self.sku}>"

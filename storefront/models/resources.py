"""Gated B2B content: assets behind a contact form, their business units, and the leads.

An asset's ``type`` is one of the export's type names (``ml.datasets.b2b.ASSET_TYPES``, e.g.
``Gated Webinar Forms`` or the literal ``None``), kept verbatim so imported data, the type
weights and the recommender all speak the same vocabulary; pages show ``TYPE_LABELS`` instead.
``external_id`` is the export's 64-hex-digit ``page_url`` hash: it makes an import
idempotent, and is empty for assets created in the shop.

A lead is one valid form submission. Its ``client_hash`` (a keyed hash of the client address,
never the address itself) and ``created_at`` let the rate limit count recent submissions per
network from the database, which every gunicorn worker sees alike.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ml.datasets.b2b import ASSET_TYPES
from storefront.extensions import db
from storefront.models.common import utcnow

#: What visitors read for each export type name (same order as the export's list).
TYPE_LABELS: dict[str, str] = {
    "Gated Get Pricing": "Pricing request",
    "Gated DemoNow Forms": "Live demo",
    "Gated Analyst Report Forms": "Analyst report",
    "Gated Ebook Forms": "eBook",
    "Gated Webinar Forms": "Webinar",
    "Gated Case Study Forms": "Case study",
    "Gated Solution Brief Forms": "Solution brief",
    "Gated Whitepaper Forms": "Whitepaper",
    "Gated Best Practice Form": "Best-practice guide",
    "Gated Infographics Forms": "Infographic",
    "Unspecified": "General resource",
    "None": "Uncategorised",
}
#: URL-friendly names of the types, for the library's ``?type=`` filter.
TYPE_SLUGS: dict[str, str] = {
    name: label.lower().replace(" ", "-") for name, label in TYPE_LABELS.items()
}
assert set(TYPE_LABELS) == set(ASSET_TYPES), "every export type needs a label"

_CALLS_TO_ACTION = {
    "Gated Get Pricing": "Request pricing",
    "Gated DemoNow Forms": "Book your demo",
    "Unspecified": "Get this resource",
    "None": "Get this resource",
}

asset_business_units = Table(
    "asset_business_units",
    db.metadata,
    Column("asset_id", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    Column("business_unit_id", ForeignKey("business_units.id", ondelete="CASCADE"),
           primary_key=True, index=True),
)


class BusinessUnit(db.Model):
    """A business unit of the company, by its short code (``bu_mapping.csv``'s values)."""

    __tablename__ = "business_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class Asset(db.Model):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    type: Mapped[str] = mapped_column(String(40), index=True)
    # What is delivered after the form: text to read, and/or a file under the instance folder.
    body: Mapped[str] = mapped_column(Text, default="")
    file_path: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    units: Mapped[list[BusinessUnit]] = relationship(
        secondary=asset_business_units, order_by=BusinessUnit.code
    )

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.type, self.type)

    @property
    def type_slug(self) -> str:
        return TYPE_SLUGS.get(self.type, "other")

    @property
    def call_to_action(self) -> str:
        """The form's heading: "Request pricing", "Get this webinar"..."""
        if self.type in _CALLS_TO_ACTION:
            return _CALLS_TO_ACTION[self.type]
        label = self.type_label
        return f"Get this {label[:1].lower()}{label[1:]}"

    def __repr__(self) -> str:
        return f"<Asset {self.id} {self.title!r}>"


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_visitor_time", "visitor_id", "created_at"),
        Index("ix_leads_client_time", "client_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitors.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    company: Mapped[str] = mapped_column(String(160))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    client_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)

    asset: Mapped[Asset] = relationship()

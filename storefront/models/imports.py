"""The ledger of imported data files: what makes ``flask data import`` idempotent."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow


class DataImport(db.Model):
    """One imported file, by content: the same bytes (sha256) for the same ``source`` are never
    imported twice, whatever the file is called now."""

    __tablename__ = "data_imports"
    __table_args__ = (UniqueConstraint("source", "sha256", name="uq_data_imports_source_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # e.g. "retailrocket-events", "yoochoose-buys"
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)  # rows actually added (duplicates skipped)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

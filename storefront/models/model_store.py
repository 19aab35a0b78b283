"""Model versions shared by web nodes that share nothing but the database (``storefront.modelstore``).

- ``model_versions``: one row per *complete* version in the store. With ``MODEL_STORE=postgresql``
  the row is committed in the same transaction as its files' large objects
  (``model_version_files``), so a version is listed exactly when all its bytes are there; with
  ``MODEL_STORE=s3`` the files live in the bucket and these two tables stay empty.
- ``model_version_files``: each file of a version: its large object, size and sha256.
- ``model_pointer``: one row (``id = 1``): the active version, when and by whom it was activated.
  Every node reads it (one tiny query per ``MODEL_CHECK_INTERVAL``) when ``MODEL_STORE`` is not
  ``local``; with the embedded default (``local``) the ``ACTIVE`` file is the pointer and the
  table stays empty.

The tables are plain SQL on both engines (SQLite keeps them empty: ``MODEL_STORE=postgresql`` is
refused there at startup).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import utcnow

POINTER_ID = 1


class ModelVersion(db.Model):
    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[str] = mapped_column(Text)  # manifest.json as published (also one of the files)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelVersionFile(db.Model):
    __tablename__ = "model_version_files"

    version: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_versions.version", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    large_object: Mapped[int] = mapped_column(BigInteger)  # the oid of its PostgreSQL large object
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)


class ModelPointer(db.Model):
    __tablename__ = "model_pointer"
    __table_args__ = (CheckConstraint(f"id = {POINTER_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    activated_by: Mapped[str] = mapped_column(String(255))

"""Model versions as PostgreSQL large objects, in the app's own database (``MODEL_STORE=postgresql``).

One publish is one transaction: every file becomes a large object (written in
:data:`~storefront.modelstore.base.CHUNK_BYTES` pieces with ``lo_from_bytea`` / ``lo_put``, each
checked against the manifest's sha256 as it is read), then the ``model_versions`` row and one
``model_version_files`` row per file are inserted, and the commit makes all of it visible at
once. A publish that fails (or is killed) rolls back: its large objects vanish with the rows, and
no other connection ever saw any of it. Fetching reads each object back with ``lo_get`` in pieces
of the same size, inside one read transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, insert, select, text

from ml.artifacts import MANIFEST_FILE
from storefront.models.model_store import POINTER_ID, ModelPointer, ModelVersion, ModelVersionFile
from storefront.modelstore.base import (
    CHUNK_BYTES, StoreError, check_version, fetched_into, read_checked, read_manifest, sha256_bytes, upload_order,
)

_CREATE = text("SELECT lo_from_bytea(0, :data)")
_APPEND = text("SELECT lo_put(CAST(:oid AS oid), :offset, :data)")
_READ = text("SELECT lo_get(CAST(:oid AS oid), :offset, :length)")
_UNLINK = text("SELECT lo_unlink(CAST(:oid AS oid))")


class PostgresStore:
    name = "postgresql"

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise StoreError("MODEL_STORE=postgresql needs a PostgreSQL database (DATABASE_URL=postgresql://...)")
        self.engine = engine

    def versions(self) -> list[str]:
        with self.engine.connect() as connection:
            return list(connection.scalars(select(ModelVersion.version).order_by(ModelVersion.version)))

    def is_complete(self, version: str, connection: Connection | None = None) -> bool:
        """Whether ``version`` is published; inside ``connection``'s transaction the row is also
        locked against deletion (pruning) until it ends."""
        query = select(ModelVersion.version).where(ModelVersion.version == version)
        if connection is not None:
            return connection.scalar(query.with_for_update(read=True)) is not None
        with self.engine.connect() as own:
            return own.scalar(query) is not None

    def publish(self, version_dir: Path) -> str:
        version_dir = Path(version_dir)
        version = check_version(version_dir.name)
        manifest, raw = read_manifest(version_dir)
        with self.engine.begin() as connection:
            if self.is_complete(version, connection):
                return version  # published before (a retried publish): nothing to add
            rows = []
            for name in upload_order(manifest):
                sha256 = manifest["files"][name]["sha256"]
                oid, size = _write_object(connection, read_checked(version_dir / name, sha256))
                rows.append({"version": version, "name": name, "large_object": oid, "sha256": sha256, "bytes": size})
            oid, size = _write_object(connection, [raw])
            rows.append({"version": version, "name": MANIFEST_FILE, "large_object": oid,
                         "sha256": sha256_bytes(raw), "bytes": size})
            connection.execute(insert(ModelVersion), {
                "version": version, "manifest_sha256": sha256_bytes(raw), "manifest": raw.decode("utf-8"),
                "file_count": len(rows), "total_bytes": sum(row["bytes"] for row in rows),
            })
            connection.execute(insert(ModelVersionFile), rows)
        return version

    def manifest(self, version: str) -> bytes:
        with self.engine.connect() as connection:
            text_ = connection.scalar(select(ModelVersion.manifest).where(ModelVersion.version == check_version(version)))
        if text_ is None:
            raise StoreError(f"no complete version {version} in the PostgreSQL model store")
        return text_.encode("utf-8")

    def fetch(self, version: str, model_dir: Path) -> Path:
        check_version(version)
        with self.engine.connect() as connection:
            files = connection.execute(
                select(ModelVersionFile.name, ModelVersionFile.large_object, ModelVersionFile.sha256,
                       ModelVersionFile.bytes).where(ModelVersionFile.version == version)).all()
            if not files:
                raise StoreError(f"no complete version {version} in the PostgreSQL model store")
            recorded = {row.name: row.sha256 for row in files}
            with fetched_into(version, Path(model_dir), recorded) as tmp:
                for row in files:
                    with open(tmp / row.name, "wb") as handle:
                        for chunk in _read_object(connection, row.large_object, row.bytes):
                            handle.write(chunk)
            connection.rollback()
        return Path(model_dir) / version

    def delete(self, version: str) -> None:
        """Remove ``version`` and its large objects; never the active one (StoreError)."""
        check_version(version)
        with self.engine.begin() as connection:
            active = connection.scalar(select(ModelPointer.version).where(ModelPointer.id == POINTER_ID)
                                       .with_for_update(read=True))
            if active == version:
                raise StoreError(f"version {version} is active: it cannot be deleted")
            for oid in connection.scalars(select(ModelVersionFile.large_object)
                                          .where(ModelVersionFile.version == version)):
                connection.execute(_UNLINK, {"oid": oid})
            connection.execute(delete(ModelVersionFile).where(ModelVersionFile.version == version))
            connection.execute(delete(ModelVersion).where(ModelVersion.version == version))


def _write_object(connection: Connection, chunks: Iterable[bytes]) -> tuple[int, int]:
    """A new large object holding ``chunks``; its oid and size."""
    oid, offset = None, 0
    for chunk in chunks:
        if oid is None:
            oid = connection.execute(_CREATE, {"data": chunk}).scalar_one()
        else:
            connection.execute(_APPEND, {"oid": oid, "offset": offset, "data": chunk})
        offset += len(chunk)
    if oid is None:  # an empty file
        oid = connection.execute(_CREATE, {"data": b""}).scalar_one()
    return int(oid), offset


def _read_object(connection: Connection, oid: int, size: int) -> Iterable[bytes]:
    offset = 0
    while offset < size:
        chunk = connection.execute(_READ, {"oid": oid, "offset": offset,
                                           "length": min(CHUNK_BYTES, size - offset)}).scalar_one()
        if not chunk:
            raise StoreError(f"large object {oid} ends at {offset} bytes, {size} recorded")
        yield bytes(chunk)
        offset += len(chunk)

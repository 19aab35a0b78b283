"""The active pointer in the database (``model_pointer``, one row), when ``MODEL_STORE`` is not local.

Reading it is one tiny query on a connection of its own (never the request's session, whose
transaction it must not join). Writing it is one transaction that first makes sure the version is
complete in the store (PostgreSQL: its ``model_versions`` row, locked ``FOR SHARE`` so pruning
cannot delete it before the commit) and then upserts the row: the pointer never names a partial
version, and two activations at once leave one of them, whole.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from ml.artifacts import ArtifactError
from storefront.models.common import utcnow
from storefront.models.model_store import POINTER_ID, ModelPointer
from storefront.modelstore.base import ModelStore, check_version

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pointer:
    version: str
    activated_at: datetime
    activated_by: str


def read_pointer(engine: Engine) -> Pointer | None:
    """The active version as the database says (None: nothing activated through a store yet)."""
    with engine.connect() as connection:
        row = connection.execute(select(ModelPointer.version, ModelPointer.activated_at, ModelPointer.activated_by)
                                 .where(ModelPointer.id == POINTER_ID)).first()
        connection.rollback()
    return Pointer(row.version, row.activated_at, row.activated_by) if row is not None else None


def point_at(engine: Engine, store: ModelStore, version: str, by: str) -> Pointer:
    """Make ``version`` the active one for every node; ArtifactError when the store holds no
    complete version of that name (the pointer is then unchanged)."""
    check_version(version)
    values = {"version": version, "activated_at": utcnow(), "activated_by": (by or "?")[:255]}
    with engine.begin() as connection:
        if not store.is_complete(version, connection=connection):
            raise ArtifactError(f"version {version} is not a complete version of the {store.name} model store")
        connection.execute(_upsert(engine.dialect.name, values))
    log.info("model pointer -> %s (by %s)", version, values["activated_by"])
    return Pointer(**values)


def _upsert(dialect: str, values: dict):
    module = {"postgresql": postgresql, "sqlite": sqlite}.get(dialect)
    if module is None:
        raise RuntimeError(f"the model pointer supports PostgreSQL and SQLite, not {dialect}")
    statement = module.insert(ModelPointer).values(id=POINTER_ID, **values)
    return statement.on_conflict_do_update(index_elements=[ModelPointer.id], set_=values)


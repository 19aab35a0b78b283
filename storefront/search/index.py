"""The search index's life cycle: create it (the migration, and ``create_all`` in tests), rebuild
it in bulk (``flask search reindex``), and pick the adapter for the app's database.

Day to day nothing here runs: database triggers keep the index in step with every write (the
seed, the importers, the admin, a ``psql`` session). A rebuild is for a restored dump, a bulk
load that dropped the triggers, or a change of tokenizer or weights.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import DDL, event, text
from sqlalchemy.engine import Connection

from storefront.extensions import db
from storefront.search.engines import SearchEngine, engine_for

log = logging.getLogger(__name__)


def current_engine() -> SearchEngine:
    return engine_for(db.engine.dialect.name)


def create_index(connection: Connection) -> None:
    """Tables, indexes and triggers of the index (idempotent); it starts empty."""
    for statement in engine_for(connection.dialect.name).ddl():
        connection.execute(DDL(statement))


def drop_index(connection: Connection) -> None:
    for statement in engine_for(connection.dialect.name).drop_ddl():
        connection.execute(DDL(statement))


@contextmanager
def products_in_bulk(connection: Connection) -> Iterator[None]:
    """Around a bulk insert of products (an import): SQLite's per-row index trigger is set aside
    and the new products (ids above the highest before) are indexed in one set-based pass at the
    end, 5-10x faster; PostgreSQL's insert trigger is set-based already, and the words' product
    counts are made exact at the end. Inside the caller's transaction: a failed import rolls the
    trigger's removal back with everything else."""
    engine = engine_for(connection.dialect.name)
    if not _has_index(connection):
        yield
        return
    after_id = connection.execute(text("SELECT coalesce(max(id), 0) FROM products")).scalar_one()
    for statement in engine.bulk_begin():
        connection.execute(DDL(statement))
    yield
    for statement in engine.bulk_end(after_id):
        connection.execute(DDL(statement) if statement.startswith("CREATE") else text(statement))


def _has_index(connection: Connection) -> bool:
    if connection.dialect.name == "postgresql":
        return connection.execute(text("SELECT to_regclass('search_words') IS NOT NULL")).scalar()
    return bool(connection.execute(
        text("SELECT count(*) FROM sqlite_master WHERE name = 'search_products_insert'")).scalar())


@dataclass(frozen=True)
class RebuildReport:
    engine: str
    products: int
    words: int
    seconds: float


def rebuild_index(connection: Connection | None = None) -> RebuildReport:
    """Index every active product afresh, in bulk (set-based statements, no per-row trigger).

    Runs on the session's connection by default: the caller commits, as with any service."""
    connection = connection or db.session.connection()
    engine = engine_for(connection.dialect.name)
    create_index(connection)
    started = time.perf_counter()
    engine.rebuild(connection)
    # the vocabulary and the suggestion labels are kept per catalog version: a rebuild moves it
    connection.execute(text("UPDATE catalog_state SET version = version + 1"))
    seconds = time.perf_counter() - started
    products = connection.execute(text("SELECT count(*) FROM products WHERE active")).scalar_one()
    words = len(engine.vocabulary(connection))
    log.info("search index rebuilt: %d products, %d words in %.2f s (%s)", products, words, seconds, engine.name)
    return RebuildReport(engine.name, products, words, seconds)


@event.listens_for(db.metadata, "after_create")
def _create_with_schema(_metadata, connection, tables=(), **_kwargs) -> None:
    """``create_all`` (the tests' schema) gets the index and its triggers, as the migration
    gives them; only when it creates the products table (a second ``create_all`` does nothing)."""
    if not any(table.name == "products" for table in tables or ()):
        return
    drop_index(connection)  # a fresh products table: nothing of an older one may stay indexed
    create_index(connection)


@event.listens_for(db.metadata, "after_drop")
def _drop_with_schema(_metadata, connection, tables=(), **_kwargs) -> None:
    """``drop_all`` drops the index with the products table (its tables are not models)."""
    if any(table.name == "products" for table in tables or ()):
        drop_index(connection)

"""Bulk writing for ``flask data import``: the fastest safe path per database, in the caller's
transaction.

- SQLite: one prepared INSERT run by ``executemany`` over plain tuples (through the session's
  connection, so it is part of the import's transaction), times pre-formatted as the text
  SQLAlchemy itself stores (``YYYY-MM-DD HH:MM:SS.ffffff``) so that range comparisons keep
  working. Foreign key checks are off for the import (``database.suspend_foreign_keys``: every
  referenced id is assigned here, under SQLite's only write lock).
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg 3 (text format, tab separated).

A large import into a small events table (at least twice its rows: a new shop loading a real
log) drops the events indexes first and builds them again at the end, inside the same
transaction (DDL is transactional on both databases, so a failed import gets them back):
building the indexes over the finished table once is faster than maintaining them row by row
in random order (SQLite, 1M events: 25 s -> 13 s; PostgreSQL, 2.76M events: 112 s of index
maintenance -> 17 s of COPY and builds). On PostgreSQL the events foreign keys go the same way
(their per-row checks cost another 50 s at 2.76M) and come back validated by one scan each.
The price on PostgreSQL: dropping an index locks the events table until the import commits, so
the shop's page views wait for the import; SQLite's write lock makes them wait either way.
An import into a larger events table (or with ``keep_indexes``, ``flask data import ...
--keep-indexes``) keeps everything and writes each chunk in time order,
which keeps the time-leading indexes append-only (PostgreSQL, 2.76M events: 112 s -> 40 s).

Primary keys of visitors, products, categories and orders are assigned here, not by a
round trip per row: on SQLite from max(id)+1 (the import holds the database's only write lock
from its first write on), on PostgreSQL by drawing the sequence (``nextval`` over
``generate_series``, returned as runs of consecutive values) so concurrent web requests never
collide with imported ids.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

#: Below this many incoming rows (or when the events table is already larger than half the
#: import) index maintenance is cheaper than rebuilding the indexes.
REBUILD_INDEXES_MIN_ROWS = 200_000
POSTGRES_BUILD_MEMORY = "256MB"  # maintenance_work_mem for the index builds (default: 64MB)
#: Rows per executemany / COPY: bounds the Python objects alive at once (tuples of a batch).
BATCH_ROWS = 50_000
BULK_PRODUCTS = 1_000  # from this many new products, the search index is built after the insert
SQLITE_CACHE_KIB = 262_144  # 256 MiB page cache for the import's connection (default: 2 MiB)


def sqlite_times(values: np.ndarray) -> list[str]:
    """datetime64 values -> SQLAlchemy's SQLite DATETIME text, vectorised (numpy formats)."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us").astype("S26")
    text.view(np.uint8).reshape(len(text), 26)[:, 10] = ord(" ")  # the "T" of ISO 8601
    return text.astype("U26").tolist()


class BulkWriter:
    """Insert DataFrames (columns = table columns) into tables through one connection."""

    def __init__(self, connection: Connection, keep_indexes: bool = False) -> None:
        self.connection = connection
        self.keep_indexes = keep_indexes  # never drop the events indexes (a live shop on PostgreSQL)
        self.dialect = connection.dialect.name
        self._dropped: list[str] = []
        self._cache: int | None = None
        self._next: dict[str, int] = {}
        if self.dialect == "sqlite":
            self._cache = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")

    # -- ids -------------------------------------------------------------------------------
    def allocate(self, table: str, count: int) -> np.ndarray:
        """``count`` fresh primary keys for ``table``."""
        if count == 0:
            return np.zeros(0, dtype=np.int64)
        if self.dialect == "postgresql":
            # Consecutive runs (start, length) instead of a million single values: usually one
            # run; several when a web request drew from the sequence meanwhile.
            runs = self.connection.execute(text(
                "SELECT min(v), count(*) FROM (SELECT v, v - row_number() OVER (ORDER BY v) AS run FROM "
                "(SELECT nextval(pg_get_serial_sequence(:t, 'id')) AS v FROM generate_series(1, :n)) AS drawn"
                ") AS numbered GROUP BY run ORDER BY 1"), {"t": table, "n": count}).all()
            return np.concatenate([np.arange(start, start + length, dtype=np.int64) for start, length in runs])
        if table not in self._next:
            self._next[table] = (self.connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar() or 0) + 1
        start = self._next[table]
        self._next[table] = start + count
        return np.arange(start, start + count, dtype=np.int64)

    # -- rows ------------------------------------------------------------------------------
    def insert(self, table: str, frame: pd.DataFrame) -> None:
        if table == "products" and len(frame) >= BULK_PRODUCTS:
            # the search index: indexed in one pass after the insert, not row by row (SQLite)
            from storefront.search.index import products_in_bulk

            with products_in_bulk(self.connection):
                self._insert_all(table, frame)
            return
        self._insert_all(table, frame)

    def _insert_all(self, table: str, frame: pd.DataFrame) -> None:
        for start in range(0, len(frame), BATCH_ROWS):
            self._insert(table, frame.iloc[start:start + BATCH_ROWS])

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        if self.dialect == "postgresql":
            self._copy(table, frame)
            return
        columns = []
        for name in frame.columns:
            column = frame[name]
            if pd.api.types.is_datetime64_any_dtype(column.dtype):
                columns.append(sqlite_times(column.to_numpy()))
            elif column.dtype == bool:
                columns.append(column.astype(int).tolist())
            elif isinstance(column.dtype, pd.Int64Dtype):
                columns.append(column.astype(object).where(column.notna(), None).tolist())
            else:
                columns.append(column.tolist())
        sql = f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})"
        self.connection.exec_driver_sql(sql, list(zip(*columns)))

    def _copy(self, table: str, frame: pd.DataFrame) -> None:
        # Our values never hold tabs, newlines or backslashes (ids, "Item 123", tokens): the text
        # format needs no escaping, and to_csv writes it ~10x faster than a per-row write_row.
        frame = frame.copy()
        for name in frame.columns:
            if frame[name].dtype == bool:
                frame[name] = np.where(frame[name], "t", "f")
        payload = frame.to_csv(sep="\t", header=False, index=False, na_rep="\\N", quoting=3,
                               date_format="%Y-%m-%d %H:%M:%S.%f")
        raw = self.connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN") as copy:
            copy.write(payload)

    def update_many(self, sql: str, params: Sequence[tuple]) -> None:
        if not params:
            return
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        self.connection.exec_driver_sql(sql, list(params))

    # -- indexes ---------------------------------------------------------------------------
    def maybe_drop_event_indexes(self, incoming_rows: int) -> bool:
        """Drop the events indexes (and on PostgreSQL its foreign keys) when ``incoming_rows``
        is large and at least twice the rows already there; :meth:`finish` restores them."""
        if self.keep_indexes or incoming_rows < REBUILD_INDEXES_MIN_ROWS:
            return False
        # Counting stops at half the import: the question is only "is the table that small?"
        cap = incoming_rows // 2 + 1
        existing = self.connection.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM events LIMIT {int(cap)}) AS head").scalar() or 0
        if existing * 2 > incoming_rows:
            return False
        if self.dialect == "postgresql":
            self._drop_postgres_event_indexes()
        else:
            rows = self.connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL"
            ).all()
            for name, sql in rows:
                self.connection.exec_driver_sql(f'DROP INDEX "{name}"')
                self._dropped.append(sql)
        return bool(self._dropped)

    def _drop_postgres_event_indexes(self) -> None:
        indexes = self.connection.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'events'::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1").all()
        keys = self.connection.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'events'::regclass AND contype = 'f' ORDER BY 1").all()
        for name, _ in keys:
            self.connection.exec_driver_sql(f'ALTER TABLE events DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            self.connection.exec_driver_sql(f'DROP INDEX "{name}"')
        self._dropped = [definition for _, definition in indexes]
        self._dropped += [f'ALTER TABLE events ADD CONSTRAINT "{name}" {definition}' for name, definition in keys]
        if self._dropped:
            self.connection.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{POSTGRES_BUILD_MEMORY}'")

    def finish(self) -> None:
        """Rebuild the dropped indexes (and foreign keys) and restore the cache size."""
        for sql in self._dropped:
            self.connection.exec_driver_sql(sql)
        self._dropped.clear()
        if self._cache is not None:
            self.connection.exec_driver_sql(f"PRAGMA cache_size={int(self._cache)}")
            self._cache = None

    def abandon(self) -> None:
        """After a failure: the rollback restores the indexes; only the cache size is ours."""
        self._dropped.clear()
        if self._cache is not None:
            try:
                self.connection.exec_driver_sql(f"PRAGMA cache_size={int(self._cache)}")
            except Exception:  # noqa: BLE001 - the connection may be unusable; the pool recycles it
                pass
            self._cache = None

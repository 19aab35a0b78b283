"""A fresh test schema without building it for every test (the ``app`` fixture in tests/conftest.py).

``db.create_all()`` per test was the largest fixed cost of the suite: on PostgreSQL it creates two
extensions, 33 tables, 105 indexes, the search and catalog-version triggers and functions
(~0.6 s), and dropping it all again at teardown cost another ~0.3 s, for every one of ~1,600
tests. Each test still starts from exactly the state ``create_all`` leaves, but:

* SQLite: ``create_all`` runs once per session into a template file; each test's database is a
  byte copy of it (``db.create_all()`` then finds every table and creates nothing).
* PostgreSQL: the schema is built once and kept while it stays as ``create_all`` built it. After
  each test every table that holds pages is emptied (triggers off, so nothing fires), the rows
  ``create_all`` itself wrote (the ``catalog_state`` row) are put back, and every sequence restarts.
  A test that changed the schema in any way (dropped or created a table, a column, an index, a
  trigger, a function, a type, an extension; ``drop_all``, migrations, another schema reset) is
  recognised by a fingerprint of the catalogue (object ids, so a recreated object differs too;
  the planner statistics, so a table ANALYZEd or vacuumed counts as changed),
  and the schema is then dropped and rebuilt as before. Anything unexpected (a kind of relation
  whose contents emptying would not restore, a failure while emptying): dropped and rebuilt.
"""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from storefront import create_app
from storefront.database import normalise_database_url
from storefront.extensions import db
from tests.helpers import reset_postgres_schema

# Everything in the public schema that a schema change would touch; ids, so that an object
# dropped and created again (``drop_all`` + ``create_all``) changes the fingerprint too.
# relfilenode is left out on purpose: TRUNCATE changes it without changing the schema.
_FINGERPRINT = text("""
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
  SELECT concat_ws(':', 'n', n.oid) AS item FROM pg_namespace n WHERE n.nspname = 'public'
  UNION ALL SELECT concat_ws(':', 'c', c.oid, c.relname, c.relkind, c.relnatts, c.relpersistence)
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'a', a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull,
                             a.atthasdef, a.attisdropped)
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0
  UNION ALL SELECT concat_ws(':', 'd', d.oid) FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
    WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'k', k.oid, k.convalidated) FROM pg_constraint k
    WHERE k.connamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 't', t.oid, t.tgenabled) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'p', p.oid) FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'y', y.oid) FROM pg_type y WHERE y.typnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'e', e.oid, e.enumlabel) FROM pg_enum e JOIN pg_type y ON y.oid = e.enumtypid
    WHERE y.typnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 'x', x.oid, x.extversion) FROM pg_extension x
  UNION ALL SELECT concat_ws(':', 'r', r.oid) FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
    WHERE c.relnamespace = 'public'::regnamespace
) AS catalogue
""")
# The planner's statistics: a table ANALYZEd (a seed, an import) or vacuumed is not as
# create_all left it (a test reads pg_stats), so its schema is rebuilt rather than emptied.
_STATISTICS = text("""
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), '')) FROM (
  SELECT concat_ws(':', 'c', c.oid, c.relpages, c.reltuples, c.relallvisible) AS item
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT concat_ws(':', 's', s.starelid, s.staattnum, s.stainherit) FROM pg_statistic s
    JOIN pg_class c ON c.oid = s.starelid WHERE c.relnamespace = 'public'::regnamespace
) AS statistics
""")
_TABLES = text("SELECT c.relname, c.relkind FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
               "AND c.relkind NOT IN ('i', 'S', 'v')")  # indexes and sequences follow their tables; views hold nothing
_WRITTEN = text("SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c "
                "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND pg_relation_size(c.oid) > 0")
_RESTART_SEQUENCES = text("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false) "
                          "FROM pg_sequences WHERE schemaname = 'public'")
_SEQUENCES_USED = text("SELECT bool_or(last_value IS NOT NULL) FROM pg_sequences WHERE schemaname = 'public'")
_SEQUENCE_STATES = text("SELECT sequencename, start_value, last_value FROM pg_sequences WHERE schemaname = 'public'")
TRUNCATE_FROM_BYTES = 8 * 1024 * 1024  # a seeded events table: TRUNCATE is faster than DELETE


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- SQLite ------------------------------------------------------------------------------------

_sqlite_template: Path | None = None  # set once per session by build_sqlite_template
_seeded_copies: dict[tuple[str, ...], Path] = {}  # CLI arguments -> the database they seeded (SQLite)
_postgres_copies: dict[tuple[str, ...], "PostgresContents"] = {}  # the same on PostgreSQL


def build_sqlite_template(folder: Path) -> Path | None:
    """``create_all`` into ``folder/test.db`` once; None when it cannot serve as a template."""
    global _sqlite_template
    path = folder / "test.db"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                      "MODEL_DIR": str(folder / "models")})
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()  # the last connection closing checkpoints and removes the WAL
    leftovers = [p for p in folder.iterdir() if p.name.startswith("test.db") and p != path]
    _sqlite_template = None if leftovers else path
    return _sqlite_template


def copy_sqlite_template(template: Path, target: Path) -> None:
    shutil.copyfile(template, target)


def _untouched_sqlite_file(app) -> Path | None:
    """The app's SQLite file when it is still exactly the template copy (nothing written: the
    file is byte for byte the template, and its write-ahead log holds no page); else None."""
    url = db.engine.url
    if _sqlite_template is None or url.get_backend_name() != "sqlite" or not url.database \
            or url.database == ":memory:":
        return None
    path = Path(url.database)
    wal = path.with_name(path.name + "-wal")
    if not path.exists() or (wal.exists() and wal.stat().st_size > 0):
        return None
    return path if path.read_bytes() == _sqlite_template.read_bytes() else None


def seed_once(runner, args: list[str]) -> None:
    """``runner.invoke(args)`` (a ``flask shop seed``, which must succeed), run for real once per
    session and arguments; a test whose database is still the fresh schema gets a copy of what
    that run wrote instead (the seed is deterministic: same arguments, same rows, same ids).
    A database the test already wrote to is seeded for real."""
    key = tuple(args)
    with runner.app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            fresh = POSTGRES.untouched()
            saved = _postgres_copies.get(key)
            if fresh and saved is not None and saved.fingerprint == POSTGRES.fingerprint:
                POSTGRES.load(saved)
                return
        else:
            fresh = _untouched_sqlite_file(runner.app)
            if fresh is not None and key in _seeded_copies:
                db.session.remove()
                db.engine.dispose()
                _sqlite_copy(_seeded_copies[key], fresh)
                return
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    if not fresh:
        return
    with runner.app.app_context():
        db.session.remove()
        if postgres:  # (again when the schema was rebuilt since the last copy was saved)
            saved = POSTGRES.save()
            if saved is not None:
                _postgres_copies[key] = saved
            return
        if key in _seeded_copies:
            return
        db.engine.dispose()
    copy = _sqlite_template.parent / f"seeded-{len(_seeded_copies)}.db"
    _sqlite_copy(fresh, copy)
    _seeded_copies[key] = copy


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup: the target's connections (if any) see the new contents."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


# --- PostgreSQL --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PostgresContents:
    fingerprint: str  # of the schema they were saved from
    tables: dict[str, bytes]  # table -> COPY (binary) of its rows
    sequences: list[tuple[str, int, int | None]]  # name, start value, last value (None: never used)


@dataclass
class PostgresSchema:
    """The state of the shared PostgreSQL schema across the tests of one pytest session."""

    fingerprint: str | None = None  # of the schema as create_all built it; None: rebuild next time
    statistics: str | None = None  # of its planner statistics then
    rows: dict[str, str] = field(default_factory=dict)  # table -> its rows (JSON text) right after create_all

    def prepare(self) -> None:
        """At the start of a test, in the app context: the schema create_all builds, with its rows."""
        try:
            if self.fingerprint is not None and self._unchanged() and self._holds_only_the_built_rows():
                return
        finally:
            db.session.remove()
        self.fingerprint = None
        reset_postgres_schema()
        db.create_all()
        with db.engine.begin() as connection:
            kinds = {kind for _, kind in connection.execute(_TABLES)}
            if kinds <= {"r"}:  # plain tables only: emptying them gives back what create_all built
                self.rows = _contents(connection)
                self.fingerprint = connection.execute(_FINGERPRINT).scalar_one()
                self.statistics = connection.execute(_STATISTICS).scalar_one()

    def clean(self) -> None:
        """At the end of a test, in the app context (its session removed): empty the tables, or
        drop the schema when the test changed it."""
        try:
            if self.fingerprint is not None and self._unchanged():
                db.session.remove()
                self._empty()
                return
        except Exception:  # noqa: BLE001 - whatever went wrong, dropping the schema is still right
            pass
        finally:
            db.session.remove()
        self.fingerprint = None
        reset_postgres_schema()

    def drop(self, url: str) -> None:
        """At the end of the session: leave the database's public schema empty, as tests do."""
        if self.fingerprint is None:
            return
        self.fingerprint = None
        engine = create_engine(normalise_database_url(url))
        try:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        finally:
            engine.dispose()

    def untouched(self) -> bool:
        """In the app context: whether the schema is still exactly as prepared (no row written,
        no sequence used)."""
        try:
            return self.fingerprint is not None and self._unchanged() and self._holds_only_the_built_rows() \
                and not db.session.execute(_SEQUENCES_USED).scalar()
        finally:
            db.session.remove()

    def save(self) -> PostgresContents | None:
        """In the app context (its session removed): every table's rows and every sequence."""
        if self.fingerprint is None or not self._same_schema():  # (the seed ANALYZEd its tables)
            return None
        db.session.remove()
        with db.engine.connect() as connection:
            names = [name for name, _ in connection.execute(_WRITTEN)]
            cursor = connection.connection.driver_connection.cursor()
            tables = {}
            for name in names:
                with cursor.copy(f"COPY {_quote(name)} TO STDOUT (FORMAT binary)") as copy:
                    tables[name] = b"".join(bytes(block) for block in copy)
            sequences = [tuple(row) for row in connection.execute(_SEQUENCE_STATES)]
            connection.rollback()
        return PostgresContents(self.fingerprint, tables, sequences)

    def load(self, contents: PostgresContents) -> None:
        """In the app context, on an untouched schema: write ``contents`` back as they were saved,
        triggers off (their effects are in the saved tables already), then ANALYZE as the seed does."""
        assert contents.fingerprint == self.fingerprint
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for name in self.rows:
                connection.execute(text(f"DELETE FROM {_quote(name)}"))
            cursor = connection.connection.driver_connection.cursor()
            for name, data in contents.tables.items():
                with cursor.copy(f"COPY {_quote(name)} FROM STDIN (FORMAT binary)") as copy:
                    copy.write(data)
            for name, start, last in contents.sequences:
                connection.execute(text("SELECT setval(CAST(:name AS regclass), :value, :called)"),
                                   {"name": _quote(name), "value": start if last is None else last,
                                    "called": last is not None})
            connection.execute(text("ANALYZE"))

    def _unchanged(self) -> bool:
        return self._same_schema() and db.session.execute(_STATISTICS).scalar_one() == self.statistics

    def _same_schema(self) -> bool:
        return db.session.execute(_FINGERPRINT).scalar_one() == self.fingerprint

    def _holds_only_the_built_rows(self) -> bool:
        """Whether the tables hold exactly the rows create_all wrote (nothing left behind by a
        process or a test that used the database without the ``app`` fixture)."""
        return _contents(db.session.connection()) == self.rows

    def _empty(self) -> None:
        with db.engine.begin() as connection:
            # Triggers off (catalog version, search index, foreign keys): nothing fires while
            # emptying, and the order of the tables does not matter.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            written = list(connection.execute(_WRITTEN))
            large = [name for name, size in written if size >= TRUNCATE_FROM_BYTES]
            if large:
                connection.execute(text(f"TRUNCATE {', '.join(map(_quote, large))} CASCADE"))
            for name, size in written:
                if size < TRUNCATE_FROM_BYTES:
                    connection.execute(text(f"DELETE FROM {_quote(name)}"))
            for name, rows in self.rows.items():
                connection.execute(text(f"INSERT INTO {_quote(name)} SELECT * FROM "
                                        f"json_populate_recordset(NULL::{_quote(name)}, CAST(:rows AS json))"),
                                   {"rows": rows})
            connection.execute(_RESTART_SEQUENCES)


def _contents(connection) -> dict[str, str]:
    """table -> its rows as JSON text, for every table that holds any (all in one statement)."""
    names = [name for name, _ in connection.execute(_WRITTEN)]
    if not names:
        return {}
    found = connection.execute(text(" UNION ALL ".join(
        f"SELECT {i}, (SELECT json_agg(t ORDER BY t::text)::text FROM {_quote(name)} AS t)"
        for i, name in enumerate(names)
    ))).all()
    return {names[i]: rows for i, rows in found if rows is not None}


POSTGRES = PostgresSchema()  # the suite's shared schema (the app fixture prepares and cleans it)

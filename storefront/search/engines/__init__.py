"""One adapter per database engine behind the same small interface (:class:`SearchEngine`).

An adapter owns its DDL (tables, indexes, triggers that keep the index in step with every write
to ``products`` and ``categories``), the set-based rebuild, the ranked query and the vocabulary
that typo correction reads. Everything above it (``storefront.search``) is engine-independent.

A query reaches an adapter as a :data:`Query`: a disjunction of conjunctions of groups, a group
being the alternatives for one query word, each ``(word, prefix)``. Words are already
normalised to ``[^\\W_]+`` (letters and digits), so no search syntax can reach the engine.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Connection

Alternative = tuple[str, bool]  # (word, also as a prefix)
Group = tuple[Alternative, ...]  # any of these
Clause = tuple[Group, ...]  # every group
Query = tuple[Clause, ...]  # any clause

# bm25 / ts_rank column weights: name > brand > category > description
COLUMN_WEIGHTS = {"name": 10.0, "brand": 6.0, "category": 3.0, "description": 1.0}


@dataclass(frozen=True)
class Ranking:
    """How popularity lifts text relevance: ``relevance * (1 + weight * pop / (pop + half))``,
    and a product of a category the query names: ``* category_weight``; applied to the ``pool``
    best matches by text relevance."""

    popularity_weight: float = 0.5
    popularity_half: float = 20.0
    category_weight: float = 2.0
    pool: int = 1000  # the best matches by text relevance that the rest orders (at least ``limit``)


def category_boost(category_ids: Collection[int], ranking: Ranking) -> str:
    """SQL factor for products of ``category_ids`` (integers, written as literals)."""
    ids = sorted({int(c) for c in category_ids})
    if not ids:
        return "1.0"
    return f"(CASE WHEN p.category_id IN ({', '.join(map(str, ids))}) THEN {float(ranking.category_weight)} ELSE 1.0 END)"


@dataclass(frozen=True)
class Hits:
    rows: list[tuple[int, str]]  # (product id, name), best first
    total: int


class SearchEngine(Protocol):
    name: str

    def ddl(self) -> list[str]: ...

    def drop_ddl(self) -> list[str]: ...

    def bulk_begin(self) -> list[str]: ...

    def bulk_end(self, after_id: int) -> list[str]: ...

    def rebuild(self, connection: Connection) -> None: ...

    def search(self, connection: Connection, query: Query, phrase: str, limit: int, ranking: Ranking,
               categories: Collection[int] = ()) -> Hits: ...

    def popular(self, connection: Connection, query: Query, limit: int) -> list[tuple[int, str]]: ...

    def vocabulary(self, connection: Connection) -> dict[str, int]: ...


def engine_for(dialect: str) -> SearchEngine:
    if dialect == "postgresql":
        from storefront.search.engines.postgresql import PostgresEngine

        return PostgresEngine()
    if dialect == "sqlite":
        from storefront.search.engines.sqlite import SqliteEngine

        return SqliteEngine()
    raise ValueError(f"no search engine for the {dialect!r} database")


# Tables the index adds beside the models' (autogenerate and the schema checks leave them be).
INDEX_TABLE_PREFIX = "search_"


def is_index_table(name: str | None) -> bool:
    return bool(name) and name.startswith(INDEX_TABLE_PREFIX)


def include_name(name: str | None, type_: str, _parent_names=None) -> bool:
    """Alembic's ``include_name`` hook: leave the index's tables out of schema comparisons."""
    return not (type_ == "table" and is_index_table(name))

"""SQLite: FTS5 with porter stemming over name, brand, category and description, plus a word
table (FTS5 without stemming, read through ``fts5vocab``) that typo correction learns from.

Both FTS tables hold the active products only, keyed by product id (``rowid``). Triggers keep
them in step: on a product insert, delete, or update of a searched column (name, brand,
description, category, active; stock and popularity updates do not fire them), and on a category
rename or move (its products and its subcategories' products: a product's category text is its
category's name followed by its parent's, so "electronics" finds the laptops too).
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storefront.search.engines import COLUMN_WEIGHTS, Hits, Query, Ranking, category_boost

TOKENIZE = "porter unicode61 remove_diacritics 2"
WORD_TOKENIZE = "unicode61 remove_diacritics 2"


def _category_text(category_id: str) -> str:
    return (
        "(SELECT c.name || coalesce(' ' || up.name, '') FROM categories c "
        f"LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = {category_id})"
    )


def _insert_select(where: str) -> list[str]:
    """Statements indexing the products ``p`` that ``where`` selects (active ones only)."""
    category = _category_text("p.category_id")
    return [
        "INSERT INTO search_index (rowid, name, brand, category, description) "
        f"SELECT p.id, p.name, p.brand, {category}, p.description FROM products p WHERE p.active AND ({where})",
        "INSERT INTO search_words (rowid, words) "
        f"SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce({category}, '') "
        f"FROM products p WHERE p.active AND ({where})",
    ]


def _forget(where: str) -> list[str]:
    return [f"DELETE FROM search_index WHERE rowid IN ({where})",
            f"DELETE FROM search_words WHERE rowid IN ({where})"]


INSERT_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS search_products_insert AFTER INSERT ON products WHEN NEW.active BEGIN "
                  + "; ".join(_insert_select("p.id = NEW.id")) + "; END")


def _fts(query: Query) -> str:
    """The FTS5 MATCH expression: every word double-quoted (a string, never syntax)."""
    def alternative(word: str, prefix: bool) -> str:
        return f'"{word}"*' if prefix else f'"{word}"'

    clauses = []
    for clause in query:
        groups = ["(" + " OR ".join(alternative(w, p) for w, p in group) + ")" for group in clause]
        clauses.append("(" + " AND ".join(groups) + ")")
    return " OR ".join(clauses)


class SqliteEngine:
    name = "sqlite-fts5"

    def ddl(self) -> list[str]:
        children = "SELECT id FROM products WHERE category_id = NEW.id OR category_id IN " \
                   "(SELECT id FROM categories WHERE parent_id = NEW.id)"
        return [
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
            f"name, brand, category, description, tokenize='{TOKENIZE}')",
            f"CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5(words, tokenize='{WORD_TOKENIZE}', detail=none)",
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_vocabulary USING fts5vocab(search_words, 'row')",
            INSERT_TRIGGER,
            "CREATE TRIGGER IF NOT EXISTS search_products_delete AFTER DELETE ON products BEGIN "
            + "; ".join(_forget("OLD.id")) + "; END",
            "CREATE TRIGGER IF NOT EXISTS search_products_update "
            "AFTER UPDATE OF name, brand, description, category_id, active ON products BEGIN "
            + "; ".join(_forget("OLD.id") + _insert_select("p.id = NEW.id")) + "; END",
            "CREATE TRIGGER IF NOT EXISTS search_categories_update AFTER UPDATE OF name, parent_id ON categories "
            "WHEN OLD.name IS NOT NEW.name OR OLD.parent_id IS NOT NEW.parent_id BEGIN "
            + "; ".join(_forget(children) + _insert_select(f"p.id IN ({children})")) + "; END",
        ]

    def bulk_begin(self) -> list[str]:
        """Before many products are inserted in one go: no per-row indexing (see ``bulk_end``)."""
        return ["DROP TRIGGER IF EXISTS search_products_insert"]

    def bulk_end(self, after_id: int) -> list[str]:
        """Index the products inserted since ``bulk_begin`` (ids above ``after_id``) in two
        set-based statements, and put the insert trigger back."""
        return _insert_select(f"p.id > {int(after_id)}") + [INSERT_TRIGGER]

    def drop_ddl(self) -> list[str]:
        return [
            "DROP TRIGGER IF EXISTS search_categories_update",
            "DROP TRIGGER IF EXISTS search_products_update",
            "DROP TRIGGER IF EXISTS search_products_delete",
            "DROP TRIGGER IF EXISTS search_products_insert",
            "DROP TABLE IF EXISTS search_vocabulary",
            "DROP TABLE IF EXISTS search_words",
            "DROP TABLE IF EXISTS search_index",
        ]

    def rebuild(self, connection: Connection) -> None:
        for statement in ["DELETE FROM search_index", "DELETE FROM search_words", *_insert_select("1"),
                          "INSERT INTO search_index (search_index) VALUES ('optimize')",
                          "INSERT INTO search_words (search_words) VALUES ('optimize')"]:
            connection.execute(text(statement))

    def search(self, connection: Connection, query: Query, phrase: str, limit: int, ranking: Ranking,
               categories: Collection[int] = ()) -> Hits:
        weights = ", ".join(str(w) for w in COLUMN_WEIGHTS.values())
        match = _fts(query)
        total = connection.execute(text("SELECT count(*) FROM search_index WHERE search_index MATCH :match"),
                                   {"match": match}).scalar_one()
        if not total:
            return Hits([], 0)
        rows = connection.execute(
            text(
                # the best ``pool`` by text relevance, then popularity, the named categories and
                # the exact brand order those (bm25() is negative: lower is better). A pool keeps
                # the join and the sort off the rest of a broad query's matches.
                "WITH s AS MATERIALIZED (SELECT rowid AS id, bm25(search_index, "
                f"{weights}) AS rel FROM search_index WHERE search_index MATCH :match ORDER BY rel LIMIT :pool) "
                "SELECT p.id, p.name FROM s JOIN products p ON p.id = s.id WHERE p.active "
                "ORDER BY lower(p.brand) = :phrase DESC, "
                "s.rel * (1.0 + :weight * p.popularity / (p.popularity + :half))"
                f" * {category_boost(categories, ranking)}, p.id LIMIT :limit"
            ),
            {"match": match, "phrase": phrase, "limit": limit, "pool": max(limit, ranking.pool),
             "weight": ranking.popularity_weight, "half": ranking.popularity_half},
        ).all()
        return Hits([(r[0], r[1]) for r in rows], total)

    def popular(self, connection: Connection, query: Query, limit: int) -> list[tuple[int, str]]:
        """The most popular matches, without text ranking (suggestions as the shopper types)."""
        return [tuple(r) for r in connection.execute(
            text("SELECT p.id, p.name FROM products p WHERE p.active AND p.id IN "
                 "(SELECT rowid FROM search_index WHERE search_index MATCH :match) "
                 "ORDER BY p.popularity DESC, p.id LIMIT :limit"),
            {"match": _fts(query), "limit": limit}).all()]

    def vocabulary(self, connection: Connection) -> dict[str, int]:
        return dict(connection.execute(text("SELECT term, doc FROM search_vocabulary")).all())

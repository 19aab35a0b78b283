"""PostgreSQL: a ``tsvector`` per active product (name A, brand B, category C, description D;
the ``english`` configuration stems, ``unaccent`` folds accents) in ``search_documents`` with a
GIN index, and ``search_words`` (the words of the products' names, brands and categories, with
how many products have each as of the last rebuild; a word added since counts 1, a word whose
products are gone stays until the next rebuild) for typo correction. Triggers keep both in step: on ``products``, once per INSERT or DELETE
statement over its transition table (an import batch in one set-based go) and per row on an
UPDATE that changes a searched column (name, brand, description, category, active); on
``categories``, a rename or a move; ``pg_trgm`` indexes the words
(``word % 'headphnes'``) for ad-hoc fuzzy look-ups in ``psql``.
"""
from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storefront.search.engines import COLUMN_WEIGHTS, Hits, Query, Ranking, category_boost

CONFIG = "english"
# ts_rank's weights are listed {D, C, B, A}; normalised so that A (name) is 1
_W = COLUMN_WEIGHTS
RANK_WEIGHTS = "{" + ", ".join(f"{_W[c] / _W['name']:.2f}" for c in ("description", "category", "brand", "name")) + "}"

_CATEGORY_TEXT = (
    "(SELECT c.name || coalesce(' ' || up.name, '') FROM categories c "
    "LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id)"
)
_DOCUMENT = (
    f"setweight(to_tsvector('{CONFIG}', unaccent(coalesce(p.name, ''))), 'A') || "
    f"setweight(to_tsvector('{CONFIG}', unaccent(coalesce(p.brand, ''))), 'B') || "
    f"setweight(to_tsvector('{CONFIG}', unaccent(coalesce({_CATEGORY_TEXT}, ''))), 'C') || "
    f"setweight(to_tsvector('{CONFIG}', unaccent(coalesce(p.description, ''))), 'D')"
)
_WORDS = (
    "ARRAY(SELECT DISTINCT w FROM regexp_split_to_table(lower(unaccent(coalesce(p.name, '') || ' ' || "
    f"coalesce(p.brand, '') || ' ' || coalesce({_CATEGORY_TEXT}, ''))), '[^[:alnum:]]+') w WHERE w <> '')"
)

FUNCTIONS = [
    # index the active products among ``ids`` and count their words (set-based: one statement
    # each for a whole import batch)
    "CREATE OR REPLACE FUNCTION search_remember(ids integer[]) RETURNS void AS $$ BEGIN "
    f"INSERT INTO search_documents (product_id, document, words) SELECT p.id, {_DOCUMENT}, {_WORDS} "
    "FROM products p WHERE p.id = ANY(ids) AND p.active; "
    # a new word enters the vocabulary counted once; counts are exact after a rebuild. Counting
    # every product would update the same few rows ("wireless") once per inserted row, and
    # PostgreSQL walks every earlier version of a row updated in the same transaction: a
    # 5,000-row insert took 8 s that way.
    "INSERT INTO search_words (word, documents) SELECT DISTINCT w, 1 FROM search_documents d, unnest(d.words) w "
    "WHERE d.product_id = ANY(ids) ON CONFLICT (word) DO NOTHING; "
    "END $$ LANGUAGE plpgsql",
    # drop ``ids`` from the index (their words stay in the vocabulary until a rebuild)
    "CREATE OR REPLACE FUNCTION search_forget(ids integer[]) RETURNS void AS $$ BEGIN "
    "DELETE FROM search_documents WHERE product_id = ANY(ids); "
    "END $$ LANGUAGE plpgsql",
    # inserts and deletes: once per statement over its transition table (an import's batch of
    # rows in one go); updates: per row, only when a searched column changed
    "CREATE OR REPLACE FUNCTION search_products_inserted() RETURNS trigger AS $$ BEGIN "
    "PERFORM search_remember(ARRAY(SELECT id FROM new_rows)); RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION search_products_deleted() RETURNS trigger AS $$ BEGIN "
    "PERFORM search_forget(ARRAY(SELECT id FROM old_rows)); RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION search_products_updated() RETURNS trigger AS $$ BEGIN "
    "PERFORM search_forget(ARRAY[OLD.id]); PERFORM search_remember(ARRAY[NEW.id]); RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION search_categories_sync() RETURNS trigger AS $$ DECLARE ids integer[]; BEGIN "
    "ids := ARRAY(SELECT id FROM products WHERE category_id = NEW.id OR category_id IN "
    "(SELECT id FROM categories WHERE parent_id = NEW.id)); "
    "PERFORM search_forget(ids); PERFORM search_remember(ids); RETURN NULL; END $$ LANGUAGE plpgsql",
]
_CHANGED = ("OLD.name IS DISTINCT FROM NEW.name OR OLD.brand IS DISTINCT FROM NEW.brand OR OLD.description "
            "IS DISTINCT FROM NEW.description OR OLD.category_id IS DISTINCT FROM NEW.category_id "
            "OR OLD.active IS DISTINCT FROM NEW.active")
TRIGGERS = [
    "CREATE TRIGGER search_products_inserted AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_products_inserted()",
    "CREATE TRIGGER search_products_deleted AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION search_products_deleted()",
    "CREATE TRIGGER search_products_updated AFTER UPDATE OF name, brand, description, category_id, active "
    f"ON products FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION search_products_updated()",
    "CREATE TRIGGER search_categories_sync AFTER UPDATE OF name, parent_id ON categories FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id) "
    "EXECUTE FUNCTION search_categories_sync()",
]
TRIGGER_NAMES = (("search_products_inserted", "products"), ("search_products_deleted", "products"),
                 ("search_products_updated", "products"), ("search_categories_sync", "categories"))


def _tsquery(query: Query) -> str:
    """The to_tsquery text: words are letters and digits only, so nothing in them is syntax."""
    def alternative(word: str, prefix: bool) -> str:
        return f"{word}:*" if prefix else word

    clauses = []
    for clause in query:
        groups = ["(" + " | ".join(alternative(w, p) for w, p in group) + ")" for group in clause]
        clauses.append("(" + " & ".join(groups) + ")")
    return " | ".join(clauses)


class PostgresEngine:
    name = "postgresql-tsvector"

    def ddl(self) -> list[str]:
        return [
            "CREATE EXTENSION IF NOT EXISTS unaccent",
            "CREATE EXTENSION IF NOT EXISTS pg_trgm",
            "CREATE TABLE IF NOT EXISTS search_documents (product_id integer PRIMARY KEY, "
            "document tsvector NOT NULL, words text[] NOT NULL)",
            "CREATE INDEX IF NOT EXISTS search_documents_document ON search_documents USING gin (document)",
            "CREATE TABLE IF NOT EXISTS search_words (word text PRIMARY KEY, documents integer NOT NULL)",
            "CREATE INDEX IF NOT EXISTS search_words_trigrams ON search_words USING gin (word gin_trgm_ops)",
            # the first draft of this index had one row trigger for everything: never both
            "DROP TRIGGER IF EXISTS search_products_sync ON products",
            "DROP FUNCTION IF EXISTS search_products_sync()",
            "DROP FUNCTION IF EXISTS search_remember(integer)",
            "DROP FUNCTION IF EXISTS search_forget(integer)",
            *FUNCTIONS,
            *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGER_NAMES),
            *TRIGGERS,
        ]

    def bulk_begin(self) -> list[str]:
        return []  # the insert trigger is set-based already: one run per statement (a COPY batch)

    def bulk_end(self, after_id: int) -> list[str]:
        """The words' product counts made exact again (the triggers count a new word once)."""
        return [
            "UPDATE search_words s SET documents = c.n FROM (SELECT w, count(*) AS n FROM search_documents, "
            "unnest(words) w GROUP BY w) c WHERE s.word = c.w AND s.documents <> c.n",
        ]

    def drop_ddl(self) -> list[str]:
        return [
            *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in TRIGGER_NAMES),
            *(f"DROP FUNCTION IF EXISTS {name}()" for name, _table in TRIGGER_NAMES),
            "DROP FUNCTION IF EXISTS search_forget(integer[])",
            "DROP FUNCTION IF EXISTS search_remember(integer[])",
            "DROP TABLE IF EXISTS search_words",
            "DROP TABLE IF EXISTS search_documents",
        ]

    def rebuild(self, connection: Connection) -> None:
        for statement in [
            "TRUNCATE search_documents, search_words",
            f"INSERT INTO search_documents (product_id, document, words) SELECT p.id, {_DOCUMENT}, {_WORDS} "
            "FROM products p WHERE p.active",
            "INSERT INTO search_words (word, documents) SELECT w, count(*) FROM search_documents, unnest(words) w "
            "GROUP BY w",
            "ANALYZE search_documents",
            "ANALYZE search_words",
        ]:
            connection.execute(text(statement))

    def search(self, connection: Connection, query: Query, phrase: str, limit: int, ranking: Ranking,
               categories: Collection[int] = ()) -> Hits:
        tsquery = _tsquery(query)
        total = connection.execute(
            text(f"SELECT count(*) FROM search_documents WHERE document @@ to_tsquery('{CONFIG}', :query)"),
            {"query": tsquery}).scalar_one()
        if not total:
            return Hits([], 0)
        rows = connection.execute(
            text(
                # the best ``pool`` by text relevance, then popularity, the named categories and
                # the exact brand order those
                f"WITH s AS MATERIALIZED (SELECT d.product_id AS id, ts_rank('{RANK_WEIGHTS}', d.document, q) AS rel "
                f"FROM search_documents d, to_tsquery('{CONFIG}', :query) q WHERE d.document @@ q "
                "ORDER BY rel DESC LIMIT :pool) "
                "SELECT p.id, p.name FROM s JOIN products p ON p.id = s.id WHERE p.active "
                "ORDER BY lower(p.brand) = :phrase DESC, s.rel * (1.0 + :weight * p.popularity / (p.popularity + :half)) "
                f"* {category_boost(categories, ranking)} DESC, p.id LIMIT :limit"
            ),
            {"query": tsquery, "phrase": phrase, "limit": limit, "pool": max(limit, ranking.pool),
             "weight": ranking.popularity_weight, "half": ranking.popularity_half},
        ).all()
        return Hits([(r[0], r[1]) for r in rows], total)

    def popular(self, connection: Connection, query: Query, limit: int) -> list[tuple[int, str]]:
        """The most popular matches, without text ranking (suggestions as the shopper types)."""
        return [tuple(r) for r in connection.execute(
            text("SELECT p.id, p.name FROM search_documents d JOIN products p ON p.id = d.product_id "
                 f"WHERE d.document @@ to_tsquery('{CONFIG}', :query) AND p.active "
                 "ORDER BY p.popularity DESC, p.id LIMIT :limit"),
            {"query": _tsquery(query), "limit": limit}).all()]

    def vocabulary(self, connection: Connection) -> dict[str, int]:
        return dict(connection.execute(text("SELECT word, documents FROM search_words")).all())

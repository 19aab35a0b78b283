"""PostgreSQL: a ``tsvector`` per active product (name A, brand B, category C, description D;
the ``english`` configuration stems, ``unaccent`` folds accents) in ``search_documents`` with a
GIN index, and ``search_words`` (word -> number of products whose name, brand or category has
it) for typo correction. A row trigger on ``products`` (insert, delete, update of a searched
column) and one on ``categories`` (rename, move) keep both in step; ``pg_trgm`` indexes the words
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
    # index product ``pid`` (if active) and count its words
    "CREATE OR REPLACE FUNCTION search_remember(pid integer) RETURNS void AS $$ BEGIN "
    f"INSERT INTO search_documents (product_id, document, words) SELECT p.id, {_DOCUMENT}, {_WORDS} "
    "FROM products p WHERE p.id = pid AND p.active; "
    "INSERT INTO search_words (word, documents) SELECT unnest(words), 1 FROM search_documents "
    "WHERE product_id = pid ON CONFLICT (word) DO UPDATE SET documents = search_words.documents + 1; "
    "END $$ LANGUAGE plpgsql",
    # drop product ``pid`` from the index and uncount its words
    "CREATE OR REPLACE FUNCTION search_forget(pid integer) RETURNS void AS $$ DECLARE old_words text[]; BEGIN "
    "DELETE FROM search_documents WHERE product_id = pid RETURNING words INTO old_words; "
    "IF old_words IS NOT NULL THEN "
    "UPDATE search_words SET documents = documents - 1 WHERE word = ANY(old_words); "
    "DELETE FROM search_words WHERE word = ANY(old_words) AND documents <= 0; END IF; "
    "END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION search_products_sync() RETURNS trigger AS $$ BEGIN "
    "IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM search_forget(OLD.id); END IF; "
    "IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM search_remember(NEW.id); END IF; "
    "RETURN NULL; END $$ LANGUAGE plpgsql",
    "CREATE OR REPLACE FUNCTION search_categories_sync() RETURNS trigger AS $$ DECLARE pid integer; BEGIN "
    "FOR pid IN SELECT id FROM products WHERE category_id = NEW.id OR category_id IN "
    "(SELECT id FROM categories WHERE parent_id = NEW.id) LOOP "
    "PERFORM search_forget(pid); PERFORM search_remember(pid); END LOOP; "
    "RETURN NULL; END $$ LANGUAGE plpgsql",
]


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
            *FUNCTIONS,
            "DROP TRIGGER IF EXISTS search_products_sync ON products",
            "CREATE TRIGGER search_products_sync AFTER INSERT OR DELETE OR UPDATE OF name, brand, description, "
            "category_id, active ON products FOR EACH ROW EXECUTE FUNCTION search_products_sync()",
            "DROP TRIGGER IF EXISTS search_categories_sync ON categories",
            "CREATE TRIGGER search_categories_sync AFTER UPDATE OF name, parent_id ON categories FOR EACH ROW "
            "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id) "
            "EXECUTE FUNCTION search_categories_sync()",
        ]

    def drop_ddl(self) -> list[str]:
        return [
            "DROP TRIGGER IF EXISTS search_categories_sync ON categories",
            "DROP TRIGGER IF EXISTS search_products_sync ON products",
            "DROP FUNCTION IF EXISTS search_categories_sync()",
            "DROP FUNCTION IF EXISTS search_products_sync()",
            "DROP FUNCTION IF EXISTS search_forget(integer)",
            "DROP FUNCTION IF EXISTS search_remember(integer)",
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
        rows = connection.execute(
            text(
                "SELECT p.id, p.name, count(*) OVER () FROM search_documents d JOIN products p ON p.id = d.product_id, "
                f"to_tsquery('{CONFIG}', :query) q WHERE d.document @@ q AND p.active "
                f"ORDER BY lower(p.brand) = :phrase DESC, ts_rank('{RANK_WEIGHTS}', d.document, q) "
                "* (1.0 + :weight * p.popularity / (p.popularity + :half)) "
                f"* {category_boost(categories, ranking)} DESC, p.id LIMIT :limit"
            ),
            {"query": _tsquery(query), "phrase": phrase, "limit": limit,
             "weight": ranking.popularity_weight, "half": ranking.popularity_half},
        ).all()
        total = rows[0][2] if rows else 0
        return Hits([(r[0], r[1]) for r in rows], total)

    def vocabulary(self, connection: Connection) -> dict[str, int]:
        return dict(connection.execute(text("SELECT word, documents FROM search_words")).all())

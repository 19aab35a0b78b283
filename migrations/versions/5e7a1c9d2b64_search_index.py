"""search index: full-text tables and the triggers that keep them in step with products and
categories (issue 18)

SQLite: FTS5 ``search_index`` (porter, unicode61 without diacritics; name, brand, category,
description), ``search_words`` + ``search_vocabulary`` (fts5vocab) for typo correction.
PostgreSQL: ``search_documents`` (weighted tsvector, GIN), ``search_words`` (pg_trgm GIN),
unaccent. The DDL is a frozen copy of storefront.search.engines as of this revision; the index is
filled from the products already there.

Revision ID: 5e7a1c9d2b64
Revises: 04b8f8eba8eb
Create Date: 2026-12-07 06:30:00.000000

"""
from alembic import op
from sqlalchemy import text

# revision identifiers, used by Alembic.
revision = '5e7a1c9d2b64'
down_revision = '04b8f8eba8eb'
branch_labels = None
depends_on = None

# -- frozen copy of storefront.search.engines.sqlite ---------------------------------------------

_SQLITE_CATEGORY = ("(SELECT c.name || coalesce(' ' || up.name, '') FROM categories c "
                    "LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id)")


def _sqlite_insert(where):
    return [
        "INSERT INTO search_index (rowid, name, brand, category, description) "
        f"SELECT p.id, p.name, p.brand, {_SQLITE_CATEGORY}, p.description FROM products p WHERE p.active AND ({where})",
        "INSERT INTO search_words (rowid, words) "
        f"SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce({_SQLITE_CATEGORY}, '') "
        f"FROM products p WHERE p.active AND ({where})",
    ]


def _sqlite_forget(where):
    return [f"DELETE FROM search_index WHERE rowid IN ({where})",
            f"DELETE FROM search_words WHERE rowid IN ({where})"]


_CHILDREN = ("SELECT id FROM products WHERE category_id = NEW.id OR category_id IN "
             "(SELECT id FROM categories WHERE parent_id = NEW.id)")

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
    "name, brand, category, description, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5(words, "
    "tokenize='unicode61 remove_diacritics 2', detail=none)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_vocabulary USING fts5vocab(search_words, 'row')",
    "CREATE TRIGGER IF NOT EXISTS search_products_insert AFTER INSERT ON products WHEN NEW.active BEGIN "
    + "; ".join(_sqlite_insert("p.id = NEW.id")) + "; END",
    "CREATE TRIGGER IF NOT EXISTS search_products_delete AFTER DELETE ON products BEGIN "
    + "; ".join(_sqlite_forget("OLD.id")) + "; END",
    "CREATE TRIGGER IF NOT EXISTS search_products_update "
    "AFTER UPDATE OF name, brand, description, category_id, active ON products BEGIN "
    + "; ".join(_sqlite_forget("OLD.id") + _sqlite_insert("p.id = NEW.id")) + "; END",
    "CREATE TRIGGER IF NOT EXISTS search_categories_update AFTER UPDATE OF name, parent_id ON categories "
    "WHEN OLD.name IS NOT NEW.name OR OLD.parent_id IS NOT NEW.parent_id BEGIN "
    + "; ".join(_sqlite_forget(_CHILDREN) + _sqlite_insert(f"p.id IN ({_CHILDREN})")) + "; END",
    *_sqlite_insert("1"),
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_categories_update",
    "DROP TRIGGER IF EXISTS search_products_update",
    "DROP TRIGGER IF EXISTS search_products_delete",
    "DROP TRIGGER IF EXISTS search_products_insert",
    "DROP TABLE IF EXISTS search_vocabulary",
    "DROP TABLE IF EXISTS search_words",
    "DROP TABLE IF EXISTS search_index",
]

# -- frozen copy of storefront.search.engines.postgresql -----------------------------------------

_PG_CATEGORY = _SQLITE_CATEGORY
_DOCUMENT = (
    "setweight(to_tsvector('english', unaccent(coalesce(p.name, ''))), 'A') || "
    "setweight(to_tsvector('english', unaccent(coalesce(p.brand, ''))), 'B') || "
    f"setweight(to_tsvector('english', unaccent(coalesce({_PG_CATEGORY}, ''))), 'C') || "
    "setweight(to_tsvector('english', unaccent(coalesce(p.description, ''))), 'D')"
)
_WORDS = (
    "ARRAY(SELECT DISTINCT w FROM regexp_split_to_table(lower(unaccent(coalesce(p.name, '') || ' ' || "
    f"coalesce(p.brand, '') || ' ' || coalesce({_PG_CATEGORY}, ''))), '[^[:alnum:]]+') w WHERE w <> '')"
)
POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS search_documents (product_id integer PRIMARY KEY, "
    "document tsvector NOT NULL, words text[] NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_documents_document ON search_documents USING gin (document)",
    "CREATE TABLE IF NOT EXISTS search_words (word text PRIMARY KEY, documents integer NOT NULL)",
    "CREATE INDEX IF NOT EXISTS search_words_trigrams ON search_words USING gin (word gin_trgm_ops)",
    "CREATE OR REPLACE FUNCTION search_remember(pid integer) RETURNS void AS $$ BEGIN "
    f"INSERT INTO search_documents (product_id, document, words) SELECT p.id, {_DOCUMENT}, {_WORDS} "
    "FROM products p WHERE p.id = pid AND p.active; "
    "INSERT INTO search_words (word, documents) SELECT unnest(words), 1 FROM search_documents "
    "WHERE product_id = pid ON CONFLICT (word) DO UPDATE SET documents = search_words.documents + 1; "
    "END $$ LANGUAGE plpgsql",
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
    "DROP TRIGGER IF EXISTS search_products_sync ON products",
    "CREATE TRIGGER search_products_sync AFTER INSERT OR DELETE OR UPDATE OF name, brand, description, "
    "category_id, active ON products FOR EACH ROW EXECUTE FUNCTION search_products_sync()",
    "DROP TRIGGER IF EXISTS search_categories_sync ON categories",
    "CREATE TRIGGER search_categories_sync AFTER UPDATE OF name, parent_id ON categories FOR EACH ROW "
    "WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id) "
    "EXECUTE FUNCTION search_categories_sync()",
    f"INSERT INTO search_documents (product_id, document, words) SELECT p.id, {_DOCUMENT}, {_WORDS} "
    "FROM products p WHERE p.active",
    "INSERT INTO search_words (word, documents) SELECT w, count(*) FROM search_documents, unnest(words) w GROUP BY w",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS search_categories_sync ON categories",
    "DROP TRIGGER IF EXISTS search_products_sync ON products",
    "DROP FUNCTION IF EXISTS search_categories_sync()",
    "DROP FUNCTION IF EXISTS search_products_sync()",
    "DROP FUNCTION IF EXISTS search_forget(integer)",
    "DROP FUNCTION IF EXISTS search_remember(integer)",
    "DROP TABLE IF EXISTS search_words",
    "DROP TABLE IF EXISTS search_documents",
]


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(text(statement))


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DROP if postgres else SQLITE_DROP:
        op.execute(text(statement))

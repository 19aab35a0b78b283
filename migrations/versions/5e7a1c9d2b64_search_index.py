"""search index: full-text tables and the triggers that keep them in step with products and
categories (issue 18)

SQLite: FTS5 ``search_index`` (porter, unicode61 without diacritics; name, brand, category,
description), ``search_words`` + ``search_vocabulary`` (fts5vocab) for typo correction.
PostgreSQL: ``search_documents`` (weighted tsvector, GIN), ``search_words`` (pg_trgm GIN),
unaccent; statement-level triggers with transition tables for inserts and deletes. The DDL is a
frozen copy of storefront.search.engines as of this revision (the strings it generated); the index
is filled from the products already there.

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

# -- frozen copy of storefront.search.engines (sqlite, postgresql): ddl(), drop_ddl() and the fill

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5(name, brand, category, description, tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_words USING fts5(words, tokenize='unicode61 remove_diacritics 2', detail=none)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_vocabulary USING fts5vocab(search_words, 'row')",
    "CREATE TRIGGER IF NOT EXISTS search_products_insert AFTER INSERT ON products WHEN NEW.active BEGIN INSERT INTO search_index (rowid, name, brand, category, description) SELECT p.id, p.name, p.brand, (SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), p.description FROM products p WHERE p.active AND (p.id = NEW.id); INSERT INTO search_words (rowid, words) SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), '') FROM products p WHERE p.active AND (p.id = NEW.id); END",
    'CREATE TRIGGER IF NOT EXISTS search_products_delete AFTER DELETE ON products BEGIN DELETE FROM search_index WHERE rowid IN (OLD.id); DELETE FROM search_words WHERE rowid IN (OLD.id); END',
    "CREATE TRIGGER IF NOT EXISTS search_products_update AFTER UPDATE OF name, brand, description, category_id, active ON products BEGIN DELETE FROM search_index WHERE rowid IN (OLD.id); DELETE FROM search_words WHERE rowid IN (OLD.id); INSERT INTO search_index (rowid, name, brand, category, description) SELECT p.id, p.name, p.brand, (SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), p.description FROM products p WHERE p.active AND (p.id = NEW.id); INSERT INTO search_words (rowid, words) SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), '') FROM products p WHERE p.active AND (p.id = NEW.id); END",
    "CREATE TRIGGER IF NOT EXISTS search_categories_update AFTER UPDATE OF name, parent_id ON categories WHEN OLD.name IS NOT NEW.name OR OLD.parent_id IS NOT NEW.parent_id BEGIN DELETE FROM search_index WHERE rowid IN (SELECT id FROM products WHERE category_id = NEW.id OR category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id)); DELETE FROM search_words WHERE rowid IN (SELECT id FROM products WHERE category_id = NEW.id OR category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id)); INSERT INTO search_index (rowid, name, brand, category, description) SELECT p.id, p.name, p.brand, (SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), p.description FROM products p WHERE p.active AND (p.id IN (SELECT id FROM products WHERE category_id = NEW.id OR category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id))); INSERT INTO search_words (rowid, words) SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), '') FROM products p WHERE p.active AND (p.id IN (SELECT id FROM products WHERE category_id = NEW.id OR category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id))); END",
    "INSERT INTO search_index (rowid, name, brand, category, description) SELECT p.id, p.name, p.brand, (SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), p.description FROM products p WHERE p.active AND (1)",
    "INSERT INTO search_words (rowid, words) SELECT p.id, p.name || ' ' || p.brand || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), '') FROM products p WHERE p.active AND (1)",
]

SQLITE_DROP = [
    'DROP TRIGGER IF EXISTS search_categories_update',
    'DROP TRIGGER IF EXISTS search_products_update',
    'DROP TRIGGER IF EXISTS search_products_delete',
    'DROP TRIGGER IF EXISTS search_products_insert',
    'DROP TABLE IF EXISTS search_vocabulary',
    'DROP TABLE IF EXISTS search_words',
    'DROP TABLE IF EXISTS search_index',
]

POSTGRESQL = [
    'CREATE EXTENSION IF NOT EXISTS unaccent',
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE TABLE IF NOT EXISTS search_documents (product_id integer PRIMARY KEY, document tsvector NOT NULL, words text[] NOT NULL)',
    'CREATE INDEX IF NOT EXISTS search_documents_document ON search_documents USING gin (document)',
    'CREATE TABLE IF NOT EXISTS search_words (word text PRIMARY KEY, documents integer NOT NULL)',
    'CREATE INDEX IF NOT EXISTS search_words_trigrams ON search_words USING gin (word gin_trgm_ops)',
    "CREATE OR REPLACE FUNCTION search_remember(ids integer[]) RETURNS void AS $$ BEGIN INSERT INTO search_documents (product_id, document, words) SELECT p.id, setweight(to_tsvector('english', unaccent(coalesce(p.name, ''))), 'A') || setweight(to_tsvector('english', unaccent(coalesce(p.brand, ''))), 'B') || setweight(to_tsvector('english', unaccent(coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), ''))), 'C') || setweight(to_tsvector('english', unaccent(coalesce(p.description, ''))), 'D'), ARRAY(SELECT DISTINCT w FROM regexp_split_to_table(lower(unaccent(coalesce(p.name, '') || ' ' || coalesce(p.brand, '') || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), ''))), '[^[:alnum:]]+') w WHERE w <> '') FROM products p WHERE p.id = ANY(ids) AND p.active; INSERT INTO search_words (word, documents) SELECT DISTINCT w, 1 FROM search_documents d, unnest(d.words) w WHERE d.product_id = ANY(ids) ON CONFLICT (word) DO NOTHING; END $$ LANGUAGE plpgsql",
    'CREATE OR REPLACE FUNCTION search_forget(ids integer[]) RETURNS void AS $$ BEGIN DELETE FROM search_documents WHERE product_id = ANY(ids); END $$ LANGUAGE plpgsql',
    'CREATE OR REPLACE FUNCTION search_products_inserted() RETURNS trigger AS $$ BEGIN PERFORM search_remember(ARRAY(SELECT id FROM new_rows)); RETURN NULL; END $$ LANGUAGE plpgsql',
    'CREATE OR REPLACE FUNCTION search_products_deleted() RETURNS trigger AS $$ BEGIN PERFORM search_forget(ARRAY(SELECT id FROM old_rows)); RETURN NULL; END $$ LANGUAGE plpgsql',
    'CREATE OR REPLACE FUNCTION search_products_updated() RETURNS trigger AS $$ BEGIN PERFORM search_forget(ARRAY[OLD.id]); PERFORM search_remember(ARRAY[NEW.id]); RETURN NULL; END $$ LANGUAGE plpgsql',
    'CREATE OR REPLACE FUNCTION search_categories_sync() RETURNS trigger AS $$ DECLARE ids integer[]; BEGIN ids := ARRAY(SELECT id FROM products WHERE category_id = NEW.id OR category_id IN (SELECT id FROM categories WHERE parent_id = NEW.id)); PERFORM search_forget(ids); PERFORM search_remember(ids); RETURN NULL; END $$ LANGUAGE plpgsql',
    'DROP TRIGGER IF EXISTS search_products_inserted ON products',
    'DROP TRIGGER IF EXISTS search_products_deleted ON products',
    'DROP TRIGGER IF EXISTS search_products_updated ON products',
    'DROP TRIGGER IF EXISTS search_categories_sync ON categories',
    'CREATE TRIGGER search_products_inserted AFTER INSERT ON products REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_products_inserted()',
    'CREATE TRIGGER search_products_deleted AFTER DELETE ON products REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_products_deleted()',
    'CREATE TRIGGER search_products_updated AFTER UPDATE OF name, brand, description, category_id, active ON products FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.brand IS DISTINCT FROM NEW.brand OR OLD.description IS DISTINCT FROM NEW.description OR OLD.category_id IS DISTINCT FROM NEW.category_id OR OLD.active IS DISTINCT FROM NEW.active) EXECUTE FUNCTION search_products_updated()',
    'CREATE TRIGGER search_categories_sync AFTER UPDATE OF name, parent_id ON categories FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.parent_id IS DISTINCT FROM NEW.parent_id) EXECUTE FUNCTION search_categories_sync()',
    "INSERT INTO search_documents (product_id, document, words) SELECT p.id, setweight(to_tsvector('english', unaccent(coalesce(p.name, ''))), 'A') || setweight(to_tsvector('english', unaccent(coalesce(p.brand, ''))), 'B') || setweight(to_tsvector('english', unaccent(coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), ''))), 'C') || setweight(to_tsvector('english', unaccent(coalesce(p.description, ''))), 'D'), ARRAY(SELECT DISTINCT w FROM regexp_split_to_table(lower(unaccent(coalesce(p.name, '') || ' ' || coalesce(p.brand, '') || ' ' || coalesce((SELECT c.name || coalesce(' ' || up.name, '') FROM categories c LEFT JOIN categories up ON up.id = c.parent_id WHERE c.id = p.category_id), ''))), '[^[:alnum:]]+') w WHERE w <> '') FROM products p WHERE p.active",
    'INSERT INTO search_words (word, documents) SELECT w, count(*) FROM search_documents, unnest(words) w GROUP BY w',
]

POSTGRESQL_DROP = [
    'DROP TRIGGER IF EXISTS search_products_inserted ON products',
    'DROP TRIGGER IF EXISTS search_products_deleted ON products',
    'DROP TRIGGER IF EXISTS search_products_updated ON products',
    'DROP TRIGGER IF EXISTS search_categories_sync ON categories',
    'DROP FUNCTION IF EXISTS search_products_inserted()',
    'DROP FUNCTION IF EXISTS search_products_deleted()',
    'DROP FUNCTION IF EXISTS search_products_updated()',
    'DROP FUNCTION IF EXISTS search_categories_sync()',
    'DROP FUNCTION IF EXISTS search_forget(integer[])',
    'DROP FUNCTION IF EXISTS search_remember(integer[])',
    'DROP TABLE IF EXISTS search_words',
    'DROP TABLE IF EXISTS search_documents',
]


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL if postgres else SQLITE:
        op.execute(text(statement))


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DROP if postgres else SQLITE_DROP:
        op.execute(text(statement))

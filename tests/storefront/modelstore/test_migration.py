"""The model store's migration: its tables on PostgreSQL, and a downgrade that leaves no large object behind."""
from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from storefront import create_app
from storefront.extensions import db
from storefront.modelstore.postgresql import PostgresStore
from tests.helpers import reset_postgres_schema

REVISION, BEFORE = "8f4b2d6e1c37", "3c9e7d1a5f20"
TABLES = {"model_versions", "model_version_files", "model_pointer"}


def test_the_migration_creates_the_tables_and_its_downgrade_unlinks_the_objects(postgres_url, tmp_path, version_dir):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": postgres_url, "MODEL_DIR": str(tmp_path)})
    with app.app_context():
        reset_postgres_schema()
        try:
            upgrade(revision=REVISION)
            assert TABLES <= set(inspect(db.engine).get_table_names())
            with db.engine.connect() as connection:
                before = connection.scalar(text("SELECT count(*) FROM pg_largeobject_metadata"))
            PostgresStore(db.engine).publish(version_dir)
            downgrade(revision=BEFORE)
            assert not TABLES & set(inspect(db.engine).get_table_names())
            with db.engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM pg_largeobject_metadata")) == before
        finally:
            db.session.remove()
            reset_postgres_schema()
            db.engine.dispose()

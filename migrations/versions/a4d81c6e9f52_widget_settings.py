"""widget_settings: per-widget settings an admin edits (issue 17: the diversity level)

Saving a setting moves the catalog version (the same triggers as products, categories,
campaigns and experiments: a frozen copy of storefront.models.catalog_version as of this
revision), because web workers keep the settings with their catalog snapshot. No rows: a widget
without one keeps the defaults (diversity none).

Revision ID: a4d81c6e9f52
Revises: f2a8c51d7e39
Create Date: 2026-12-07 03:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4d81c6e9f52'
down_revision = 'f2a8c51d7e39'
branch_labels = None
depends_on = None

BUMP = "UPDATE catalog_state SET version = version + 1"


def _triggers(dialect):
    if dialect == "postgresql":  # catalog_version_bump() exists since d3f9a6b2c184
        return [
            "CREATE TRIGGER widget_settings_catalog_version AFTER INSERT OR DELETE OR TRUNCATE ON widget_settings "
            "FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
            "CREATE TRIGGER widget_settings_catalog_version_update AFTER UPDATE ON widget_settings "
            "FOR EACH ROW EXECUTE FUNCTION catalog_version_bump()",
        ]
    return [f"CREATE TRIGGER widget_settings_catalog_version_{action.lower()} AFTER {action} ON widget_settings "
            f"BEGIN {BUMP}; END" for action in ("INSERT", "DELETE", "UPDATE")]


def upgrade():
    op.create_table(
        'widget_settings',
        sa.Column('widget', sa.String(length=32), nullable=False),
        sa.Column('diversity', sa.String(length=8), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=254), nullable=False),
        sa.CheckConstraint("diversity IN ('none', 'low', 'medium', 'high')",
                           name=op.f('ck_widget_settings_diversity_level')),
        sa.PrimaryKeyConstraint('widget', name=op.f('pk_widget_settings')),
    )
    for statement in _triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    op.drop_table('widget_settings')  # its triggers go with it

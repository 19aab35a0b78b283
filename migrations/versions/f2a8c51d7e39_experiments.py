"""experiments: online A/B tests of model versions; impressions record the experiment and arm

Starting or ending an experiment moves the catalog version (the same triggers as products,
categories and campaigns: a frozen copy of storefront.models.catalog_version as of this
revision), because web workers keep the running experiments with their catalog snapshot.

The impressions' new columns are added in place: rebuilding ``impressions`` (SQLite's batch
mode) would fail on the foreign keys of the click events that point at it.

Revision ID: f2a8c51d7e39
Revises: d3f9a6b2c184
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2a8c51d7e39'
down_revision = 'd3f9a6b2c184'
branch_labels = None
depends_on = None

BUMP = "UPDATE catalog_state SET version = version + 1"


def _triggers(dialect):
    if dialect == "postgresql":  # catalog_version_bump() exists since d3f9a6b2c184
        return [
            "CREATE TRIGGER experiments_catalog_version AFTER INSERT OR DELETE OR TRUNCATE ON experiments "
            "FOR EACH STATEMENT EXECUTE FUNCTION catalog_version_bump()",
            "CREATE TRIGGER experiments_catalog_version_update AFTER UPDATE ON experiments "
            "FOR EACH ROW EXECUTE FUNCTION catalog_version_bump()",
        ]
    return [f"CREATE TRIGGER experiments_catalog_version_{action.lower()} AFTER {action} ON experiments "
            f"BEGIN {BUMP}; END" for action in ("INSERT", "DELETE", "UPDATE")]


def upgrade():
    op.create_table(
        'experiments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('widget', sa.String(length=32), nullable=False),
        sa.Column('champion_version', sa.String(length=64), nullable=True),
        sa.Column('challenger_version', sa.String(length=64), nullable=False),
        sa.Column('challenger_share', sa.Float(), nullable=False),
        sa.Column('min_clicks', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('started_by', sa.String(length=254), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_by', sa.String(length=254), nullable=True),
        sa.Column('results', sa.JSON(), nullable=True),
        sa.CheckConstraint('challenger_share > 0 AND challenger_share < 1', name=op.f('ck_experiments_share_range')),
        sa.CheckConstraint('min_clicks >= 1', name=op.f('ck_experiments_min_clicks_positive')),
        sa.CheckConstraint("status IN ('running', 'ended')", name=op.f('ck_experiments_status')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    )
    op.create_index('uq_experiments_running_widget', 'experiments', ['widget'], unique=True,
                    sqlite_where=sa.text("status = 'running'"), postgresql_where=sa.text("status = 'running'"))
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # ADD COLUMN with REFERENCES (allowed for a NULL default): the constraint without a rebuild
        op.execute("ALTER TABLE impressions ADD COLUMN experiment_id INTEGER REFERENCES experiments (id)")
    else:
        op.add_column('impressions', sa.Column('experiment_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_impressions_experiment_id_experiments'), 'impressions', 'experiments',
                              ['experiment_id'], ['id'])
    op.add_column('impressions', sa.Column('arm', sa.String(length=16), nullable=True))
    op.create_index(op.f('ix_impressions_experiment_id'), 'impressions', ['experiment_id'], unique=False)
    for statement in _triggers(dialect):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    op.drop_index(op.f('ix_impressions_experiment_id'), table_name='impressions')
    if dialect != "sqlite":
        op.drop_constraint(op.f('fk_impressions_experiment_id_experiments'), 'impressions', type_='foreignkey')
    # SQLite >= 3.35 drops these plain columns in place (no rebuild of a table others reference)
    op.drop_column('impressions', 'arm')
    op.drop_column('impressions', 'experiment_id')
    op.drop_index('uq_experiments_running_widget', table_name='experiments')
    op.drop_table('experiments')  # its triggers go with it

"""model store: versions as PostgreSQL large objects and the active pointer row (issue 20)

``model_versions`` + ``model_version_files`` hold the versions published with
``MODEL_STORE=postgresql`` (each file a large object, its oid in ``large_object``; a version's
rows and objects are committed in one transaction). ``model_pointer`` is the one-row active
pointer every node reads when ``MODEL_STORE`` is not ``local``. Plain tables on both engines: on
SQLite (where ``MODEL_STORE=postgresql`` is refused at startup) they stay empty. Downgrading
unlinks the large objects the files table references (PostgreSQL), so none is left orphaned.

Revision ID: 8f4b2d6e1c37
Revises: 3c9e7d1a5f20
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8f4b2d6e1c37'
down_revision = '3c9e7d1a5f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'model_versions',
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
        sa.Column('manifest', sa.Text(), nullable=False),
        sa.Column('file_count', sa.Integer(), nullable=False),
        sa.Column('total_bytes', sa.BigInteger(), nullable=False),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_model_versions')),
    )
    op.create_table(
        'model_version_files',
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('large_object', sa.BigInteger(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('bytes', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['version'], ['model_versions.version'],
                                name=op.f('fk_model_version_files_version_model_versions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('version', 'name', name=op.f('pk_model_version_files')),
    )
    op.create_table(
        'model_pointer',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('activated_at', sa.DateTime(), nullable=False),
        sa.Column('activated_by', sa.String(length=255), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_model_pointer_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_model_pointer')),
    )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT lo_unlink(large_object::oid) FROM model_version_files "
                   "WHERE large_object::oid IN (SELECT oid FROM pg_largeobject_metadata)")
    op.drop_table('model_pointer')
    op.drop_table('model_version_files')
    op.drop_table('model_versions')

"""data_imports: ledger of imported data files (flask data import)

Revision ID: c4e7a2d91b30
Revises: 82d1a53f9717
Create Date: 2026-11-24 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e7a2d91b30'
down_revision = '82d1a53f9717'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_imports')),
    sa.UniqueConstraint('source', 'sha256', name='uq_data_imports_source_sha256')
    )


def downgrade():
    op.drop_table('data_imports')

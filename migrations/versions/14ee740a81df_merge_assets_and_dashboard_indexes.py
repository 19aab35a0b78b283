"""merge assets and dashboard indexes

Revision ID: 14ee740a81df
Revises: 31b9a1ac687d, 5dbcce0ebc3c
Create Date: 2026-11-22 07:21:18.474867

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '14ee740a81df'
down_revision = ('31b9a1ac687d', '5dbcce0ebc3c')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass

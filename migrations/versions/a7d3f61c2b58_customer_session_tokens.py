"""customers.session_token: revocable sessions (Flask-Login alternative id)

Every customer gets a random token; sessions and remember-me cookies carry ``<id>:<token>``, and
replacing the token (logout, ``flask shop revoke-sessions``) ends them all. Existing sessions,
which carry the bare id, are logged out once by this upgrade.

Revision ID: a7d3f61c2b58
Revises: e81b5c0d2f47
Create Date: 2026-12-04 17:30:00.000000

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3f61c2b58'
down_revision = 'e81b5c0d2f47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
    customers = sa.table('customers', sa.column('id', sa.Integer), sa.column('session_token', sa.String))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(customers.c.id))]
    for customer_id in ids:  # one random token each: no SQL function is random enough on both engines
        connection.execute(customers.update().where(customers.c.id == customer_id)
                           .values(session_token=secrets.token_urlsafe(32)))
    # Left nullable in the database: making it NOT NULL would rebuild the customers table on
    # SQLite, which the foreign keys pointing at it refuse. The app gives every customer a token
    # (on insert, and at login for a row written by other means) and a NULL token loads nobody.


def downgrade():
    op.drop_column('customers', 'session_token')  # SQLite >= 3.35 drops a plain column in place

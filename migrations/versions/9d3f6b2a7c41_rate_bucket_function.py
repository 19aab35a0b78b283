"""rate buckets in one round trip: storefront_take_buckets() on PostgreSQL (issue 15)

A tracked request takes a token from each of its rate-limit buckets in order and stops at the
first refusal. On PostgreSQL that was one upsert per bucket, each a round trip; the function runs
the same upserts server-side in one call. SQLite keeps the upserts in the request's transaction
(no round trips there): nothing to do.

Revision ID: 9d3f6b2a7c41
Revises: 8f4b2d6e1c37
Create Date: 2026-12-07 14:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9d3f6b2a7c41'
down_revision = '8f4b2d6e1c37'
branch_labels = None
depends_on = None

# A frozen copy of storefront.models.events.TAKE_BUCKETS_FUNCTION as this revision created it.
TAKE_BUCKETS_FUNCTION = """
CREATE OR REPLACE FUNCTION storefront_take_buckets(
    p_keys text[], p_intervals double precision[], p_bursts double precision[], p_now double precision
) RETURNS double precision[] LANGUAGE plpgsql AS $$
DECLARE
    waits double precision[] := '{}';
    new_tat double precision;
    allowed double precision;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_keys, 1), 0) LOOP
        INSERT INTO rate_buckets AS b (key, tat, allowed_at) VALUES (p_keys[i], p_now + p_intervals[i], p_now)
        ON CONFLICT (key) DO UPDATE SET
            tat = CASE WHEN b.tat - p_bursts[i] <= p_now THEN GREATEST(b.tat, p_now) + p_intervals[i] ELSE b.tat END,
            allowed_at = CASE WHEN b.tat - p_bursts[i] <= p_now THEN p_now ELSE b.allowed_at END
        RETURNING b.tat, b.allowed_at INTO new_tat, allowed;
        IF allowed = p_now THEN
            waits := waits || 0.0::double precision;
        ELSE
            waits := waits || GREATEST(new_tat - p_bursts[i] - p_now, 0.001);
            EXIT;
        END IF;
    END LOOP;
    RETURN waits;
END $$
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TAKE_BUCKETS_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS storefront_take_buckets(text[], double precision[], double precision[], double precision)")

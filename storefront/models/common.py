"""Column helpers shared by the models."""
from datetime import UTC, datetime

from sqlalchemy import BigInteger, Integer

# 64-bit ids where tables grow to millions of rows; SQLite only auto-increments INTEGER keys.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Naive UTC now: every timestamp in the database is naive UTC (SQLite has no time zones)."""
    return datetime.now(UTC).replace(tzinfo=None)

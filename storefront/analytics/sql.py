"""Date parts of a timestamp column, written once per dialect.

SQLite stores SQLAlchemy ``DateTime`` values as ISO text (``2024-03-31 23:59:59.000000``), so
hours and weekdays come from ``strftime``; PostgreSQL has real timestamps and ``EXTRACT``. Each
construct compiles to the native form of the connected dialect, so the aggregation queries read
the same on both and still run entirely in the database.

The hour is an integer 0-23 and the weekday an integer 0-6 with 0 = Sunday (SQLite's ``%w``
and PostgreSQL's ``dow`` agree on that) on every dialect. Days need no such construct: the
daily counts compare timestamps with bound day boundaries (``analytics_events.traffic``), which
is both portable and index-friendly.
"""
from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class hour_of(FunctionElement):  # noqa: N801 - reads like the SQL function it stands for
    """Hour 0-23 of a timestamp."""

    type = Integer()
    inherit_cache = True
    name = "hour_of"


class weekday_of(FunctionElement):  # noqa: N801
    """Weekday 0-6 of a timestamp, 0 = Sunday."""

    type = Integer()
    inherit_cache = True
    name = "weekday_of"


def _argument(element, compiler, **kw) -> str:
    (column,) = element.clauses
    return compiler.process(column, **kw)


@compiles(hour_of, "sqlite")
def _hour_sqlite(element, compiler, **kw) -> str:
    return f"CAST(strftime('%H', {_argument(element, compiler, **kw)}) AS INTEGER)"


@compiles(hour_of)
def _hour_default(element, compiler, **kw) -> str:
    return f"CAST(EXTRACT(HOUR FROM {_argument(element, compiler, **kw)}) AS INTEGER)"


@compiles(weekday_of, "sqlite")
def _weekday_sqlite(element, compiler, **kw) -> str:
    return f"CAST(strftime('%w', {_argument(element, compiler, **kw)}) AS INTEGER)"


@compiles(weekday_of)
def _weekday_default(element, compiler, **kw) -> str:
    return f"CAST(EXTRACT(DOW FROM {_argument(element, compiler, **kw)}) AS INTEGER)"

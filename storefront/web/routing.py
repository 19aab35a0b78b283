"""URL converters."""
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the largest value of an INTEGER primary key on SQLite and PostgreSQL


class IdConverter(IntegerConverter):
    """A positive database id: anything larger cannot exist, so it is a 404, not a DB error."""

    def __init__(self, map, **kwargs):  # noqa: A002 - werkzeug's signature
        super().__init__(map, min=1, max=MAX_ID, **kwargs)

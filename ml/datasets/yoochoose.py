"""Streaming reader of the RecSys Challenge 2015 (YOOCHOOSE) files (DATA_FORMATS.md, section 2).

No header, comma separated (a tab-separated copy is accepted too, sniffed from the first line):

- ``yoochoose-clicks.dat``: ``session_id,timestamp,item_id,category``;
- ``yoochoose-buys.dat``: ``session_id,timestamp,item_id,price,quantity``.

Timestamps are ISO 8601 UTC with milliseconds and ``Z`` (``2014-04-07T10:51:09.277Z``).
``category`` is ``0`` (unknown), ``1``-``12`` (a category), ``S`` (special offer) or an 8-10
digit brand id; it is kept as text. Chunked and all-or-nothing like
:mod:`ml.datasets.retailrocket` (the machinery of :mod:`ml.datasets.streaming`): every bad line
is reported by number in one :class:`~ml.data.DataFormatError` and nothing is yielded after the
first one. A row whose ``session_id`` is ``None``, ``null``, ``NaN`` or empty cannot be
attributed (a session is the visitor): an error by default, left out and listed when the caller
passes ``skipped``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ml.datasets.streaming import (
    DEFAULT_CHUNK_ROWS, Attribution, LineChunk, Problems, Skipped, explain_lines, int_problem, parse_chunk,
    stream_validated,
)

CLICK_COLUMNS = ("session_id", "timestamp", "item_id", "category")
BUY_COLUMNS = ("session_id", "timestamp", "item_id", "price", "quantity")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_CATEGORY = re.compile(r"0|[1-9]|1[0-2]|S|[0-9]{8,10}")
_PRICE = re.compile(r"[0-9]{1,12}(\.[0-9]+)?")
#: The data has no user ids: the session is the visitor, so its id attributes a row.
SESSION = Attribution("session_id", 0, "session")


def _time_problem(value: str) -> str | None:
    if _TIME.fullmatch(value) is None:
        return f"timestamp is not ISO 8601 UTC like '2014-04-07T10:51:09.277Z': {value!r}"
    try:
        pd.Timestamp(value)
    except ValueError:
        return f"timestamp is not a valid date and time: {value!r}"
    return None


def _click_problem(fields: list[str]) -> str | None:
    session, when, item, category = (field.strip() for field in fields)
    for problem in (SESSION.problem(session), _time_problem(when), int_problem("item_id", item)):
        if problem is not None:
            return problem
    if _CATEGORY.fullmatch(category) is None:
        return f"category is not 0, 1-12, S or an 8-10 digit brand id: {category!r}"
    return None


def _buy_problem(fields: list[str]) -> str | None:
    session, when, item, price, quantity = (field.strip() for field in fields)
    for problem in (SESSION.problem(session), _time_problem(when), int_problem("item_id", item),
                    int_problem("quantity", quantity)):
        if problem is not None:
            return problem
    return None if _PRICE.fullmatch(price) else f"price is not a non-negative number: {price!r}"


def _parse_times(frame: pd.DataFrame) -> pd.Series:
    # The exact format keeps pandas on its fast C path; anything else becomes NaT and is
    # then explained line by line.
    return pd.to_datetime(frame["timestamp"].str.strip(), format=TIME_FORMAT, errors="coerce")


def _convert(chunk: LineChunk, delimiter: str, columns, dtypes, check, extra_ok) -> tuple[pd.DataFrame | None, Problems]:
    def explain(rows: np.ndarray | None = None) -> Problems:
        return explain_lines(chunk, delimiter, len(columns), check, rows)

    try:
        frame = parse_chunk(chunk, delimiter, columns, dtypes)
    except (ValueError, OverflowError):
        return None, explain()
    times = _parse_times(frame)
    ok = times.notna().to_numpy() & (frame[["session_id", "item_id"]].to_numpy() >= 0).all(axis=1) & extra_ok(frame)
    if not ok.all():
        return None, explain(np.flatnonzero(~ok))
    frame["timestamp"] = times.to_numpy().astype("datetime64[ms]")
    return frame, []


def _convert_clicks(chunk: LineChunk, delimiter: str):
    def categories_ok(frame: pd.DataFrame) -> np.ndarray:
        frame["category"] = frame["category"].fillna("").str.strip()
        return frame["category"].str.fullmatch(_CATEGORY.pattern).to_numpy(dtype=bool)

    dtypes = {"session_id": "int64", "timestamp": "str", "item_id": "int64", "category": "str"}
    return _convert(chunk, delimiter, CLICK_COLUMNS, dtypes, _click_problem, categories_ok)


def _convert_buys(chunk: LineChunk, delimiter: str):
    def amounts_ok(frame: pd.DataFrame) -> np.ndarray:
        return ((frame["price"] >= 0) & (frame["quantity"] >= 0)).to_numpy()

    dtypes = {"session_id": "int64", "timestamp": "str", "item_id": "int64", "price": "float64", "quantity": "int64"}
    return _convert(chunk, delimiter, BUY_COLUMNS, dtypes, _buy_problem, amounts_ok)


def iter_clicks(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                skipped: Skipped | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of a clicks file in file order: ``session_id``, ``item_id`` (int64), ``timestamp``
    (datetime64[ms], naive UTC) and ``category`` (str: ``0``, ``1``-``12``, ``S`` or a brand id).
    With ``skipped``, rows without a session are left out and appended as ``(line, reason)``
    instead of being errors (see the module doc)."""
    return stream_validated(Path(path), CLICK_COLUMNS, False, chunk_rows, _convert_clicks, SESSION, skipped)


def iter_buys(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS,
              skipped: Skipped | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of a buys file: ``session_id``, ``item_id``, ``quantity`` (int64, may be 0),
    ``price`` (float64, may be 0) and ``timestamp`` (datetime64[ms], naive UTC); ``skipped`` as
    for :func:`iter_clicks`."""
    return stream_validated(Path(path), BUY_COLUMNS, False, chunk_rows, _convert_buys, SESSION, skipped)

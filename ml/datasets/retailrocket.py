"""Streaming reader of the Retailrocket e-commerce dataset (DATA_FORMATS.md, section 1).

``events.csv`` is 2.76M lines (90 MB): it is read in chunks of lines, never whole, all or nothing
(:mod:`ml.datasets.streaming`: chunks are yielded while the file is valid so far, then one
:class:`~ml.data.DataFormatError` names every bad line). A comma- or tab-separated file, a UTF-8
byte-order mark, CRLF line ends and blank lines are accepted; line numbers are physical lines
(header = 1).

An event whose ``visitorid`` is ``None``, ``null``, ``NaN`` or empty cannot be attributed to a
visitor: an error by default, left out and listed when the caller passes ``skipped``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ml.datasets.streaming import (
    DEFAULT_CHUNK_ROWS, Attribution, LineChunk, Problems, Skipped, explain_lines, int_problem, parse_chunk,
    stream_validated,
)

EVENT_COLUMNS = ("timestamp", "visitorid", "event", "itemid", "transactionid")
PROPERTY_COLUMNS = ("timestamp", "itemid", "property", "value")
TREE_COLUMNS = ("categoryid", "parentid")
EVENT_TYPES = ("view", "addtocart", "transaction")
#: Properties the shop uses: the item's category, its availability, and ``790``, widely taken
#: to be the (scaled) price; every other property is hashed and of no use to a shop.
SHOP_PROPERTIES = ("categoryid", "available", "790")
NO_TRANSACTION = -1
#: Milliseconds between 2000 and 2100: a timestamp in seconds would land in 1970 and is refused.
MIN_MS, MAX_MS = 946_684_800_000, 4_102_444_800_000
VISITOR = Attribution("visitorid", EVENT_COLUMNS.index("visitorid"), "visitor")

_INT = re.compile(r"[0-9]{1,18}")
_NUMBER = re.compile(r"n-?[0-9]+(\.[0-9]+)?")


def _event_line_problem(fields: list[str]) -> str | None:
    timestamp, visitor, kind, item, transaction = (field.strip() for field in fields)
    for problem in (int_problem("timestamp", timestamp), VISITOR.problem(visitor), int_problem("itemid", item)):
        if problem is not None:
            return problem
    if not MIN_MS <= int(timestamp) < MAX_MS:
        return f"timestamp is not Unix milliseconds between 2000 and 2100: {timestamp!r}"
    if kind not in EVENT_TYPES:
        return f"event is not one of {', '.join(EVENT_TYPES)}: {kind!r}"
    if kind == "transaction":
        return None if _INT.fullmatch(transaction) else (
            "transaction without transactionid" if not transaction
            else f"transactionid is not a non-negative integer: {transaction!r}")
    return f"transactionid on a {kind} event: {transaction!r}" if transaction else None


def _convert_events(chunk: LineChunk, delimiter: str) -> tuple[pd.DataFrame | None, Problems]:
    dtypes = {"timestamp": "int64", "visitorid": "int64", "event": "str", "itemid": "int64",
              "transactionid": "Int64"}
    try:
        frame = parse_chunk(chunk, delimiter, EVENT_COLUMNS, dtypes)
    except (ValueError, OverflowError):
        return None, explain_lines(chunk, delimiter, len(EVENT_COLUMNS), _event_line_problem)
    ids = frame[["timestamp", "visitorid", "itemid"]].to_numpy()
    kind = frame["event"].str.strip() if frame["event"].dtype == object else frame["event"]
    has_tid = frame["transactionid"].notna().to_numpy()
    is_tx = (kind == "transaction").to_numpy()
    ok = ((ids >= 0).all(axis=1) & (frame["timestamp"] >= MIN_MS).to_numpy()
          & (frame["timestamp"] < MAX_MS).to_numpy() & kind.isin(EVENT_TYPES).to_numpy()
          & (has_tid == is_tx) & (frame["transactionid"].fillna(0) >= 0).to_numpy())
    if not ok.all():
        return None, explain_lines(chunk, delimiter, len(EVENT_COLUMNS), _event_line_problem, np.flatnonzero(~ok))
    frame["event"] = kind
    frame["transactionid"] = frame["transactionid"].fillna(NO_TRANSACTION).astype("int64")
    return frame, []


def iter_events(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                skipped: Skipped | None = None) -> Iterator[pd.DataFrame]:
    """Chunks of ``events.csv`` in file order: ``timestamp`` (int64 Unix ms, UTC), ``visitorid``,
    ``itemid`` (int64), ``event`` (str, one of :data:`EVENT_TYPES`) and ``transactionid``
    (int64, :data:`NO_TRANSACTION` on views and add-to-carts). Raises :class:`DataFormatError`
    after the last valid chunk when any line is bad (see the module doc).

    Strict by default: a ``visitorid`` of ``None`` or empty is an error like any other. With
    ``skipped`` (an empty list or :class:`~ml.datasets.tables.SkippedRows`), such events are left
    out instead and appended as ``(line, reason)``; malformed lines are still errors."""
    return stream_validated(Path(path), EVENT_COLUMNS, True, chunk_rows, _convert_events, VISITOR, skipped)


def _property_line_problem(fields: list[str]) -> str | None:
    timestamp, item, name, value = fields[0].strip(), fields[1].strip(), fields[2].strip(), fields[3].strip()
    for column, text in (("timestamp", timestamp), ("itemid", item)):
        if (problem := int_problem(column, text)) is not None:
            return problem
    if not MIN_MS <= int(timestamp) < MAX_MS:
        return f"timestamp is not Unix milliseconds between 2000 and 2100: {timestamp!r}"
    if name == "categoryid":
        return int_problem("categoryid value", value)
    if name == "available" and value not in ("0", "1"):
        return f"available value is not 0 or 1: {value!r}"
    if name == "790" and not _NUMBER.fullmatch(value):
        return f"790 (price) value is not a number like 'n552.000': {value!r}"
    return None


def _convert_properties(chunk: LineChunk, delimiter: str) -> tuple[pd.DataFrame | None, Problems]:
    # Values of other properties are free text (hashed tokens): only the shop's ones are parsed.
    def explain(rows) -> tuple[None, Problems]:
        return None, explain_lines(chunk, delimiter, len(PROPERTY_COLUMNS), _property_line_problem, rows)

    dtypes = {"timestamp": "int64", "itemid": "int64", "property": "str", "value": "str"}
    try:
        frame = parse_chunk(chunk, delimiter, PROPERTY_COLUMNS, dtypes)
    except (ValueError, OverflowError):
        return explain(range(len(chunk.lines)))
    frame = frame.fillna({"property": "", "value": ""})
    ok = ((frame["timestamp"] >= MIN_MS) & (frame["timestamp"] < MAX_MS) & (frame["itemid"] >= 0)).to_numpy().copy()
    name, value = frame["property"].str.strip(), frame["value"].str.strip()
    checks = {"categoryid": r"[0-9]{1,18}", "available": r"[01]", "790": _NUMBER.pattern}
    for prop, pattern in checks.items():
        rows = (name == prop).to_numpy()
        if rows.any():
            ok[rows] &= value[rows].str.fullmatch(pattern).to_numpy(dtype=bool)
    if not ok.all():
        return explain(np.flatnonzero(~ok))
    keep = name.isin(SHOP_PROPERTIES).to_numpy()
    numbers = value[keep].str.lstrip("n").astype("float64")
    return pd.DataFrame({"timestamp": frame["timestamp"][keep], "itemid": frame["itemid"][keep],
                         "property": name[keep], "value": numbers}).reset_index(drop=True), []


def iter_properties(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Rows of an ``item_properties_part*.csv`` for the :data:`SHOP_PROPERTIES` only:
    ``timestamp`` (int64 ms), ``itemid``, ``property`` (str) and ``value`` (float64: the category
    id, 0/1, or the number after the ``n`` prefix). Other properties are checked for their
    timestamp and item id and dropped. All or nothing like :func:`iter_events`."""
    return stream_validated(Path(path), PROPERTY_COLUMNS, True, chunk_rows, _convert_properties)


def item_snapshots(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Every shop-relevant snapshot of the property files, sorted by item, property and time."""
    frames = [frame for path in paths for frame in iter_properties(path)]
    if not frames:
        return pd.DataFrame({"timestamp": pd.Series(dtype="int64"), "itemid": pd.Series(dtype="int64"),
                             "property": pd.Series(dtype="str"), "value": pd.Series(dtype="float64")})
    frame = pd.concat(frames, ignore_index=True)
    frame["property"] = frame["property"].astype("category")  # three names, millions of rows
    return frame.sort_values(["itemid", "property", "timestamp"], kind="stable", ignore_index=True)


def latest_state(snapshots: pd.DataFrame) -> pd.DataFrame:
    """One row per item: the latest ``categoryid``, ``available`` and ``790`` (price), NaN when
    never recorded. Ties at the same time: the line written last wins."""
    latest = snapshots.drop_duplicates(["itemid", "property"], keep="last")
    wide = latest.pivot(index="itemid", columns="property", values="value")
    return wide.reindex(columns=list(SHOP_PROPERTIES))


def _tree_line_problem(fields: list[str]) -> str | None:
    category, parent = fields[0].strip(), fields[1].strip()
    if (problem := int_problem("categoryid", category)) is not None:
        return problem
    return None if parent == "" else int_problem("parentid", parent)


def _convert_tree(chunk: LineChunk, delimiter: str) -> tuple[pd.DataFrame | None, Problems]:
    problems = explain_lines(chunk, delimiter, len(TREE_COLUMNS), _tree_line_problem)
    if problems:
        return None, problems
    rows = [text.split(delimiter) for text in chunk.lines]
    return pd.DataFrame({
        "categoryid": pd.Series([int(r[0]) for r in rows], dtype="int64"),
        "parentid": pd.Series([int(r[1]) if r[1].strip() else None for r in rows], dtype="Int64"),
    }), []


def read_category_tree(path: str | Path) -> pd.DataFrame:
    """``category_tree.csv``: ``categoryid`` (int64) and ``parentid`` (Int64, NA for roots);
    a category listed twice keeps its last line. Raises :class:`DataFormatError`."""
    frames = list(stream_validated(Path(path), TREE_COLUMNS, True, DEFAULT_CHUNK_ROWS, _convert_tree))
    if not frames:
        return pd.DataFrame({"categoryid": pd.Series(dtype="int64"), "parentid": pd.Series(dtype="Int64")})
    return pd.concat(frames, ignore_index=True).drop_duplicates("categoryid", keep="last", ignore_index=True)

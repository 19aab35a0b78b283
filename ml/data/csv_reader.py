"""Reader of the generic interactions CSV (DATA_FORMATS.md, section 5).

Format: a header with ``user_id,item_id`` and optionally ``weight``, ``timestamp`` (Unix seconds
or ISO 8601) and ``event``, in any order; ids are strings. This is how users evaluate the models
offline on their own data, so the reader is strict and explicit: every bad row is reported with
the file name and line number, and nothing is returned unless the whole file is valid.
"""

from __future__ import annotations

import csv
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ml.constants import EVENT_COL, ITEM_COL, TIME_COL, USER_COL, WEIGHT_COL
from ml.data.errors import DataFormatError

REQUIRED_COLUMNS = (USER_COL, ITEM_COL)
OPTIONAL_COLUMNS = (EVENT_COL, TIME_COL, WEIGHT_COL)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_MICROSECOND = timedelta(microseconds=1)


def _parse_id(text: str) -> str:
    if not text:
        raise ValueError("is empty")
    return text


def _parse_weight(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"is not a number: {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"must be a finite number >= 0, got {text!r}")
    return value


def parse_timestamp(text: str) -> int:
    """Microseconds since the Unix epoch, from Unix seconds or ISO 8601 (naive = UTC)."""
    if not text:
        raise ValueError("is empty")
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None and not math.isfinite(seconds):
        raise ValueError(f"is not a finite number: {text!r}")
    try:
        if seconds is not None:
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError, OSError):
        if seconds is not None:
            raise ValueError(
                f"is out of range: {text!r} (expected Unix seconds, not milliseconds)"
            ) from None
        raise ValueError(f"is neither Unix seconds nor ISO 8601: {text!r}") from None
    return (moment - _EPOCH) // _ONE_MICROSECOND


def _check_header(header: list[str]) -> list[tuple[int, str]]:
    problems = []
    known = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        problems.append((1, f"duplicated column(s): {', '.join(duplicated)}"))
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        problems.append((1, f"missing required column(s): {', '.join(missing)}"))
    unknown = [name for name in header if name not in known]
    if unknown:
        problems.append(
            (1, f"unknown column(s): {', '.join(unknown)} (allowed: {', '.join(known)})")
        )
    return problems


_PARSERS: dict[str, Callable[[str], object]] = {
    USER_COL: _parse_id,
    ITEM_COL: _parse_id,
    EVENT_COL: _parse_id,
    WEIGHT_COL: _parse_weight,
    TIME_COL: parse_timestamp,
}


def _to_frame(columns: dict[str, list[object]]) -> pd.DataFrame:
    text_columns = (USER_COL, ITEM_COL, EVENT_COL)
    frame = pd.DataFrame(
        {
            name: pd.Series(values, dtype=str)
            for name, values in columns.items()
            if name in text_columns
        }
    )
    if WEIGHT_COL in columns:
        frame[WEIGHT_COL] = np.asarray(columns[WEIGHT_COL], dtype=np.float64)
    if TIME_COL in columns:
        micros = np.asarray(columns[TIME_COL], dtype=np.int64)
        frame[TIME_COL] = pd.to_datetime(micros, unit="us", utc=True)
    order = [c for c in (USER_COL, ITEM_COL, EVENT_COL, TIME_COL, WEIGHT_COL) if c in columns]
    return frame[order]


RowParser = Callable[[dict[str, str]], tuple[dict[str, object], list[str]]]


def read_columns(path: str | Path, check_header: Callable[[list[str]], list[tuple[int, str]]],
                 parse_row: RowParser) -> tuple[dict[str, list[object]], list[int]]:
    """The parsed columns (header name -> values) and each row's line number of a CSV file with a
    header: UTF-8 (a byte-order mark accepted), any line ending, quoted fields; names and values
    stripped, blank lines skipped. ``parse_row`` turns one row (name -> text) into its values and
    the problems it found (none: the row is kept). Every bad line (field count, the header's and
    the rows' problems) is reported in one :class:`~ml.data.errors.DataFormatError`, by line
    number; nothing partial is ever returned. The interactions and session readers share it."""
    path = Path(path)
    problems: list[tuple[int, str]] = []
    columns: dict[str, list[object]] = {}
    lines: list[int] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                raise DataFormatError(path, [(1, "the file is empty (no header)")])
            problems.extend(check_header(header))
            if problems:
                raise DataFormatError(path, problems)
            columns = {name: [] for name in header}
            line = reader.line_num
            for record in reader:
                start, line = line + 1, reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != len(header):
                    problems.append((start, f"expected {len(header)} fields, found {len(record)}"))
                    continue
                parsed, row_problems = parse_row(dict(zip(header, (text.strip() for text in record))))
                if row_problems:
                    problems.extend((start, problem) for problem in row_problems)
                    continue
                for name in header:
                    columns[name].append(parsed[name])
                lines.append(start)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, [(0, f"is not UTF-8 text ({exc.reason})")]) from None
    except csv.Error as exc:
        raise DataFormatError(path, problems + [(reader.line_num, f"CSV syntax: {exc}")]) from None
    if problems:
        raise DataFormatError(path, problems)
    return columns, lines


def _parse_interaction(values: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    parsed, problems = {}, []
    for name, text in values.items():
        try:
            parsed[name] = _PARSERS[name](text)
        except ValueError as exc:
            problems.append(f"{name} {exc}")
    return parsed, problems


def read_interactions_csv(path: str | Path) -> pd.DataFrame:
    """Read a generic interactions CSV into a DataFrame with canonical column names.

    Returns ``user_id``, ``item_id`` (and ``event`` if present) as strings, ``timestamp`` as
    UTC datetimes, ``weight`` as float64. Surrounding whitespace in names and values is stripped;
    blank lines are skipped; a UTF-8 byte-order mark is accepted. Raises
    :class:`~ml.data.errors.DataFormatError` listing every bad line (wrong field count, empty id,
    bad weight or timestamp, bad header); never returns partial data.
    """
    columns, _lines = read_columns(path, _check_header, _parse_interaction)
    return _to_frame(columns)

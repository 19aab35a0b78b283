"""Streaming reader of the Retailrocket e-commerce dataset (DATA_FORMATS.md, section 1).

``events.csv`` is 2.76M lines (90 MB): it is read in chunks of lines, never whole. Each chunk
is checked for its field count with a cheap per-line comma count (pandas' C parser would either
stop at the first long row or silently pad a short one), then parsed by the C parser with the
final dtypes. Only a chunk that fails there is re-read line by line to name every bad line, so
a valid file costs one fast pass.

All or nothing, streaming: chunks are yielded only while the file is valid so far. From the
first bad line on nothing more is yielded, the rest of the file is still scanned, and a
:class:`~ml.data.DataFormatError` naming every bad line (file, line number) ends the iteration.
A caller writing chunks to a database inside one transaction rolls back on that error.

The delimiter is taken from the header line: the published files are comma separated, a
tab-separated re-export is accepted as well. Line numbers are physical lines (header = 1);
blank lines are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd

from ml.data.errors import DataFormatError

EVENT_COLUMNS = ("timestamp", "visitorid", "event", "itemid", "transactionid")
PROPERTY_COLUMNS = ("timestamp", "itemid", "property", "value")
TREE_COLUMNS = ("categoryid", "parentid")
EVENT_TYPES = ("view", "addtocart", "transaction")
#: Properties the shop uses: the item's category, its availability, and ``790``, widely taken
#: to be the (scaled) price; every other property is hashed and of no use to a shop.
SHOP_PROPERTIES = ("categoryid", "available", "790")
NO_TRANSACTION = -1
DEFAULT_CHUNK_ROWS = 250_000
#: Milliseconds between 2000 and 2100: a timestamp in seconds would land in 1970 and is refused.
MIN_MS, MAX_MS = 946_684_800_000, 4_102_444_800_000
MAX_PROBLEMS = 1_000  # keep scanning to count, but stop collecting messages

_INT = re.compile(r"[0-9]{1,18}")
_NUMBER = re.compile(r"n-?[0-9]+(\.[0-9]+)?")

Problems = list[tuple[int, str]]


@dataclass
class LineChunk:
    """Data lines of a chunk (line ends stripped) and their physical line numbers."""

    lines: list[str]
    numbers: list[int] | range


def sniff_delimiter(first_line: str) -> str:
    return "\t" if "\t" in first_line and "," not in first_line else ","


def _chunk(raw: list[str], first_number: int) -> LineChunk:
    lines = [text.rstrip("\r\n") for text in raw]
    numbers = range(first_number, first_number + len(lines))
    if min(map(len, lines)) and not any(map(str.isspace, lines)):  # C-level scans: no blank line
        return LineChunk(lines, numbers)
    kept = [i for i, text in enumerate(lines) if text.strip()]
    return LineChunk([lines[i] for i in kept], [numbers[i] for i in kept])


def line_chunks(path: Path, chunk_rows: int, header: bool) -> Iterator[tuple[str, LineChunk]]:
    """(first line, chunk) pairs; the first line is the header, or the first data line when the
    format has none (it is then also part of the first chunk)."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        if not first.strip():
            raise DataFormatError(path, [(1, "the file is empty")])
        number = 2 if header else 1
        pending = [] if header else [first]
        while True:
            raw = pending + list(islice(handle, chunk_rows))
            pending = []
            if not raw:
                return
            yield first.rstrip("\r\n"), _chunk(raw, number)
            number += len(raw)


def check_header(path: Path, found: str, expected: Sequence[str]) -> str:
    delimiter = sniff_delimiter(found)
    names = [name.strip() for name in found.split(delimiter)]
    if names != list(expected):
        raise DataFormatError(path, [(1, f"expected the header {','.join(expected)!r}, found {found!r}")])
    return delimiter


def field_count_problems(chunk: LineChunk, delimiter: str, width: int) -> tuple[LineChunk, Problems]:
    """Split off the lines whose field count is wrong (the format has no quoting)."""
    wanted = width - 1
    # One count over the joined text first: equal totals and a clean C parse (which fails on
    # a long line, and leaves a NaN in an int column for a short one) prove every line right.
    if "\n".join(chunk.lines).count(delimiter) == wanted * len(chunk.lines):
        return chunk, []
    counts = [text.count(delimiter) for text in chunk.lines]
    good, problems = LineChunk([], []), []
    for text, number, count in zip(chunk.lines, chunk.numbers, counts):
        if count == wanted:
            good.lines.append(text)
            good.numbers.append(number)
        else:
            problems.append((number, f"expected {width} fields, found {count + 1}"))
    return good, problems


def parse_chunk(chunk: LineChunk, delimiter: str, names: Sequence[str], dtypes: dict) -> pd.DataFrame:
    """The C parser over the chunk's lines; raises ValueError on a value of the wrong type."""
    text = "\n".join(chunk.lines)
    return pd.read_csv(io.StringIO(text), sep=delimiter, header=None, names=list(names), dtype=dtypes,
                       keep_default_na=False, na_values={n: [""] for n in names}, quoting=3, engine="c")


def stream_validated(path: Path, names: Sequence[str], header: bool, chunk_rows: int,
                     convert: Callable[[LineChunk, str], tuple[pd.DataFrame | None, Problems]],
                     ) -> Iterator[pd.DataFrame]:
    """The shared all-or-nothing loop: yield converted chunks until the first problem, then scan
    the rest and raise one :class:`DataFormatError` with every bad line."""
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    problems: Problems = []
    delimiter = None
    try:
        for first, chunk in line_chunks(path, chunk_rows, header):
            if delimiter is None:
                delimiter = check_header(path, first, names) if header else sniff_delimiter(first)
            chunk, bad = field_count_problems(chunk, delimiter, len(names))
            frame, more = convert(chunk, delimiter) if chunk.lines else (None, [])
            if len(problems) < MAX_PROBLEMS:
                problems.extend(sorted(bad + more))
            if not problems and frame is not None and len(frame):
                yield frame
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, problems + [(0, f"is not UTF-8 text ({exc.reason})")]) from None
    if problems:
        raise DataFormatError(path, problems)


def int_problem(name: str, value: str) -> str | None:
    if _INT.fullmatch(value):
        return None
    return f"{name} is empty" if value == "" else f"{name} is not a non-negative integer: {value!r}"


def _event_line_problem(fields: list[str]) -> str | None:
    timestamp, visitor, kind, item, transaction = (field.strip() for field in fields)
    for name, value in (("timestamp", timestamp), ("visitorid", visitor), ("itemid", item)):
        if (problem := int_problem(name, value)) is not None:
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


def _line_by_line(chunk: LineChunk, delimiter: str, check: Callable[[list[str]], str | None]) -> Problems:
    found = ((number, check(text.split(delimiter))) for text, number in zip(chunk.lines, chunk.numbers))
    return [(number, problem) for number, problem in found if problem is not None]


def _convert_events(chunk: LineChunk, delimiter: str) -> tuple[pd.DataFrame | None, Problems]:
    dtypes = {"timestamp": "int64", "visitorid": "int64", "event": "str", "itemid": "int64",
              "transactionid": "Int64"}
    try:
        frame = parse_chunk(chunk, delimiter, EVENT_COLUMNS, dtypes)
    except (ValueError, OverflowError):
        return None, _line_by_line(chunk, delimiter, _event_line_problem)
    ids = frame[["timestamp", "visitorid", "itemid"]].to_numpy()
    kind = frame["event"].str.strip() if frame["event"].dtype == object else frame["event"]
    has_tid = frame["transactionid"].notna().to_numpy()
    is_tx = (kind == "transaction").to_numpy()
    ok = ((ids >= 0).all(axis=1) & (frame["timestamp"] >= MIN_MS).to_numpy()
          & (frame["timestamp"] < MAX_MS).to_numpy() & kind.isin(EVENT_TYPES).to_numpy()
          & (has_tid == is_tx) & (frame["transactionid"].fillna(0) >= 0).to_numpy())
    if not ok.all():
        bad = LineChunk([chunk.lines[i] for i in np.flatnonzero(~ok)], [chunk.numbers[i] for i in np.flatnonzero(~ok)])
        return None, _line_by_line(bad, delimiter, _event_line_problem)
    frame["event"] = kind
    frame["transactionid"] = frame["transactionid"].fillna(NO_TRANSACTION).astype("int64")
    return frame, []


def iter_events(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Chunks of ``events.csv`` in file order: ``timestamp`` (int64 Unix ms, UTC), ``visitorid``,
    ``itemid`` (int64), ``event`` (str, one of :data:`EVENT_TYPES`) and ``transactionid``
    (int64, :data:`NO_TRANSACTION` on views and add-to-carts). Raises :class:`DataFormatError`
    after the last valid chunk when any line is bad (see the module doc)."""
    return stream_validated(Path(path), EVENT_COLUMNS, True, chunk_rows, _convert_events)


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
        return None, _line_by_line(LineChunk([chunk.lines[i] for i in rows], [chunk.numbers[i] for i in rows]),
                                   delimiter, _property_line_problem)

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
    problems = _line_by_line(chunk, delimiter, _tree_line_problem)
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

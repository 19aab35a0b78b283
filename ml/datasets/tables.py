"""Strict, streaming reading of a headed CSV table, shared by the external-format readers.

Why not ``pandas.read_csv``: its row numbers drift from the file's line numbers as soon as a
blank line is skipped, it silently pads rows with too few fields, and it stops at the first row
with too many. Users fixing a large export need *every* bad line, by its physical line number,
in one go. So rows are read with the ``csv`` module (which never converts anything: the literal
``None`` stays a string and 38-digit ids keep every digit, what ``read_csv(dtype=str,
keep_default_na=False)`` would give) and validated a column at a time over chunks of rows, so
memory holds the valid values plus one chunk of raw rows, and large files stay fast (about a
million rows in a few seconds).

All or nothing: once a problem is found, the valid chunks read so far are dropped (the rest of
the file is still scanned so that every problem is reported), and :class:`DataFormatError` is
raised at the end. A caller never sees a partial table.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ml.data.errors import DataFormatError

log = logging.getLogger(__name__)

#: Rows validated together; bounds the memory used by one chunk of raw text.
DEFAULT_CHUNK_ROWS = 100_000

Problems = list[tuple[int, str]]

#: Ids written for someone the exporter could not identify (real exports write ``None``; pandas
#: re-exports ``nan``): a row holding one cannot be attributed to anyone. One definition for
#: every reader, so a marketing cookie and a log's visitor id are judged alike.
UNKNOWN_IDS: frozenset[str] = frozenset({"", "None", "none", "NULL", "null", "nan", "NaN"})


class SkippedRows:
    """Rows a reader left out instead of refusing the file: how many per reason, and the line
    numbers of the first :attr:`shown` of each.

    Readers ``append``/``extend`` ``(line, reason)`` pairs in line order, as to a list (so
    :func:`read_table` takes either). A 33M-line log may leave out millions of rows while a
    report lists a few of each reason, so only those are kept, with the count of the rest.
    """

    def __init__(self, shown: int = 20) -> None:
        self.shown = shown
        self.counts: dict[str, int] = {}
        self.lines: dict[str, list[int]] = {}

    def append(self, entry: tuple[int, str]) -> None:
        line, reason = entry
        count = self.counts.get(reason, 0)
        self.counts[reason] = count + 1
        if count < self.shown:
            self.lines.setdefault(reason, []).append(line)

    def extend(self, entries: Iterable[tuple[int, str]]) -> None:
        for entry in entries:
            self.append(entry)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def describe(self) -> str:
        """``2 rows skipped, <reason>: lines 3, 6; 1 row skipped, <reason>: line 7``, listing at
        most :attr:`shown` lines of a reason and saying how many more there were."""
        parts = []
        for reason, count in self.counts.items():
            lines = self.lines[reason]
            listed = ", ".join(str(n) for n in lines) + (f" and {count - len(lines):,} more" if count > len(lines) else "")
            parts.append(f"1 row skipped, {reason}: line {listed}" if count == 1
                         else f"{count:,} rows skipped, {reason}: lines {listed}")
        return "; ".join(parts)


#: Where a reader lists the rows it leaves out: a plain list or a bounded :class:`SkippedRows`.
Skipped = SkippedRows | list[tuple[int, str]]


@dataclass(frozen=True)
class ColumnRule:
    """One required column: how to check a chunk of its (stripped) values at once.

    ``is_valid`` gets the chunk's values as a list of strings and returns a boolean array
    (True = valid); ``describe`` turns one invalid value into the message reported for its
    line, e.g. ``"is not a positive integer: '2.5'"`` (the reader prefixes the column name).
    """

    name: str
    is_valid: Callable[[list[str]], np.ndarray]
    describe: Callable[[str], str]
    # Values that make a whole row unusable rather than wrong (a cookie ``None``: nobody to
    # attribute it to): with ``read_table(skipped=[...])`` such rows are left out and listed
    # with ``skip_reason`` instead of failing the file (``None``: every value is checked).
    skip_when: Callable[[list[str]], np.ndarray] | None = None
    skip_reason: str = ""


def _is_unnamed(name: str) -> bool:
    """The exporter's index column has no name (pandas re-exports call it ``Unnamed: 0``)."""
    return name == "" or name.startswith("Unnamed:")


def _header_positions(header: list[str], rules: Sequence[ColumnRule]) -> tuple[list[int], Problems]:
    """Position of each rule's column in the header, or the header's problems (line 1)."""
    problems: Problems = []
    named = [name for name in header if not _is_unnamed(name)]
    duplicated = sorted({name for name in named if named.count(name) > 1})
    if duplicated:
        problems.append((1, f"duplicated column(s): {', '.join(duplicated)}"))
    missing = [rule.name for rule in rules if rule.name not in header]
    if missing:
        problems.append(
            (1, f"missing required column(s): {', '.join(missing)} "
                f"(expected a header like ',{','.join(r.name for r in rules)}')")
        )
    if problems:
        return [], problems
    extra = [n for n in named if n not in {r.name for r in rules}]
    if extra:
        log.info("ignoring unknown column(s) %s", ", ".join(extra))
    return [header.index(rule.name) for rule in rules], []


def _check_chunk(
    records: list[list[str]],
    lines: list[int],
    positions: list[int],
    rules: Sequence[ColumnRule],
    skipped: Skipped | None = None,
) -> tuple[list[list[str]], Problems]:
    """Validate every rule's column of a chunk; return its stripped values and the bad lines.

    Columns are cut out with one ``zip(*records)`` and checked a column at a time, which costs
    a fraction of checking field by field in the row loop. With ``skipped``, rows a rule's
    ``skip_when`` marks are appended to it in line order and left out, unchecked.
    """
    columns = [[value.strip() for value in field] for field in zip(*records)]
    keep = np.ones(len(records), dtype=bool)
    if skipped is not None:
        marks: Problems = []
        for rule, position in zip(rules, positions):
            if rule.skip_when is None:
                continue
            marked = np.asarray(rule.skip_when(columns[position]), dtype=bool) & keep
            marks.extend((lines[row], rule.skip_reason) for row in np.flatnonzero(marked))
            keep &= ~marked
        skipped.extend(sorted(marks))  # rule by rule above; chunks come in order: all in line order
        if not keep.all():
            rows = np.flatnonzero(keep)
            columns = [[column[i] for i in rows] for column in columns]
            lines = [lines[i] for i in rows]
    values: list[list[str]] = []
    problems: Problems = []
    for rule, position in zip(rules, positions):
        stripped = columns[position]
        valid = np.asarray(rule.is_valid(stripped), dtype=bool)
        for bad in np.flatnonzero(~valid):
            problems.append((lines[bad], f"{rule.name} {rule.describe(stripped[bad])}"))
        values.append(stripped)
    return values, problems


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


def read_table(
    path: str | Path, rules: Sequence[ColumnRule], chunk_rows: int = DEFAULT_CHUNK_ROWS,
    skipped: Skipped | None = None,
) -> pd.DataFrame:
    """Read the columns named by ``rules`` as stripped strings, all rows valid, or raise.

    The header may start with an unnamed index column (ignored, as are other unnamed or unknown
    columns); a UTF-8 byte-order mark is accepted; blank lines are skipped. Raises
    :class:`DataFormatError` with ``(line, message)`` for every bad line: an empty file or bad
    header, a wrong number of fields, each invalid value. Line numbers are physical lines
    (header = 1), where the record starts. With ``skipped`` (an empty list), rows that a rule's
    ``skip_when`` marks are not problems: they are left out and appended as ``(line, reason)``.
    """
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    path = Path(path)
    problems: Problems = []
    kept: list[list[str]] = [[] for _ in rules]
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header or header == [""]:
                raise DataFormatError(path, [(1, "the file is empty (no header)")])
            positions, header_problems = _header_positions(header, rules)
            if header_problems:
                raise DataFormatError(path, header_problems)
            width, line = len(header), reader.line_num
            records: list[list[str]] = []
            lines: list[int] = []
            for record in reader:
                start, line = line + 1, reader.line_num
                if len(record) != width:
                    if not _is_blank(record):
                        problems.append((start, f"expected {width} fields, found {len(record)}"))
                    continue
                records.append(record)
                lines.append(start)
                if len(records) >= chunk_rows:
                    _flush(records, lines, positions, rules, problems, kept, skipped)
                    records, lines = [], []
            _flush(records, lines, positions, rules, problems, kept, skipped)
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, problems + [(0, f"is not UTF-8 text ({exc.reason})")]) from None
    except csv.Error as exc:
        raise DataFormatError(path, problems + [(reader.line_num, f"CSV syntax: {exc}")]) from None
    if problems:
        raise DataFormatError(path, sorted(problems, key=lambda problem: problem[0]))
    return pd.DataFrame(
        {rule.name: pd.Series(values, dtype="str") for rule, values in zip(rules, kept)}
    )


def _flush(
    records: list[list[str]],
    lines: list[int],
    positions: list[int],
    rules: Sequence[ColumnRule],
    problems: Problems,
    kept: list[list[str]],
    skipped: Skipped | None = None,
) -> None:
    """Validate a chunk; keep its values only while the whole file is still valid."""
    if not records:
        return
    values, chunk_problems = _check_chunk(records, lines, positions, rules, skipped)
    problems.extend(chunk_problems)
    if problems:
        for column in kept:
            column.clear()  # all or nothing: nothing read so far will be returned
        return
    for column, chunk_values in zip(kept, values):
        column.extend(chunk_values)

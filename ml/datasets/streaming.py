"""Chunked, all-or-nothing reading of large delimited logs (Retailrocket, YOOCHOOSE).

A log is read in chunks of lines, never whole. Each chunk is checked for its field count with a
cheap per-line delimiter count (pandas' C parser would either stop at the first long row or
silently pad a short one), then parsed by the C parser with the final dtypes by the format's
``convert``. Only a chunk that fails there is re-read line by line to name every bad line, so a
valid file costs one fast pass.

All or nothing, streaming: chunks are yielded only while the file is valid so far. From the
first bad line on nothing more is yielded, the rest of the file is still scanned, and a
:class:`~ml.data.DataFormatError` naming every bad line (file, line number) ends the iteration.
A caller writing chunks to a database inside one transaction rolls back on that error.

Rows that cannot be attributed to anyone (see :class:`Attribution`) are errors too, unless the
caller passes ``skipped``: they are then left out and listed there, with their line numbers.

The delimiter is taken from the first line: the published files are comma separated, a
tab-separated re-export is accepted as well. Line numbers are physical lines (a header is 1);
blank lines are skipped; a UTF-8 byte-order mark and CRLF line ends are accepted.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import pandas as pd

from ml.data.errors import DataFormatError
from ml.datasets.tables import UNKNOWN_IDS, Skipped

DEFAULT_CHUNK_ROWS = 250_000
MAX_PROBLEMS = 1_000  # keep scanning to count, but stop collecting messages

_INT = re.compile(r"[0-9]{1,18}")

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
    # a long line, and leaves a NaN in an int column for a short one) prove every line right;
    # when the parse fails, explain_lines counts each line's fields again.
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


def explain_lines(chunk: LineChunk, delimiter: str, width: int, check: Callable[[list[str]], str | None],
                  rows: Iterable[int] | None = None) -> Problems:
    """The problem of each bad line among ``rows`` (default: all), one by one. The field count
    comes first: a short line and a long one in the same chunk pass the count of totals."""
    problems: Problems = []
    for i in range(len(chunk.lines)) if rows is None else rows:
        fields = chunk.lines[i].split(delimiter)
        problem = check(fields) if len(fields) == width else f"expected {width} fields, found {len(fields)}"
        if problem is not None:
            problems.append((chunk.numbers[i], problem))
    return problems


def int_problem(name: str, value: str) -> str | None:
    if _INT.fullmatch(value):
        return None
    return f"{name} is empty" if value == "" else f"{name} is not a non-negative integer: {value!r}"


@dataclass(frozen=True)
class Attribution:
    """The integer field that says whose row it is: ``name`` at ``position``, a ``whom``.

    Real logs hold rows whose id is ``None``, ``null``, ``NaN`` or empty (:data:`UNKNOWN_IDS`,
    the marketing export's definition): nobody to attribute them to. Such a row is not
    malformed, and leaving it out loses nothing the shop could use, so a reader asked to
    (``skipped``) lists it with :attr:`reason` instead of refusing the file.
    """

    name: str
    position: int
    whom: str

    @property
    def reason(self) -> str:
        return f"{self.name} unknown (the {self.whom} was not identified)"

    def problem(self, value: str) -> str | None:
        """The error for a stripped ``value`` when such rows are not skipped (strict reading)."""
        if value in UNKNOWN_IDS:
            said = "is empty" if value == "" else f"is unknown ({value!r})"
            return f"{self.name} {said}: the row cannot be attributed to a {self.whom}"
        return int_problem(self.name, value)

    def split(self, chunk: LineChunk, delimiter: str) -> tuple[LineChunk, list[int]]:
        """The chunk without its unattributable lines, and their line numbers.

        One split per line, about 0.25 s per million lines (a C-level prescreen was no faster),
        paid only when skipping: strict reading leaves such lines to ``convert`` to explain.
        """
        unknown, position = UNKNOWN_IDS.__contains__, self.position
        try:
            flags = [unknown(text.split(delimiter, position + 1)[position].strip()) for text in chunk.lines]
        except IndexError:  # a short line hidden by a long one (see field_count_problems): not ours
            fields = [text.split(delimiter, position + 1) for text in chunk.lines]
            flags = [len(f) > position and unknown(f[position].strip()) for f in fields]
        if not any(flags):
            return chunk, []
        kept, dropped = LineChunk([], []), []
        for text, number, flag in zip(chunk.lines, chunk.numbers, flags):
            if flag:
                dropped.append(number)
            else:
                kept.lines.append(text)
                kept.numbers.append(number)
        return kept, dropped


def stream_validated(path: Path, names: Sequence[str], header: bool, chunk_rows: int,
                     convert: Callable[[LineChunk, str], tuple[pd.DataFrame | None, Problems]],
                     attribution: Attribution | None = None, skipped: Skipped | None = None,
                     ) -> Iterator[pd.DataFrame]:
    """The shared all-or-nothing loop: yield converted chunks until the first problem, then scan
    the rest and raise one :class:`DataFormatError` with every bad line.

    With ``attribution`` and ``skipped``, unattributable rows are left out before converting and
    appended to ``skipped`` as ``(line, reason)`` in line order (absolute line numbers, whatever
    the chunks); without ``skipped`` the format's ``convert`` reports them as errors.
    """
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
            if attribution is not None and skipped is not None:
                chunk, unattributable = attribution.split(chunk, delimiter)
                skipped.extend((number, attribution.reason) for number in unattributable)
            frame, more = convert(chunk, delimiter) if chunk.lines else (None, [])
            if len(problems) < MAX_PROBLEMS:
                problems.extend(sorted(bad + more))
            if not problems and frame is not None and len(frame):
                yield frame
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, problems + [(0, f"is not UTF-8 text ({exc.reason})")]) from None
    if problems:
        raise DataFormatError(path, problems)

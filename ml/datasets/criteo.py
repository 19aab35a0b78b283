"""Reader of click-through data in the Criteo display-ads layout (DATA_FORMATS.md, section 4).

Two layouts, told apart by the first line:

- CSV with a header naming ``label, I1..I13, C1..C26`` (any order), possibly with extra columns
  (``Customer_Id``, ``Campaign_id``, ...: kept, but never features) and a leading unnamed index
  column (dropped);
- the original Criteo files: tab-separated, no header, exactly 40 columns in that order.

``label`` must be 0 or 1; ``I*`` are integers (empty = missing, negatives allowed); ``C*`` are
hashed categories kept as text (empty = missing). The file is streamed in chunks of lines: field
counts are checked per line (pandas would silently pad a short line), each chunk is parsed by
pandas' C parser and its columns validated at once. Every bad line is reported by its physical
line number (header = 1) in one :class:`CriteoFormatError`; nothing is returned unless the
whole file (or its first ``max_rows`` rows) is valid. Quoted fields spanning lines are not
supported (the format never has them).

:func:`criteo_feature_frame` turns the rows into categorical text features the way the
competition winners did; :func:`evaluate_click_file` runs the LR / FM / xDeepFM comparison.
"""

from __future__ import annotations

import csv
import io
import logging
from itertools import islice
from pathlib import Path
from typing import Iterator, TextIO

import numpy as np
import pandas as pd

from ml.ctr.compare import CtrComparison, compare_ctr_models
from ml.ctr.training import CtrTrainConfig
from ml.data.errors import DataFormatError

log = logging.getLogger(__name__)

LABEL = "label"
INTEGER_COLUMNS: tuple[str, ...] = tuple(f"I{k}" for k in range(1, 14))
CATEGORICAL_COLUMNS: tuple[str, ...] = tuple(f"C{k}" for k in range(1, 27))
CRITEO_COLUMNS: tuple[str, ...] = (LABEL, *INTEGER_COLUMNS, *CATEGORICAL_COLUMNS)
FEATURE_COLUMNS: tuple[str, ...] = (*INTEGER_COLUMNS, *CATEGORICAL_COLUMNS)
MISSING = "missing"
DEFAULT_CHUNK_LINES = 100_000


class CriteoFormatError(DataFormatError):
    """A click file does not follow the Criteo layout; ``problems`` holds (line, message)."""


def _split_one(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep), [])


def _layout(first: str) -> tuple[str, list[str], bool]:
    """(separator, column names, whether the first line is a header)."""
    sep = "\t" if "\t" in first else ","
    fields = [name.strip() for name in _split_one(first, sep)]
    if LABEL in fields:
        return sep, fields, True
    return sep, list(CRITEO_COLUMNS), False


def _is_index(name: str) -> bool:
    """The exporter's unnamed index column (pandas re-reads it as ``Unnamed: 0``)."""
    return name == "" or name.startswith("Unnamed:")


def _header_problems(columns: list[str], has_header: bool, first_width: int) -> list[str]:
    if not has_header:
        if first_width != len(CRITEO_COLUMNS):
            return [f"expected a header line with 'label' or {len(CRITEO_COLUMNS)} tab-separated "
                    f"fields (label, I1-I13, C1-C26), found {first_width} field(s)"]
        return []
    named = [c for c in columns if not _is_index(c)]
    problems = []
    duplicated = sorted({c for c in named if named.count(c) > 1})
    if duplicated:
        problems.append(f"duplicated column(s): {', '.join(duplicated)}")
    missing = [c for c in CRITEO_COLUMNS if c not in columns]
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    return problems


def _field_counts(lines: list[str], sep: str) -> np.ndarray:
    counts = np.fromiter((line.count(sep) + 1 for line in lines), dtype=np.int64, count=len(lines))
    for k, line in enumerate(lines):
        if '"' in line:  # a quoted separator does not split: count like the parser does
            counts[k] = len(_split_one(line, sep))
    return counts


def _parse(text: str, sep: str, names: list[str]) -> pd.DataFrame:
    """Parse good lines with typed columns: label int64, I* float64 (NaN = empty), rest str.

    Raises ValueError when a value does not parse (then :func:`_problems` finds the lines)."""
    dtypes = {name: str for name in names}
    dtypes.update({LABEL: np.int64, **{name: np.float64 for name in INTEGER_COLUMNS}})
    return pd.read_csv(
        io.StringIO(text), sep=sep, header=None, names=names, dtype=dtypes,
        keep_default_na=False, na_values={name: [""] for name in INTEGER_COLUMNS},
        skip_blank_lines=False, index_col=False,
    )


def _problems(text: str, sep: str, names: list[str], lines: np.ndarray) -> list[tuple[int, str]]:
    """Every bad value of a chunk, by line: labels not 0/1 and I values that are not integers."""
    chunk = pd.read_csv(
        io.StringIO(text), sep=sep, header=None, names=names, dtype=str, na_filter=False,
        skip_blank_lines=False, index_col=False,
    )
    problems = []
    label = chunk[LABEL].str.strip()
    for k in np.flatnonzero(~label.isin(("0", "1")).to_numpy()):
        problems.append((int(lines[k]), f"label must be 0 or 1, got {label.iloc[k]!r}"))
    for name in INTEGER_COLUMNS:
        text_values = chunk[name].str.strip()
        number = pd.to_numeric(text_values, errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore"):
            integral = np.isfinite(number) & (number == np.floor(number))
            bad = (text_values != "").to_numpy() & ~integral
        for k in np.flatnonzero(bad):
            problems.append((int(lines[k]), f"{name} is not an integer: {text_values.iloc[k]!r}"))
    return problems


def _valid_chunk(text: str, sep: str, names: list[str], lines: np.ndarray, extras: list[str]):
    """(the typed chunk, []) when every value is valid, else (None, its problems)."""
    try:
        chunk = _parse(text, sep, names)
    except (ValueError, OverflowError):
        return None, _problems(text, sep, names, lines)
    label = chunk[LABEL].to_numpy()
    numbers = chunk[list(INTEGER_COLUMNS)].to_numpy()
    with np.errstate(invalid="ignore"):
        integral = np.isnan(numbers) | (np.isfinite(numbers) & (numbers == np.floor(numbers)))
    if not (np.all((label == 0) | (label == 1)) and integral.all()):
        return None, _problems(text, sep, names, lines)
    return chunk[[*CRITEO_COLUMNS, *extras]], []


def _empty_frame(extras: list[str]) -> pd.DataFrame:
    columns = {LABEL: pd.Series([], dtype=np.int64)}
    columns.update({name: pd.Series([], dtype=np.float64) for name in INTEGER_COLUMNS})
    columns.update({name: pd.Series([], dtype=str) for name in (*CATEGORICAL_COLUMNS, *extras)})
    return pd.DataFrame(columns)


def _line_chunks(
    handle: TextIO, pending: list[str], line_no: int, chunk_lines: int, max_rows: int | None
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Chunks of non-blank data lines and their physical line numbers, ``max_rows`` at most.

    ``pending``: lines already read (a headerless file's first line); ``line_no``: the number
    of the last line consumed before them."""
    n_rows = 0
    while max_rows is None or n_rows < max_rows:
        lines = pending + list(islice(handle, chunk_lines))
        pending = []
        if not lines:
            return
        numbers = np.arange(line_no + 1, line_no + 1 + len(lines))
        line_no += len(lines)
        kept = [k for k, line in enumerate(lines) if line.strip()]
        lines, numbers = [lines[k] for k in kept], numbers[kept]
        if max_rows is not None:
            lines, numbers = lines[: max_rows - n_rows], numbers[: max_rows - n_rows]
        n_rows += len(lines)
        yield lines, numbers


def read_criteo(
    path: str | Path, max_rows: int | None = None, chunk_lines: int = DEFAULT_CHUNK_LINES
) -> pd.DataFrame:
    """Read a click file (module doc) into ``label`` (int64 0/1), ``I1..I13`` (float64, NaN =
    missing, integral values), ``C1..C26`` (str as written, "" = missing), then any extra
    columns (str).

    ``max_rows``: read only the first data rows. Raises :class:`CriteoFormatError` naming each
    bad line: wrong field count, label not 0/1, non-integer ``I`` value, missing columns.
    """
    path = Path(path)
    if max_rows is not None and max_rows < 0:
        raise ValueError("max_rows must be >= 0")
    problems: list[tuple[int, str]] = []
    kept: list[pd.DataFrame] = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
            if not first.strip():
                raise CriteoFormatError(path, [(1, "the file is empty")])
            sep, columns, has_header = _layout(first)
            header_problems = _header_problems(columns, has_header, len(_split_one(first, sep)))
            if header_problems:
                raise CriteoFormatError(path, [(1, p) for p in header_problems])
            extras = [c for c in columns if not _is_index(c) and c not in CRITEO_COLUMNS]
            names = [c if c else f"Unnamed: {k}" for k, c in enumerate(columns)]
            pending, line_no = ([], 1) if has_header else ([first], 0)
            for lines, numbers in _line_chunks(handle, pending, line_no, chunk_lines, max_rows):
                counts = _field_counts(lines, sep)
                wrong = counts != len(columns)
                for k in np.flatnonzero(wrong):
                    problems.append(
                        (int(numbers[k]), f"expected {len(columns)} fields, found {counts[k]}")
                    )
                good = [line.rstrip("\r\n") for line, w in zip(lines, wrong) if not w]
                if not good:
                    continue
                text = "\n".join(good) + "\n"
                chunk, bad = _valid_chunk(text, sep, names, numbers[~wrong], extras)
                problems.extend(bad)
                kept = [] if problems else [*kept, chunk]  # all or nothing
    except UnicodeDecodeError as exc:
        problems.append((0, f"is not UTF-8 text ({exc.reason})"))
        raise CriteoFormatError(path, problems) from None
    if problems:
        raise CriteoFormatError(path, sorted(problems))
    frame = pd.concat(kept, ignore_index=True) if kept else _empty_frame(extras)
    log.info("read %d click rows from %s", len(frame), path)
    return frame


def _integer_tokens(values: np.ndarray) -> np.ndarray:
    """Winners' transform of a count: ``v <= 2`` (negatives too) kept as is, larger values
    ``floor(ln(v)^2)`` (prefixed ``L``, so ``L1`` differs from the raw 1), NaN -> "missing"."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    safe = np.where(missing, 0.0, values)
    big = safe > 2
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.floor(np.log(np.where(big, safe, 1.0)) ** 2)
    # one code per token: raw values as they are, log buckets shifted out of their way
    code = np.where(big, 10**12 + logged, safe).astype(np.int64)
    code[missing] = -(10**15)
    unique, inverse = np.unique(code, return_inverse=True)
    labels = np.array([
        MISSING if c == -(10**15) else (f"L{c - 10**12}" if c >= 10**12 else str(c)) for c in unique
    ], dtype=object)
    return labels[inverse]


def criteo_feature_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Categorical text features of every ``I*`` and ``C*`` column, and their names.

    ``I*``: :func:`_integer_tokens` (Criteo winners' ``log^2`` buckets); ``C*``: the hash, ""
    -> "missing". Extra columns (ids, campaigns) and the label are left out.
    """
    features = {
        name: _integer_tokens(frame[name].to_numpy(dtype=np.float64)) for name in INTEGER_COLUMNS
    }
    for name in CATEGORICAL_COLUMNS:
        values = frame[name].to_numpy(dtype=object)
        features[name] = np.where((values == "") | pd.isna(values), MISSING, values)
    return pd.DataFrame(features, index=frame.index), list(FEATURE_COLUMNS)


def evaluate_click_file(
    path: str | Path,
    config: CtrTrainConfig = CtrTrainConfig(),
    max_rows: int | None = None,
    progress=False,
    min_count: int = 2,
) -> CtrComparison:
    """LR vs FM vs xDeepFM on a click file, split by row order (the file's order is time):
    the last 20% of rows are the test set, the last 10% of the rest the validation set."""
    frame = read_criteo(path, max_rows=max_rows)
    features, columns = criteo_feature_frame(frame)
    features[LABEL] = frame[LABEL].to_numpy()
    return compare_ctr_models(
        features, columns, label_column=LABEL, config=config, min_count=min_count,
        progress=progress,
    )

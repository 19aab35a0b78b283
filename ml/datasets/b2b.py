"""Reader of the gated-asset form submissions export (DATA_FORMATS.md, section 3).

Two files, each with a header that starts with an unnamed index column (``,cookie,...``):

- ``submissions.csv``: ``cookie, gated_asset_type, page_url, form_submissions``, one row per
  (visitor cookie, asset page);
- ``bu_mapping.csv``: ``business_unit, page_url``, a page repeated once per business unit.

Pitfalls handled here, once, so nothing downstream has to know them:

- cookies are 38-digit numbers: they do not fit in 64 bits and stay strings (all digits kept);
- the asset type ``None`` is a type name, not a missing value (no NaN conversion ever happens);
- page hashes are compared case-insensitively (returned lowercase), so the two files join;
- business units are stripped of surrounding whitespace; a page may have several units and a
  submitted page may be missing from the mapping (the join is the caller's, see ``ml.resources``).

Every bad line is reported with its line number in one :class:`~ml.data.DataFormatError`, and
nothing is returned unless the whole file is valid (see :mod:`ml.datasets.tables`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ml.datasets.tables import DEFAULT_CHUNK_ROWS, UNKNOWN_IDS, ColumnRule, Skipped, read_table

log = logging.getLogger(__name__)

COOKIE, ASSET_TYPE, PAGE, SUBMISSIONS, UNIT = (
    "cookie", "gated_asset_type", "page_url", "form_submissions", "business_unit",
)
SUBMISSIONS_COLUMNS: tuple[str, ...] = (COOKIE, ASSET_TYPE, PAGE, SUBMISSIONS)
BU_MAPPING_COLUMNS: tuple[str, ...] = (UNIT, PAGE)

#: Every asset type the export uses, spelt exactly as in the files (note the singular
#: ``Gated Best Practice Form`` and the literal ``None``).
ASSET_TYPES: tuple[str, ...] = (
    "Gated Get Pricing",
    "Gated DemoNow Forms",
    "Gated Analyst Report Forms",
    "Gated Ebook Forms",
    "Gated Webinar Forms",
    "Gated Case Study Forms",
    "Gated Solution Brief Forms",
    "Gated Whitepaper Forms",
    "Gated Best Practice Form",
    "Gated Infographics Forms",
    "Unspecified",
    "None",
)

_MAX_COUNT_DIGITS = 18  # keeps every accepted count inside int64
_DIGITS = re.compile(r"[0-9]+")
_PAGE = re.compile(r"[0-9a-fA-F]{64}")


def _matches(pattern: re.Pattern[str]) -> Callable[[list[str]], np.ndarray]:
    fullmatch = pattern.fullmatch
    return lambda values: np.fromiter(
        (fullmatch(v) is not None for v in values), dtype=bool, count=len(values)
    )


def _is_one_of(names: Sequence[str]) -> Callable[[list[str]], np.ndarray]:
    known = frozenset(names)
    return lambda values: np.fromiter((v in known for v in values), dtype=bool, count=len(values))


_COUNT = re.compile(rf"[0-9]{{1,{_MAX_COUNT_DIGITS}}}")


def _is_positive_count(values: list[str]) -> np.ndarray:
    fullmatch = _COUNT.fullmatch
    return np.fromiter(
        (fullmatch(v) is not None and v.strip("0") != "" for v in values),
        dtype=bool, count=len(values),
    )


def _is_not_empty(values: list[str]) -> np.ndarray:
    return np.fromiter((v != "" for v in values), dtype=bool, count=len(values))


def _describe_count(value: str) -> str:
    if _COUNT.fullmatch(value):
        return f"must be at least 1, got {value!r}"
    return f"is not a positive integer: {value!r}"


def _describe_cookie(value: str) -> str:
    if not value:
        return "is empty"
    if value in UNKNOWN_COOKIES:
        return f"is unknown ({value!r}): the row cannot be attributed to a visitor"
    return f"is not a number (digits only): {value!r}"


def _describe_page(value: str) -> str:
    if not value:
        return "is empty"
    return f"is not a 64-hex-digit page hash: {value!r} ({len(value)} characters)"


def _describe_type(value: str) -> str:
    return f"is not a known asset type: {value!r} (known: {', '.join(ASSET_TYPES)})"


#: Cookies of visitors the export could not identify (real exports write ``None``): such a row
#: cannot be attributed to anyone. The same set as the logs' unknown visitor and session ids.
UNKNOWN_COOKIES: frozenset[str] = UNKNOWN_IDS
_ZERO = re.compile(r"0+")

_PAGE_RULE = ColumnRule(PAGE, _matches(_PAGE), _describe_page)
_SUBMISSION_RULES = (
    ColumnRule(COOKIE, _matches(_DIGITS), _describe_cookie,
               skip_when=_is_one_of(UNKNOWN_COOKIES), skip_reason="cookie unknown (the visitor was not identified)"),
    ColumnRule(ASSET_TYPE, _is_one_of(ASSET_TYPES), _describe_type),
    _PAGE_RULE,
    ColumnRule(SUBMISSIONS, _is_positive_count, _describe_count,
               skip_when=_matches(_ZERO), skip_reason="form_submissions is 0 (nothing was submitted)"),
)
_MAPPING_RULES = (
    ColumnRule(UNIT, _is_not_empty, lambda _: "is empty"),
    _PAGE_RULE,
)


def read_submissions(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                     skipped: Skipped | None = None) -> pd.DataFrame:
    """Read ``submissions.csv`` exactly as exported; all rows valid or :class:`DataFormatError`.

    Returns the columns ``cookie`` (str, digits, as written), ``gated_asset_type`` (str, one of
    :data:`ASSET_TYPES`), ``page_url`` (str, 64 lowercase hex digits) and ``form_submissions``
    (int64, >= 1), one row per data line in file order. Repeated (cookie, page) rows are kept
    as they are: summing them is the interaction builder's job.

    Strict by default: a cookie ``None`` or a count of 0 is an error like any other. With
    ``skipped`` (an empty list or :class:`~ml.datasets.tables.SkippedRows`), such rows (nobody
    to attribute them to, nothing submitted) are left out instead and appended as
    ``(line, reason)``; malformed rows are still errors.
    """
    frame = read_table(path, _SUBMISSION_RULES, chunk_rows, skipped)
    frame[PAGE] = frame[PAGE].str.lower()
    frame[SUBMISSIONS] = frame[SUBMISSIONS].astype(np.int64)
    log.info("read %d submission rows from %s", len(frame), path)
    return frame


def read_bu_mapping(path: str | Path, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> pd.DataFrame:
    """Read ``bu_mapping.csv``; all rows valid or :class:`DataFormatError`.

    Returns ``business_unit`` (str, stripped, non-empty) and ``page_url`` (str, 64 lowercase
    hex digits). A page listed with several units gives several rows (one per unit); a line
    repeating an identical (unit, page) pair adds nothing and is dropped.
    """
    frame = read_table(path, _MAPPING_RULES, chunk_rows)
    frame[PAGE] = frame[PAGE].str.lower()
    frame = frame.drop_duplicates(ignore_index=True)
    log.info("read %d page/business-unit pairs from %s", len(frame), path)
    return frame

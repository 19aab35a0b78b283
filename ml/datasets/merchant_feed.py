"""Reader of merchant product feeds (DATA_FORMATS.md, section 6): a shop's own catalogue.

Three layouts of the same attributes (``id``, ``title``, ``price`` like ``15.00 USD`` ...):

- a headed table, tab-separated (Merchant Center's ``.tsv``/``.txt``) or comma-separated (a
  spreadsheet's ``.csv``), told apart by the header line (a tab in it: tab-separated);
- RSS 2.0 XML with the ``g:`` namespace (:mod:`ml.datasets.merchant_feed_xml`), chosen when the
  file starts with ``<`` (after a byte-order mark and blanks), whatever its name.

The quirks of real exports are accepted: a UTF-8 byte-order mark, CRLF line ends, quoted fields
holding tabs, commas or line breaks, headers written ``Image Link`` or ``g:image_link``,
``in stock`` with a space, unknown columns (ignored), a merchant id that is not a number (ids are
strings, kept verbatim). A table may carry a ``quantity`` (or ``stock``) column that Merchant
Center lacks.

All or nothing, like every reader here (:mod:`ml.datasets.tables`): every bad row is reported by
its physical line (the header is line 1; in XML the line where the ``<item>`` starts, and which
item it is) in one :class:`~ml.data.DataFormatError`, and nothing is returned unless the whole
file is valid. Pure: no web app, no database.
"""
from __future__ import annotations

import csv
import logging
from pathlib import Path

from ml.data.errors import DataFormatError
from ml.datasets.merchant_feed_values import KNOWN, REQUIRED, FeedItem, attribute_name, parse_item
from ml.datasets.merchant_feed_xml import read_xml_items

log = logging.getLogger(__name__)

TABLE, XML = "table", "xml"
Problems = list[tuple[int, str]]
Raw = tuple[int, str, dict[str, list[str]]]  # (line, where, raw values by attribute)

__all__ = ["FeedItem", "TABLE", "XML", "feed_layout", "read_feed"]


def feed_layout(path: str | Path) -> str:
    """``xml`` when the file's first character (after a BOM and blanks) is ``<``, else ``table``."""
    with Path(path).open("rb") as handle:
        head = handle.read(4096)
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return XML if head.startswith(b"<") else TABLE


def _header_problems(header: list[str]) -> Problems:
    names = [attribute_name(h) for h in header]
    problems: Problems = []
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if duplicated:
        problems.append((1, f"duplicated column(s): {', '.join(duplicated)}"))
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append((1, f"missing required column(s): {', '.join(missing)} (a feed's header names at "
                            f"least {', '.join(REQUIRED)})"))
    unknown = [h for h, n in zip(header, names) if n and n not in KNOWN]
    if unknown and not problems:
        log.info("ignoring unknown column(s) %s", ", ".join(unknown))
    return problems


def _read_table(path: Path, problems: Problems) -> list[Raw]:
    """The rows of a headed TSV/CSV as raw values; the header's and the rows' shape problems."""
    rows: list[Raw] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        first = handle.readline()
        handle.seek(0)  # back to the start: the decoder drops the byte-order mark again
        delimiter = "\t" if "\t" in first else ","
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, [])
            if not header or all(not name.strip() for name in header):
                problems.append((1, "the file is empty (no header)"))
                return []
            header_problems = _header_problems(header)
            if header_problems:
                problems.extend(header_problems)
                return []
            names = [attribute_name(h) for h in header]
            line = reader.line_num
            for record in reader:
                start, line = line + 1, reader.line_num
                if not record or all(not value.strip() for value in record):
                    continue  # blank line (or a row of empty cells from a spreadsheet)
                if len(record) != len(names):
                    problems.append((start, f"expected {len(names)} fields, found {len(record)}"
                                            + (" (a tab or comma inside a value must be quoted)"
                                               if len(record) > len(names) else "")))
                    continue
                raw: dict[str, list[str]] = {}
                for name, value in zip(names, record):
                    if name in KNOWN:
                        raw[name] = [value]
                rows.append((start, f"line {start}", raw))
        except csv.Error as error:
            problems.append((reader.line_num, f"CSV syntax: {error}"))
    return rows


def read_feed(path: str | Path, currency: str | None = None) -> list[FeedItem]:
    """Every product of the feed at ``path``, in file order, or :class:`DataFormatError`.

    ``currency``: the shop's ISO 4217 code; a price in another currency is a problem of its line
    (the shop does not convert). Ids must be unique in the file.
    """
    path = Path(path)
    problems: Problems = []
    try:
        raws = read_xml_items(path, problems) if feed_layout(path) == XML else _read_table(path, problems)
    except UnicodeDecodeError as error:
        raise DataFormatError(path, problems + [(0, f"is not UTF-8 text ({error.reason})")]) from None
    except OSError as error:
        raise DataFormatError(path, [(0, f"cannot be read: {error.strerror or error}")]) from None
    items: list[FeedItem] = []
    seen: dict[str, str] = {}
    for line, where, raw in raws:
        item, item_problems = parse_item(raw, line, where, currency)
        prefix = "" if where.startswith("line") else f"{where}: "
        problems.extend((line, prefix + message) for message in item_problems)
        if item is None:
            continue
        if item.id in seen:
            problems.append((line, f"{prefix}id {item.id!r} is repeated (first at {seen[item.id]})"))
            continue
        seen[item.id] = where
        items.append(item)
    if not problems and not items:
        problems.append((0, "holds no products"))
    if problems:
        raise DataFormatError(path, sorted(problems, key=lambda problem: problem[0]))
    return items

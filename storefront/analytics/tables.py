"""One shape for every dashboard chart: a titled table plus how to draw it.

The page's charts, its sortable tables and the CSV downloads are all rendered from the same
:class:`Table` objects, so a CSV always holds exactly the numbers the chart shows (the tests
check that). A :class:`Chart` only names columns; ``static/js/dashboard.js`` turns it into a
Chart.js configuration.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

TEXT, COUNT, MONEY, RATE = "text", "count", "money", "rate"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = COUNT  # text | count | money | rate (a fraction 0-1)
    on_page: bool = True  # False: in the CSV and the chart data, left out of the page's table


@dataclass(frozen=True)
class Chart:
    type: str  # bar | hbar | line | doughnut | meter (bars drawn in the table itself, no canvas)
    x: str  # the column with the labels
    series: tuple[str, ...]  # the columns with the values
    stacked: bool = False
    right: tuple[str, ...] = ()  # series drawn against a second y axis (small next to big)
    partial_last: bool = False  # the last x is still going on (today): drawn dashed, not as a drop


@dataclass(frozen=True)
class Table:
    key: str  # the URL slug: /admin/dashboard/<key>.csv
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    chart: Chart | None = None
    description: str = ""
    note: str | None = None  # shown instead of the chart when there is nothing to draw

    def column(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def page_columns(self) -> list[tuple[int, Column]]:
        """(index in the row, column) of the columns the page's table shows."""
        return [(i, c) for i, c in enumerate(self.columns) if c.on_page]

    @property
    def draws_canvas(self) -> bool:
        return self.chart is not None and self.chart.type != "meter"

    def meter_max(self, key: str) -> float:
        """The top of the scale for in-table bars of column ``key`` (its largest value)."""
        index = self.column(key)
        return max((float(row[index] or 0) for row in self.rows), default=0.0) or 1.0

    def as_json(self) -> dict[str, Any]:
        """What the page embeds for the chart script (numbers as numbers, money as floats)."""
        return {
            "key": self.key,
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [[json_value(v) for v in row] for row in self.rows],
            "chart": None if self.chart is None else {
                "type": self.chart.type, "x": self.chart.x, "series": list(self.chart.series),
                "stacked": self.chart.stacked, "right": list(self.chart.right),
                "partial_last": self.chart.partial_last,
            },
        }

    def csv_text(self) -> str:
        """The table as CSV: a header of column labels, then the rows, values unformatted
        (money as 1234.50, rates as fractions) so a spreadsheet can compute with them."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.label for c in self.columns])
        for row in self.rows:
            writer.writerow([csv_value(v) for v in row])
        return out.getvalue()


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_value(value: Any) -> str:
    """A cell as text; text that a spreadsheet would run as a formula (``=HYPERLINK(...)`` in a
    product name) gets a leading apostrophe, the usual CSV-injection guard."""
    if value is None:
        return ""
    if isinstance(value, float):  # rates: six decimals are plenty, and no 1e-05 notation
        return f"{value:.6f}".rstrip("0").rstrip(".")
    if isinstance(value, (int, Decimal)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` as a fraction, None (shown as a dash) when there is no whole."""
    return part / whole if whole else None

"""The dashboard's reporting period: whole UTC days, parsed from the query string.

A period is a pair of *inclusive* dates. Queries use the half-open interval
``[start 00:00, end + 1 day 00:00)`` on the naive-UTC timestamps, so an event at 23:59:59.999 of
the end date is in and one at 00:00:00 of the next day is out, with no fiddling with
"end of day" times or fractional seconds.

The comparison period is the one of equal length that ends the day before ``start``
(30 Oct - 28 Nov is compared with 30 Sep - 29 Oct).

By default the period is the last 30 days *ending at the newest event*, not at today: the demo
database is seeded once and ages, and a dashboard that opens on an empty month helps nobody.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: a longer range is more likely a typo than a question
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)


class PeriodError(ValueError):
    """A start or end date the dashboard cannot use; the message is shown to the admin as is."""


@dataclass(frozen=True)
class Period:
    start: date  # first day, included
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def end_before(self) -> datetime:
        """The exclusive upper bound: midnight at the start of the day after ``end``."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]

    def query_args(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def default_period(newest: datetime | date | None, today: date) -> Period:
    """The last ``DEFAULT_DAYS`` days ending on the day of ``newest`` (or ``today`` without data)."""
    if isinstance(newest, datetime):
        newest = newest.date()
    end = newest or today
    return Period(end - timedelta(days=DEFAULT_DAYS - 1), end)


def _parse_date(raw: str | None, label: str) -> date | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"The {label} date {text[:40]!r} is not a date; use YYYY-MM-DD, e.g. 2024-03-31.") from None
    if not EARLIEST <= value <= LATEST:
        raise PeriodError(f"The {label} date must be between {EARLIEST} and {LATEST}.")
    return value


def parse_period(start: str | None, end: str | None, fallback: Period) -> Period:
    """The period named by the ``start``/``end`` query arguments; a missing one comes from
    ``fallback`` (an empty ``end`` keeps the default end, an empty ``start`` counts back
    ``DEFAULT_DAYS`` days from the end). Raises :class:`PeriodError` with a readable message."""
    end_date = _parse_date(end, "end") or fallback.end
    start_date = _parse_date(start, "start")
    if start_date is None:
        start_date = max(end_date - timedelta(days=DEFAULT_DAYS - 1), EARLIEST)
    if start_date > end_date:
        raise PeriodError(f"The start date ({start_date}) is after the end date ({end_date}).")
    period = Period(start_date, end_date)
    if period.days > MAX_DAYS:
        raise PeriodError(f"The period is {period.days} days long; choose at most {MAX_DAYS} days.")
    if period.previous().start < EARLIEST:
        raise PeriodError(f"The comparison period would start before {EARLIEST}; choose a later start date.")
    return period

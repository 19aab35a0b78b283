"""``flask assets import``: the marketing export (DATA_FORMATS.md, section 3) into the shop.

Both files are read with the strict readers of ``ml.datasets.b2b`` first, so a bad line stops
the import before anything is written (the readers report every bad line by number). Then, in
the caller's transaction:

- assets by ``page_url`` (``Asset.external_id``), typed from the submissions (a page seen with
  several types takes its most frequent, like the recommender), titled after their type until
  someone writes a real title; pages missing from the mapping keep no business unit (unknown);
- business units by code, and the (asset, unit) links of the mapping (a page may be listed
  under several units), added to assets that already exist too;
- a visitor per cookie, token ``b2b-<cookie>`` (cookies are 38-digit strings, never numbers);
- one ``form_submission`` event per (cookie, page) whose ``properties`` are
  ``{"count": <submissions>, "source": "import"}``: strength = weight x count, as in the export.

Idempotent: the export is a cumulative snapshot ("how many times that visitor submitted that
page"), so for each (cookie, page) the import records only the part of the file's total not
recorded yet (by an earlier import, or by the demo seed of the same synthetic export). Re-running
a file adds nothing; a later export adds the new submissions. The export has no timestamps:
events are stamped with the import time.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import func, insert, select

from ml.data import DataFormatError
from ml.datasets.b2b import ASSET_TYPE, COOKIE, PAGE, SUBMISSIONS, UNIT, read_bu_mapping, read_submissions
from ml.datasets.tables import SkippedRows
from storefront.extensions import db
from storefront.models import (
    FORM_SUBMISSION, TYPE_LABELS, Asset, BusinessUnit, Event, Visitor, asset_business_units,
)
from storefront.models.common import utcnow

TOKEN_PREFIX = "b2b-"
SOURCE = "import"
EVENT_CHUNK = 20_000
_TOKEN_LENGTH = Visitor.__table__.c.token.type.length

Progress = Callable[[str, int], None]  # (stage, rows done in this call)


@dataclass
class ImportReport:
    rows: int = 0
    pairs: int = 0
    new_assets: int = 0
    new_assets_without_unit: int = 0
    new_units: int = 0
    new_links: int = 0
    new_visitors: int = 0
    events: int = 0
    submissions: int = 0
    up_to_date_pairs: int = 0
    unmatched_mapping_pages: int = 0
    repeated_pairs: int = 0  # (cookie, page) pairs written on several lines: their counts are added
    skipped: SkippedRows = field(default_factory=SkippedRows)  # rows left out, by reason and line
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        skipped = f" {self.skipped.describe()}." if self.skipped else ""
        repeated = (f" {self.repeated_pairs:,} visitor/asset pairs were on several lines (their counts added)."
                    if self.repeated_pairs else "")
        return (
            f"{self.rows:,} rows ({self.pairs:,} visitor/asset pairs): {self.events:,} form_submission "
            f"events for {self.submissions:,} submissions, {self.up_to_date_pairs:,} pairs already "
            f"imported; {self.new_assets:,} new assets ({self.new_assets_without_unit:,} without a "
            f"business unit), {self.new_units:,} new business units, {self.new_links:,} new unit "
            f"links, {self.new_visitors:,} new visitors; {self.unmatched_mapping_pages:,} mapped "
            f"pages have no asset (ignored).{skipped}{repeated}"
        )


def visitor_token(cookie: str) -> str:
    """``b2b-<cookie>``; a cookie too long for the column is replaced by its hash (stable)."""
    token = TOKEN_PREFIX + cookie
    if len(token) <= _TOKEN_LENGTH:
        return token
    return TOKEN_PREFIX + "h" + hashlib.sha256(cookie.encode()).hexdigest()[: _TOKEN_LENGTH - 5]


def _page_types(submissions: pd.DataFrame) -> dict[str, str]:
    counts = submissions.groupby([PAGE, ASSET_TYPE]).size().reset_index(name="n")
    counts = counts.sort_values([PAGE, "n", ASSET_TYPE], ascending=[True, False, True])
    return dict(counts.drop_duplicates(PAGE)[[PAGE, ASSET_TYPE]].itertuples(index=False, name=None))


def _ensure_units(mapping: pd.DataFrame, report: ImportReport) -> dict[str, int]:
    existing = dict(db.session.execute(select(BusinessUnit.code, BusinessUnit.id)).all())
    missing = sorted(set(mapping[UNIT]) - set(existing))
    if missing:
        db.session.execute(insert(BusinessUnit), [{"code": code, "name": code} for code in missing])
        existing = dict(db.session.execute(select(BusinessUnit.code, BusinessUnit.id)).all())
    report.new_units = len(missing)
    return existing


def _ensure_assets(types: dict[str, str], mapped: set[str], report: ImportReport) -> dict[str, int]:
    def known() -> dict[str, int]:
        query = select(Asset.external_id, Asset.id).where(Asset.external_id.is_not(None))
        return dict(db.session.execute(query).all())

    existing = known()
    now = utcnow()
    rows = [
        {"external_id": page, "type": kind, "title": f"{TYPE_LABELS.get(kind, kind)} {page[:8]}",
         "summary": "Imported from the marketing analytics export.", "body": "", "active": True,
         "created_at": now}
        for page, kind in sorted(types.items()) if page not in existing
    ]
    if rows:
        db.session.execute(insert(Asset), rows)
        existing = known()
    report.new_assets = len(rows)
    report.new_assets_without_unit = sum(1 for row in rows if row["external_id"] not in mapped)
    return existing


def _ensure_links(mapping: pd.DataFrame, assets: dict[str, int], units: dict[str, int],
                  report: ImportReport) -> None:
    wanted = {
        (assets[page], units[unit])
        for unit, page in mapping[[UNIT, PAGE]].itertuples(index=False, name=None) if page in assets
    }
    report.unmatched_mapping_pages = len(set(mapping[PAGE]) - set(assets))
    links = asset_business_units.c
    have = set(db.session.execute(select(links.asset_id, links.business_unit_id)).all())
    new = sorted(wanted - have)
    if new:
        db.session.execute(insert(asset_business_units), [{"asset_id": a, "business_unit_id": u} for a, u in new])
    report.new_links = len(new)


def _ensure_visitors(cookies: list[str], report: ImportReport) -> dict[str, int]:
    def known() -> dict[str, int]:
        query = select(Visitor.token, Visitor.id).where(Visitor.token.startswith(TOKEN_PREFIX))
        return dict(db.session.execute(query).all())

    existing = known()
    tokens = {cookie: visitor_token(cookie) for cookie in cookies}
    now = utcnow()
    rows = [{"token": t, "created_at": now} for t in sorted(set(tokens.values())) if t not in existing]
    if rows:
        db.session.execute(insert(Visitor.__table__), rows)
        existing = known()
    report.new_visitors = len(rows)
    return {cookie: existing[token] for cookie, token in tokens.items()}


def _imported_totals() -> dict[tuple[int, int], int]:
    """(visitor id, asset id) -> submissions already recorded for export cookies.

    Only ``b2b-`` visitors are export cookies (browsers get random tokens), so every one of
    their submissions came from an earlier import or the demo seed of the same synthetic export.
    """
    count = func.coalesce(Event.properties["count"].as_integer(), 1)
    query = (
        select(Event.visitor_id, Event.asset_id, func.sum(count))
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Event.type == FORM_SUBMISSION, Visitor.token.startswith(TOKEN_PREFIX))
        .group_by(Event.visitor_id, Event.asset_id)
    )
    return {(v, a): int(n) for v, a, n in db.session.execute(query)}


class ExportFormatError(ValueError):
    """One or both files are malformed; ``errors`` has each file's ``DataFormatError``."""

    def __init__(self, errors: list[DataFormatError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


def _read_both(submissions_path: str | Path, mapping_path: str | Path,
               skipped: SkippedRows | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both files, or :class:`ExportFormatError` naming the bad lines of *both* (one round of
    fixes, not two). ``skipped``: see ``read_submissions`` (None: strict)."""
    frames, errors = [], []
    readers = ((lambda path: read_submissions(path, skipped=skipped), submissions_path), (read_bu_mapping, mapping_path))
    for reader, path in readers:
        try:
            frames.append(reader(path))
        except DataFormatError as error:
            errors.append(error)
    if errors:
        raise ExportFormatError(errors)
    return frames[0], frames[1]


def import_export(submissions_path: str | Path, mapping_path: str | Path,
                  progress: Progress | None = None, *, strict: bool = False) -> ImportReport:
    """Import both files (see the module doc); flushes, the caller commits.

    Rows that cannot be attributed (cookie ``None`` or empty) or hold nothing (0 submissions)
    are skipped and listed by line in the report; ``strict`` makes them errors instead.
    Raises :class:`ExportFormatError` (files, line numbers, messages) before writing anything
    when either file is malformed.
    """
    progress = progress or (lambda stage, rows: None)
    progress("reading", 0)
    skipped = None if strict else SkippedRows()
    submissions, mapping = _read_both(submissions_path, mapping_path, skipped)
    report = ImportReport(rows=len(submissions), skipped=skipped or SkippedRows())
    grouped = submissions.groupby([COOKIE, PAGE], sort=True)[SUBMISSIONS]
    pairs = grouped.sum()
    report.pairs = len(pairs)
    report.repeated_pairs = int((grouped.size() > 1).sum())
    progress("assets", 0)
    units = _ensure_units(mapping, report)
    assets = _ensure_assets(_page_types(submissions), set(mapping[PAGE]), report)
    _ensure_links(mapping, assets, units, report)
    progress("visitors", 0)
    visitors = _ensure_visitors(sorted(set(submissions[COOKIE])), report)
    done = _imported_totals()
    now = utcnow()
    rows = []
    for (cookie, page), total in pairs.items():
        key = (visitors[cookie], assets[page])
        new = int(total) - done.get(key, 0)
        if new <= 0:
            report.up_to_date_pairs += 1
            continue
        rows.append({"visitor_id": key[0], "asset_id": key[1], "type": FORM_SUBMISSION, "occurred_at": now,
                     "session_id": "", "device": "unknown", "properties": {"count": new, "source": SOURCE}})
        report.submissions += new
    for start in range(0, len(rows), EVENT_CHUNK):
        chunk = rows[start:start + EVENT_CHUNK]
        db.session.execute(insert(Event.__table__), chunk)  # Core: no ORM bulk overhead
        progress("events", len(chunk))
    report.events = len(rows)
    db.session.flush()
    return report

"""Where sessions come from: the shop's events, a generic CSV, Retailrocket and YOOCHOOSE files.

Every source gives a :class:`SessionSource`: the :class:`~ml.sessions.data.SessionData` plus what
was read, how many rows got their session from the visitor (30 idle minutes,
:func:`~ml.sessions.data.sessionise`) and which rows were skipped because nobody could be named
(an id of ``None``, ``null``, ``NaN`` or empty: :data:`ml.datasets.tables.UNKNOWN_IDS`), listed
with their line numbers like the other readers do. A malformed file raises
:class:`~ml.data.DataFormatError` naming every bad line and returns nothing.

- :func:`sessions_from_frame`: one row per event with ``session_id`` (rows without one take a
  session cut from their ``user_id``), ``item_id`` and ``timestamp``: the shop's events.
- :func:`read_sessions_csv`: a header with ``item_id``, ``timestamp`` (Unix seconds or ISO 8601)
  and ``session_id`` or ``user_id`` (or both); optional ``event`` and ``weight`` (ignored). Ids
  are text (38-digit cookies keep every digit); a UTF-8 BOM, CRLF and quoted fields are fine.
- :func:`read_retailrocket_sessions`: ``events.csv``, the views (session-rec's choice) cut into
  sessions per visitor at 30 idle minutes.
- :func:`read_yoochoose_sessions`: ``yoochoose-clicks.dat``, whose rows carry their session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ml.data.csv_reader import parse_timestamp, read_columns
from ml.datasets.tables import UNKNOWN_IDS, SkippedRows
from ml.sessions.data import IDLE_MINUTES, ITEM_COL, SESSION_COL, TIME_COL, SessionData, sessionise

USER_COL, EVENT_COL, WEIGHT_COL = "user_id", "event", "weight"
#: The events that make a browsing session, as session-rec reads Retailrocket: the views.
SESSION_EVENT_TYPES: tuple[str, ...] = ("view",)
CSV_COLUMNS = (SESSION_COL, USER_COL, ITEM_COL, TIME_COL, EVENT_COL, WEIGHT_COL)


@dataclass
class SessionSource:
    data: SessionData
    source: str
    rows: int  # events used (after the event-type filter, before skipping)
    from_visitors: int = 0  # rows whose session was cut from the visitor's clicks
    skipped: SkippedRows = field(default_factory=SkippedRows)

    def summary(self) -> str:
        text = (f"{self.source}: {self.data.n_events:,} events, {self.data.n_sessions:,} sessions, "
                f"{self.data.n_items:,} items")
        if self.from_visitors:
            text += f"; {self.from_visitors:,} events sessionised from their visitor at {IDLE_MINUTES:g} idle minutes"
        if len(self.skipped):
            text += f"; {self.skipped.describe()}"
        return text


def _unknown(values: pd.Series) -> np.ndarray:
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.isin(UNKNOWN_IDS).to_numpy()


def sessions_from_frame(frame: pd.DataFrame, event_types: Sequence[str] | None = None,
                        idle_minutes: float = IDLE_MINUTES, source: str = "events",
                        line_numbers: np.ndarray | None = None) -> SessionSource:
    """Sessions from events with ``session_id`` and/or ``user_id``, ``item_id``, ``timestamp``
    (and ``event`` when ``event_types`` filters). A row without a session takes one cut from its
    user's session-less rows at ``idle_minutes``; a row with neither is skipped and listed by
    ``line_numbers`` (default: its position in the frame, from 1)."""
    lines = np.arange(1, len(frame) + 1) if line_numbers is None else np.asarray(line_numbers)
    if event_types is not None and EVENT_COL in frame.columns:
        chosen = frame[EVENT_COL].isin(list(event_types)).to_numpy()
        frame, lines = frame[chosen], lines[chosen]
    frame = frame.reset_index(drop=True)
    if SESSION_COL not in frame.columns and USER_COL not in frame.columns:
        raise ValueError("the events have neither a session_id nor a user_id column")
    no_session = _unknown(frame[SESSION_COL]) if SESSION_COL in frame.columns else np.ones(len(frame), bool)
    no_user = _unknown(frame[USER_COL]) if USER_COL in frame.columns else np.ones(len(frame), bool)
    sessions = pd.Series(frame[SESSION_COL].astype(str).to_numpy() if SESSION_COL in frame.columns
                         else np.full(len(frame), ""), dtype=object)
    by_user = no_session & ~no_user
    if by_user.any():
        cut = sessionise(frame.loc[by_user], USER_COL, TIME_COL, idle_minutes)
        sessions[by_user] = ("visitor " + cut.astype(str)).to_numpy()
    skipped = SkippedRows()
    orphan = no_session & no_user
    whom = " and ".join(c for c in (SESSION_COL, USER_COL) if c in frame.columns)
    reason = f"{whom} unknown (the row cannot be attributed to a session)"
    skipped.extend((int(n), reason) for n in lines[orphan])
    kept = frame.loc[~orphan, [ITEM_COL, TIME_COL]].assign(**{SESSION_COL: sessions[~orphan].to_numpy()})
    data = SessionData.from_frame(kept)
    return SessionSource(data, source, len(frame), int(by_user.sum()), skipped)


def _check_header(header: list[str]) -> list[tuple[int, str]]:
    problems = []
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        problems.append((1, f"duplicated column(s): {', '.join(duplicated)}"))
    missing = [name for name in (ITEM_COL, TIME_COL) if name not in header]
    if SESSION_COL not in header and USER_COL not in header:
        missing.append(f"{SESSION_COL} or {USER_COL}")
    if missing:
        problems.append((1, f"missing required column(s): {', '.join(missing)}"))
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        problems.append((1, f"unknown column(s): {', '.join(unknown)} (allowed: {', '.join(CSV_COLUMNS)})"))
    return problems


def _parse_row(values: dict[str, str]) -> tuple[dict[str, object], list[str]]:
    item = values[ITEM_COL]
    if item in UNKNOWN_IDS:
        return values, [f"item_id is {'empty' if not item else f'unknown ({item!r})'}"]
    try:
        return {**values, TIME_COL: parse_timestamp(values[TIME_COL])}, []
    except ValueError as error:
        return values, [f"timestamp {error}"]


def read_sessions_csv(path: str | Path, event_types: Sequence[str] | None = None,
                      idle_minutes: float = IDLE_MINUTES) -> SessionSource:
    """Sessions from a generic CSV (module doc). Every bad line (field count, empty or unknown
    item id, bad timestamp) is reported in one :class:`DataFormatError`; a row whose session (and
    user, when there is that column) is unknown is skipped and listed."""
    columns, lines = read_columns(path, _check_header, _parse_row)
    frame = pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()
                          if name != TIME_COL})
    frame[TIME_COL] = np.asarray(columns.get(TIME_COL, []), dtype=np.int64) / 1e6
    return sessions_from_frame(frame, event_types, idle_minutes, source=str(Path(path)),
                               line_numbers=np.asarray(lines, dtype=np.int64))


def _concat(chunks: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)


def read_retailrocket_sessions(path: str | Path, event_types: Sequence[str] | None = SESSION_EVENT_TYPES,
                               idle_minutes: float = IDLE_MINUTES) -> SessionSource:
    """``events.csv`` (:func:`ml.datasets.retailrocket.iter_events`): the events of
    ``event_types`` (the views by default; None: all), sessions cut per visitor at
    ``idle_minutes``; events of unknown visitors skipped and listed."""
    from ml.datasets.retailrocket import iter_events

    skipped = SkippedRows()
    chunks = []
    for chunk in iter_events(path, skipped=skipped):
        if event_types is not None:
            chunk = chunk[chunk["event"].isin(list(event_types))]
        chunks.append(pd.DataFrame({USER_COL: chunk["visitorid"].to_numpy(), ITEM_COL: chunk["itemid"].astype(str).to_numpy(),
                                    TIME_COL: chunk["timestamp"].to_numpy() / 1000.0}))
    frame = _concat(chunks, [USER_COL, ITEM_COL, TIME_COL])
    frame[SESSION_COL] = sessionise(frame, USER_COL, TIME_COL, idle_minutes).to_numpy() if len(frame) else []
    return SessionSource(SessionData.from_frame(frame), f"{path} (Retailrocket)", len(frame), len(frame), skipped)


def read_yoochoose_sessions(path: str | Path) -> SessionSource:
    """A YOOCHOOSE clicks file (:func:`ml.datasets.yoochoose.iter_clicks`): its sessions as they
    are; rows of an unknown session skipped and listed."""
    from ml.datasets.yoochoose import iter_clicks

    skipped = SkippedRows()
    chunks = [pd.DataFrame({SESSION_COL: c["session_id"].astype(str).to_numpy(),
                            ITEM_COL: c["item_id"].astype(str).to_numpy(),
                            TIME_COL: c["timestamp"].to_numpy().astype("datetime64[ms]").astype(np.int64) / 1000.0})
              for c in iter_clicks(path, skipped=skipped)]
    frame = _concat(chunks, [SESSION_COL, ITEM_COL, TIME_COL])
    return SessionSource(SessionData.from_frame(frame), f"{path} (YOOCHOOSE)", len(frame), 0, skipped)

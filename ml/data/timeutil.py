"""One interpretation of "a timestamp" for every module that reads event times.

Events reach ``ml`` with times as Unix seconds (numbers), ISO 8601 strings or pandas datetimes,
naive or zoned. Everything is normalised to timezone-aware UTC so that comparisons (splits,
decay ages) never mix naive and aware values or local and UTC clocks.
"""

from __future__ import annotations

import numbers
from datetime import datetime

import numpy as np
import pandas as pd


def to_utc_series(values: pd.Series) -> pd.Series:
    """Return ``values`` as ``datetime64[..., UTC]``.

    Numbers are Unix seconds; strings are ISO 8601; naive datetimes are taken to be UTC.
    Raises ``ValueError`` when a value cannot be read, rather than producing ``NaT`` silently.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        result = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        result = values.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
        values.dtype
    ):
        result = pd.to_datetime(values, unit="s", utc=True)
    else:
        result = pd.to_datetime(values, utc=True, format="ISO8601")
    if result.isna().any():
        raise ValueError("timestamps contain missing values")
    return result


def to_utc_timestamp(value: object) -> pd.Timestamp:
    """One point in time (number = Unix seconds, string = ISO 8601, datetime) as UTC."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return pd.Timestamp(float(value), unit="s", tz="UTC")
    if isinstance(value, (str, datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    raise TypeError(f"cannot interpret {value!r} as a timestamp")

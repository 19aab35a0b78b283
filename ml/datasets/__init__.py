"""Readers of external data formats (see DATA_FORMATS.md): files in, validated DataFrames out.

Each reader accepts the files exactly as they are published, reports every bad line with the
file name and line number in one :class:`~ml.data.DataFormatError`, and never returns partial
data. Turning the frames into interactions is left to the packages that model them.
"""

from ml.data.errors import DataFormatError
from ml.datasets.b2b import (
    ASSET_TYPES,
    BU_MAPPING_COLUMNS,
    SUBMISSIONS_COLUMNS,
    read_bu_mapping,
    read_submissions,
)

__all__ = [
    "ASSET_TYPES",
    "BU_MAPPING_COLUMNS",
    "DataFormatError",
    "SUBMISSIONS_COLUMNS",
    "read_bu_mapping",
    "read_submissions",
]

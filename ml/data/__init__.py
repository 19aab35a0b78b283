"""Data preparation: events -> id maps, weighted interaction matrices, splits, CSV input.

Everything a model needs before ``fit`` and everything evaluation needs before scoring, with no
knowledge of the web app: inputs are DataFrames with the column names of ``ml.constants``.
"""

from ml.data.csv_reader import read_interactions_csv
from ml.data.errors import DataFormatError
from ml.data.idmap import IdMap
from ml.data.interactions import build_interactions, confidence, decay_factors, event_weights
from ml.data.splits import leave_one_out, random_split, time_split

__all__ = [
    "DataFormatError",
    "IdMap",
    "build_interactions",
    "confidence",
    "decay_factors",
    "event_weights",
    "leave_one_out",
    "random_split",
    "read_interactions_csv",
    "time_split",
]

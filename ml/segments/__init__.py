"""Customer segments: RFM scores and named segments, k-means segments on spend shares + RFM,
Customer2Vec (Doc2Vec over purchase histories) neighbours for "customers like you also
bought", a 2-D map of the customers, and an offline comparison of the neighbourhoods.

Pure like the rest of :mod:`ml`: DataFrames in (see :mod:`ml.segments.frames`), arrays, plain
dicts and ``.npz``/``.json`` files out. gensim and scikit-learn are needed to train, not to
serve a loaded :class:`SegmentsResult`.
"""

from ml.segments.clusters import ClusterResult, kmeans_by_silhouette
from ml.segments.comparison import compare_neighbourhoods, time_cutoff
from ml.segments.customer2vec import Customer2VecModel, Customer2VecParams
from ml.segments.features import CustomerFeatures, build_features
from ml.segments.frames import frames_from_synth
from ml.segments.pipeline import SegmentsConfig, train_segments
from ml.segments.projection import Projection, project
from ml.segments.result import ALL_CUSTOMERS, SegmentsResult
from ml.segments.rfm import SEGMENTS, compute_rfm, quintile_scores, segment_sizes
from ml.segments.storage import load, save

__all__ = [
    "ALL_CUSTOMERS",
    "ClusterResult",
    "Customer2VecModel",
    "Customer2VecParams",
    "CustomerFeatures",
    "Projection",
    "SEGMENTS",
    "SegmentsConfig",
    "SegmentsResult",
    "build_features",
    "compare_neighbourhoods",
    "compute_rfm",
    "frames_from_synth",
    "kmeans_by_silhouette",
    "load",
    "project",
    "quintile_scores",
    "save",
    "segment_sizes",
    "time_cutoff",
    "train_segments",
]

"""Customer segments: RFM scores and named segments, k-means segments on spend shares + RFM,
Customer2Vec (Doc2Vec over purchase histories) neighbours for "customers like you also
bought", a 2-D map of the customers, and an offline comparison of the neighbourhoods.

Pure like the rest of :mod:`ml`: DataFrames in (see :mod:`ml.segments.frames`), arrays, plain
dicts and ``.npz``/``.json`` files out. gensim and scikit-learn are needed to train, not to
serve a loaded :class:`SegmentsResult`: names are imported on first use (PEP 562), so a web
worker that only loads and queries segments never imports scikit-learn or gensim.
"""

from importlib import import_module

_EXPORTS = {
    "ALL_CUSTOMERS": "ml.segments.result",
    "ClusterResult": "ml.segments.clusters",
    "Customer2VecModel": "ml.segments.customer2vec",
    "Customer2VecParams": "ml.segments.customer2vec",
    "CustomerFeatures": "ml.segments.features",
    "Projection": "ml.segments.projection",
    "SEGMENTS": "ml.segments.rfm",
    "SegmentsConfig": "ml.segments.pipeline",
    "SegmentsResult": "ml.segments.result",
    "build_features": "ml.segments.features",
    "compare_neighbourhoods": "ml.segments.comparison",
    "compute_rfm": "ml.segments.rfm",
    "frames_from_synth": "ml.segments.frames",
    "kmeans_by_silhouette": "ml.segments.clusters",
    "load": "ml.segments.storage",
    "project": "ml.segments.projection",
    "quintile_scores": "ml.segments.rfm",
    "save": "ml.segments.storage",
    "segment_sizes": "ml.segments.rfm",
    "time_cutoff": "ml.segments.comparison",
    "train_segments": "ml.segments.pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'ml.segments' has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value

"""Writing a :class:`SegmentsResult` to ``segments.npz`` + ``segments.json`` and reading it back.

Arrays only in the ``.npz`` (unicode arrays for ids, never object arrays), so loading uses
``allow_pickle=False``: artifacts are data, not code, as everywhere in :mod:`ml`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.segments.clusters import ClusterResult
from ml.segments.customer2vec import Customer2VecModel
from ml.segments.frames import CUSTOMER_COL
from ml.segments.projection import Projection
from ml.segments.result import SegmentsResult
from ml.segments.rfm import RFM_COLUMNS

__all__ = ["ARRAYS_FILE", "FORMAT", "META_FILE", "load", "save"]

ARRAYS_FILE = "segments.npz"
META_FILE = "segments.json"
FORMAT = 1
_RFM_DTYPES = {"recency_days": np.int64, "frequency": np.int64, "monetary": np.float64,
               "r_score": np.int8, "f_score": np.int8, "m_score": np.int8, "fm_score": np.int8}


def _cluster_arrays(prefix: str, clusters: ClusterResult) -> dict[str, np.ndarray]:
    return {f"{prefix}_labels": clusters.labels, f"{prefix}_centroids": clusters.centroids}


def _cluster_from(arrays: Any, prefix: str, meta: dict[str, Any]) -> ClusterResult:
    silhouettes = {int(k): float(v) for k, v in meta["silhouettes"].items()}
    return ClusterResult(int(meta["k"]), arrays[f"{prefix}_labels"], arrays[f"{prefix}_centroids"],
                         float(meta["silhouette"]), silhouettes)


def save(result: SegmentsResult, directory: str | Path) -> list[str]:
    """Write the two files into ``directory`` (which must exist); return their names, e.g. to
    list them in a manifest."""
    directory = Path(directory)
    arrays: dict[str, np.ndarray] = {
        "rfm_customer_ids": np.asarray(result.rfm.index).astype(str),
        **{f"rfm_{c}": result.rfm[c].to_numpy(dtype) for c, dtype in _RFM_DTYPES.items()},
        "rfm_segment": result.rfm["segment"].to_numpy().astype(str),
        **_cluster_arrays("feature", result.feature_clusters),
        **result.embeddings.to_arrays("c2v_"),
        **_cluster_arrays("embedding", result.embedding_clusters),
        "projection_xy": result.projection.xy,
        "item_ids": np.asarray(result.item_ids).astype(str),
        "purchases_indices": result.purchases.indices.astype(np.int32),
        "purchases_indptr": result.purchases.indptr.astype(np.int64),
        "purchases_shape": np.asarray(result.purchases.shape, dtype=np.int64),
    }
    names = sorted(result.best_sellers)
    arrays["best_segments"] = np.asarray(names, dtype=str)
    items = [np.asarray(result.best_sellers[s][0], dtype=np.int64) for s in names]
    counts = [np.asarray(result.best_sellers[s][1], dtype=np.float32) for s in names]
    arrays["best_offsets"] = np.cumsum([0] + [len(i) for i in items]).astype(np.int64)
    arrays["best_items"] = np.concatenate(items + [np.empty(0, dtype=np.int64)])
    arrays["best_counts"] = np.concatenate(counts + [np.empty(0, dtype=np.float32)])
    with open(directory / ARRAYS_FILE, "wb") as handle:
        np.savez(handle, **arrays)
    meta = {
        "format": FORMAT,
        "feature_columns": list(result.feature_columns),
        "customer2vec_params": result.embeddings.params.to_dict(),
        "projection_method": result.projection.method,
        **result.summary(),
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    return [ARRAYS_FILE, META_FILE]


def load(directory: str | Path) -> SegmentsResult:
    """Read a result written by :func:`save` (ValueError for an unknown format)."""
    directory = Path(directory)
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise ValueError(f"unsupported segments format {meta.get('format')!r}")
    with np.load(directory / ARRAYS_FILE, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    rfm = pd.DataFrame({c: arrays[f"rfm_{c}"] for c in RFM_COLUMNS},
                       index=pd.Index(arrays["rfm_customer_ids"], name=CUSTOMER_COL))
    rfm["segment"] = rfm["segment"].astype(str)
    indices = arrays["purchases_indices"]
    purchases = sp.csr_matrix(
        (np.ones(len(indices), dtype=np.float32), indices, arrays["purchases_indptr"]),
        shape=tuple(int(n) for n in arrays["purchases_shape"]),
    )
    offsets = arrays["best_offsets"]
    best = {str(s): (arrays["best_items"][offsets[i] : offsets[i + 1]],
                     arrays["best_counts"][offsets[i] : offsets[i + 1]])
            for i, s in enumerate(arrays["best_segments"])}
    embeddings = Customer2VecModel.from_arrays(arrays, meta["customer2vec_params"], "c2v_")
    return SegmentsResult(
        rfm=rfm,
        feature_columns=tuple(meta["feature_columns"]),
        feature_clusters=_cluster_from(arrays, "feature", meta["feature_clusters"]),
        embeddings=embeddings,
        embedding_clusters=_cluster_from(arrays, "embedding", meta["embedding_clusters"]),
        projection=Projection(
            embeddings.customer_ids, arrays["projection_xy"], meta["projection_method"]
        ),
        item_ids=arrays["item_ids"],
        purchases=purchases,
        best_sellers=best,
        comparison=meta["comparison"],
        reference_time=meta["reference_time"],
        config=meta["config"],
        timings=meta["timings"],
    )

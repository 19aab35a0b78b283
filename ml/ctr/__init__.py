"""Click-through-rate ranking: categorical features -> click probability (LR, FM, xDeepFM).

- :mod:`ml.ctr.encoding`: :class:`FeatureEncoder` (columns -> global feature indices, unknown
  values to a per-field slot 0) and numeric bucketing;
- :mod:`ml.ctr.metrics`: AUC, log loss, calibration (numpy);
- :mod:`ml.ctr.torch_models` / :mod:`ml.ctr.training`: the torch models and their training
  (imported lazily: nothing here imports torch at import time);
- :mod:`ml.ctr.scoring`: :class:`CtrScorer`, the numpy forward passes a web worker serves;
- :mod:`ml.ctr.compare`: the time-split comparison and the saved :class:`CtrRanker`.

Typical use::

    comparison = compare_ctr_models(frame, ["category", "price_bucket", ...], time_column="ts")
    print(format_table(comparison))
    files = comparison.save(version_dir)            # encoder + best model, .npz
    ranker = load_ranker(version_dir, files)        # in the web worker, numpy only
    p_click = ranker.score(candidates_frame)
"""

from ml.ctr.compare import (
    CtrComparison,
    CtrRanker,
    CtrResult,
    compare_ctr_models,
    format_table,
    load_ranker,
)
from ml.ctr.encoding import FeatureEncoder, bucketize, quantile_edges
from ml.ctr.metrics import auc, calibration, log_loss
from ml.ctr.scoring import KINDS, CtrScorer
from ml.ctr.training import CtrTrainConfig, TrainedCtrModel, train_ctr_model

__all__ = [
    "KINDS",
    "CtrComparison",
    "CtrRanker",
    "CtrResult",
    "CtrScorer",
    "CtrTrainConfig",
    "FeatureEncoder",
    "TrainedCtrModel",
    "auc",
    "bucketize",
    "calibration",
    "compare_ctr_models",
    "format_table",
    "load_ranker",
    "log_loss",
    "quantile_edges",
    "train_ctr_model",
]

"""LR vs FM vs xDeepFM on one click table, split by time, and the ranker the shop serves.

:func:`compare_ctr_models` splits the rows by time (the latest ``test_fraction`` are the test
set, the latest ``valid_fraction`` of the rest the validation set used for early stopping), fits
the :class:`~ml.ctr.encoding.FeatureEncoder` on the remaining training rows only (values first
seen later are "unknown", as they would be in production), trains every kind and scores the
test rows with the numpy scorers (what serving runs). :class:`CtrComparison` holds the numbers
and the scorers; ``save`` writes the encoder and one scorer as ``.npz`` files that
:func:`load_ranker` turns back into a :class:`CtrRanker` (encode + numpy predict, no torch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ml.ctr.encoding import FeatureEncoder
from ml.ctr.metrics import auc, calibration, log_loss
from ml.ctr.scoring import PARAMS_KEY, CtrScorer
from ml.ctr.training import CtrTrainConfig, train_ctr_model


@dataclass
class CtrResult:
    """One model's test-set numbers and its numpy scorer."""

    kind: str
    auc: float
    log_loss: float
    calibration: list[dict]
    train_seconds: float
    epochs: int
    stopped: str
    n_train: int
    n_test: int
    scorer: CtrScorer
    valid_log_loss: float | None = None

    def row(self) -> dict:
        """JSON-ready summary (no scorer)."""
        return {
            "model": self.kind, "auc": round(self.auc, 6), "log_loss": round(self.log_loss, 6),
            "valid_log_loss": self.valid_log_loss, "train_seconds": round(self.train_seconds, 3),
            "epochs": self.epochs, "stopped": self.stopped, "n_train": self.n_train,
            "n_test": self.n_test, "calibration": self.calibration,
        }


@dataclass
class CtrComparison:
    encoder: FeatureEncoder
    results: dict[str, CtrResult]
    base_rate: float  # click rate of the training rows
    base_log_loss: float  # test log loss of always predicting base_rate
    feature_columns: list[str] = field(default_factory=list)
    label_column: str = "label"

    def beats_lr(self, kind: str = "xdeepfm") -> bool:
        """Whether ``kind`` has a strictly higher test AUC than logistic regression."""
        if "lr" not in self.results or kind not in self.results:
            raise KeyError(
                f"the comparison needs both 'lr' and {kind!r} (has {sorted(self.results)})"
            )
        return self.results[kind].auc > self.results["lr"].auc

    @property
    def best_kind(self) -> str:
        """The kind with the highest test AUC (the first one trained on a tie)."""
        return max(self.results.values(), key=lambda r: r.auc).kind

    def table(self) -> list[dict]:
        return [result.row() for result in self.results.values()]

    def save(
        self, directory: str | Path, prefix: str = "ctr", kind: str | None = None
    ) -> list[str]:
        """Write ``{prefix}_encoder.npz`` and ``{prefix}_{kind}.npz`` (the best kind by default)
        into ``directory``; return the two file names (for a manifest and :func:`load_ranker`)."""
        kind = kind or self.best_kind
        if kind not in self.results:
            raise KeyError(f"no {kind!r} model in this comparison (has {sorted(self.results)})")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        names = [f"{prefix}_encoder.npz", f"{prefix}_{kind}.npz"]
        self.encoder.save(directory / names[0])
        self.results[kind].scorer.save(directory / names[1])
        return names


class CtrRanker:
    """Encoder + numpy scorer: click probabilities of a feature DataFrame."""

    def __init__(self, encoder: FeatureEncoder, scorer: CtrScorer) -> None:
        n_fields = scorer.params.get("n_fields")
        if n_fields is not None and int(n_fields) != encoder.n_fields:
            raise ValueError(
                f"the scorer expects {n_fields} fields, the encoder has {encoder.n_fields}"
            )
        if scorer.n_features != encoder.n_features:
            raise ValueError(
                f"the scorer has {scorer.n_features} features, the encoder {encoder.n_features}"
            )
        self.encoder, self.scorer = encoder, scorer

    @property
    def kind(self) -> str:
        return self.scorer.kind

    def score(self, frame: pd.DataFrame) -> np.ndarray:
        """Click probability of every row (needs the encoder's ``fields`` as columns)."""
        return self.scorer.predict(self.encoder.transform(frame))

    def score_codes(self, codes: np.ndarray) -> np.ndarray:
        """Click probability of rows already encoded (``(rows, n_fields)`` global indices in the
        encoder's field order, as ``encoder.transform`` or ``encoder.field_codes`` give them)."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.encoder.n_fields:
            raise ValueError(f"codes must have shape (rows, {self.encoder.n_fields}), got {codes.shape}")
        return self.scorer.predict(codes)


def load_ranker(directory: str | Path, files: Sequence[str]) -> CtrRanker:
    """The ranker from the files :meth:`CtrComparison.save` wrote (told apart by content)."""
    encoder = scorer = None
    for name in files:
        path = Path(directory) / name
        with np.load(path, allow_pickle=False) as data:
            is_scorer = PARAMS_KEY in data.files
        if is_scorer:
            scorer = CtrScorer.load(path)
        else:
            encoder = FeatureEncoder.load(path)
    if encoder is None or scorer is None:
        raise ValueError(f"{list(files)} must name one encoder and one model file")
    return CtrRanker(encoder, scorer)


def time_split(
    frame: pd.DataFrame, time_column: str | None, test_fraction: float, valid_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row positions of (fit, validation, test): by ``time_column`` (stable), else row order."""
    if not 0 < test_fraction < 1 or not 0 <= valid_fraction < 1:
        raise ValueError("test_fraction must be in (0, 1) and valid_fraction in [0, 1)")
    n = len(frame)
    if time_column is None:
        order = np.arange(n)
    else:
        order = np.argsort(frame[time_column].to_numpy(), kind="stable")
    n_test = max(1, int(round(n * test_fraction)))
    n_rest = n - n_test
    n_valid = int(round(n_rest * valid_fraction))
    if n_rest - n_valid < 1:
        raise ValueError(f"too few rows ({n}) for the split")
    return order[: n_rest - n_valid], order[n_rest - n_valid : n_rest], order[n_rest:]


def compare_ctr_models(
    frame: pd.DataFrame,
    feature_columns: Sequence[str],
    label_column: str = "label",
    time_column: str | None = None,
    kinds: Sequence[str] = ("lr", "fm", "xdeepfm"),
    config: CtrTrainConfig = CtrTrainConfig(),
    test_fraction: float = 0.2,
    valid_fraction: float = 0.1,
    min_count: int = 2,
    progress: bool | Callable[[dict], None] = False,
) -> CtrComparison:
    """Train ``kinds`` on the earlier rows and compare them on the latest (module doc).

    Labels must be 0/1, and the test rows must hold both clicks and non-clicks (AUC).
    """
    missing = [c for c in (*feature_columns, label_column) if c not in frame.columns]
    if missing:
        raise KeyError(f"the frame lacks the column(s) {missing}")
    labels = pd.to_numeric(frame[label_column], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"{label_column} must contain only 0 and 1")
    fit, valid, test = time_split(frame, time_column, test_fraction, valid_fraction)
    encoder = FeatureEncoder(list(feature_columns), min_count=min_count).fit(frame.iloc[fit])
    x = encoder.transform(frame)
    y = labels.astype(np.float32)
    y_test = y[test]
    if y_test.min() == y_test.max():
        raise ValueError("the test rows hold only one class: AUC is undefined (more data needed)")
    base_rate = float(y[fit].mean())
    results: dict[str, CtrResult] = {}
    for kind in kinds:
        trained = train_ctr_model(
            kind, x[fit], y[fit], x[valid], y[valid], encoder.n_features, config, progress
        )
        scorer = trained.scorer()
        p = scorer.predict(x[test])
        results[kind] = CtrResult(
            kind=kind, auc=auc(y_test, p), log_loss=log_loss(y_test, p),
            calibration=calibration(y_test, p), train_seconds=trained.seconds,
            epochs=trained.epochs, stopped=trained.stopped, n_train=len(fit), n_test=len(test),
            scorer=scorer, valid_log_loss=trained.valid_log_loss,
        )
    base = log_loss(y_test, np.full(len(test), min(max(base_rate, 1e-7), 1 - 1e-7)))
    return CtrComparison(
        encoder=encoder, results=results, base_rate=base_rate, base_log_loss=base,
        feature_columns=list(feature_columns), label_column=label_column,
    )


def format_table(comparison: CtrComparison) -> str:
    """A plain aligned text table: model, AUC, log loss, train s, epochs, stopped."""
    header = ("model", "AUC", "log loss", "train s", "epochs", "stopped")
    rows = [
        (r.kind, f"{r.auc:.4f}", f"{r.log_loss:.4f}", f"{r.train_seconds:.1f}", str(r.epochs),
         r.stopped)
        for r in comparison.results.values()
    ]
    rows.append(("base rate", "0.5000", f"{comparison.base_log_loss:.4f}", "-", "-", "-"))
    widths = [max(len(row[k]) for row in (header, *rows)) for k in range(len(header))]
    lines = ["  ".join(cell.ljust(w) if k in (0, 5) else cell.rjust(w)
                       for k, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in (header, *rows)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)

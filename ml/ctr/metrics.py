"""Click-prediction metrics as pure numpy functions: ``metric(y_true, p)``.

- ``y_true``: 0/1 labels (anything else is refused);
- ``p``: predicted click probabilities in [0, 1], aligned with ``y_true``.

:func:`auc` is the ranking quality (0.5 = random, 1 = every click ranked above every
non-click), :func:`log_loss` the probability quality (lower is better; the log loss of always
predicting the base rate is the natural baseline), :func:`calibration` the reliability table.
"""

from __future__ import annotations

import numpy as np


def _check(y_true, p) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    scores = np.asarray(p, dtype=np.float64).ravel()
    if y.shape != scores.shape:
        raise ValueError(f"y_true has {y.size} values but p has {scores.size}")
    if y.size == 0:
        raise ValueError("no predictions to evaluate (empty input)")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y_true must contain only 0 and 1")
    if not np.all(np.isfinite(scores)):
        raise ValueError("p contains NaN or infinite values")
    return y, scores


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values``; tied values all get the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
    ends = np.concatenate([starts[1:], [len(values)]])
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1 .. end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def auc(y_true, p) -> float:
    """Area under the ROC curve (Mann-Whitney U / (n_pos n_neg)), ties counted as 1/2.

    Raises ``ValueError`` when ``y_true`` holds a single class: AUC is then undefined.
    """
    y, scores = _check(y_true, p)
    n_pos = float(y.sum())
    n_neg = float(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        only = "clicks (1)" if n_neg == 0 else "non-clicks (0)"
        raise ValueError(
            f"AUC is undefined when y_true holds only one class: all {y.size} labels are {only}"
        )
    ranks = average_ranks(scores)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def log_loss(y_true, p, eps: float = 1e-7) -> float:
    """Mean binary cross-entropy, ``p`` clipped to ``[eps, 1 - eps]`` (natural log)."""
    y, scores = _check(y_true, p)
    scores = np.clip(scores, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(scores) + (1.0 - y) * np.log1p(-scores)))


def calibration(y_true, p, n_bins: int = 10) -> list[dict]:
    """Reliability table over quantile bins of ``p`` (so every bin holds data).

    Rows are sorted by ``p`` and cut into ``min(n_bins, n)`` nearly equal groups; each bin
    reports ``predicted`` (mean p), ``observed`` (click rate) and ``count``. Counts sum to n.
    A well-calibrated model has ``predicted`` close to ``observed`` in every bin.
    """
    if int(n_bins) < 1:
        raise ValueError("n_bins must be >= 1")
    y, scores = _check(y_true, p)
    order = np.argsort(scores, kind="mergesort")
    rows = []
    for part in np.array_split(order, min(int(n_bins), y.size)):
        rows.append({
            "predicted": float(scores[part].mean()),
            "observed": float(y[part].mean()),
            "count": int(part.size),
        })
    return rows

"""Is one model better than another on this holdout, beyond the noise? A paired bootstrap.

Both models are scored on the same users (``ml.evaluation.evaluate_model(per_user=...)``), so
the question is about the per-user differences: resample the users with replacement, take the
mean difference each time, and read the 2.5th and 97.5th percentiles. An interval above zero
says the first model is better on users like these; one that straddles zero says this holdout
cannot tell them apart, however the point estimates compare.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
_CHUNK = 100  # resamples drawn at once (bounds memory on a holdout of many users)


@dataclass(frozen=True)
class Difference:
    """Mean of ``a - b`` over the users, and its 95% bootstrap interval."""

    mean: float
    low: float
    high: float
    users: int

    @property
    def better(self) -> bool:
        """``a`` beats ``b`` beyond the interval."""
        return self.low > 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"mean": self.mean, "low": self.low, "high": self.high, "users": self.users}

    def describe(self) -> str:
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}]"


def paired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = RESAMPLES, seed: int = 0) -> Difference:
    """The mean per-user difference ``a - b`` with its 95% percentile-bootstrap interval."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the two models were scored on different users ({a.shape} vs {b.shape})")
    if a.size == 0:
        return Difference(0.0, 0.0, 0.0, 0)
    diff = a - b
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):
        stop = min(start + _CHUNK, resamples)
        means[start:stop] = diff[rng.integers(0, diff.size, size=(stop - start, diff.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Difference(float(diff.mean()), float(low), float(high), int(diff.size))

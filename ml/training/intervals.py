"""95% intervals on the difference between two independent groups (B - A), e.g. the two arms
of an online A/B test.

``ml.training.significance`` compares two models on the *same* users (paired); an online test
shows each shopper one arm only, so its groups are independent and the textbook large-sample
intervals apply:

- a rate (clicked impressions / impressions): the two-proportion normal (Wald) interval,
  ``(pB - pA) +- z * sqrt(pA(1 - pA)/nA + pB(1 - pB)/nB)``;
- a mean of a skewed amount (revenue per impression, mostly zeros): Welch's interval, with the
  Welch-Satterthwaite degrees of freedom. It needs only each group's count, sum and sum of
  squares, so a database can aggregate them and no row has to leave it.

An interval above zero says B is better beyond the noise; one that straddles zero says the
data cannot tell the two apart yet. Both are approximations that want enough events per group;
callers hold the figures back below a minimum sample.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """``difference`` = B - A, with its interval (``low``, ``high``); NaN when undefined."""

    difference: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def as_dict(self) -> dict[str, float]:
        return {"difference": self.difference, "low": self.low, "high": self.high}


_UNDEFINED = Interval(math.nan, math.nan, math.nan)


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def two_proportions(successes_a: int, n_a: int, successes_b: int, n_b: int,
                    confidence: float = CONFIDENCE) -> Interval:
    """Interval on ``successes_b / n_b - successes_a / n_a`` (normal approximation)."""
    if n_a <= 0 or n_b <= 0:
        return _UNDEFINED
    p_a, p_b = successes_a / n_a, successes_b / n_b
    half = _z(confidence) * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return Interval(p_b - p_a, p_b - p_a - half, p_b - p_a + half)


@dataclass(frozen=True)
class Moments:
    """A group's count, sum and sum of squares: enough for its mean and sample variance."""

    n: int
    total: float
    total_squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def variance(self) -> float:
        """The sample variance (n - 1); clipped at 0 against rounding."""
        if self.n < 2:
            return math.nan
        return max((self.total_squares - self.total * self.total / self.n) / (self.n - 1), 0.0)


def welch(a: Moments, b: Moments, confidence: float = CONFIDENCE) -> Interval:
    """Interval on ``mean(b) - mean(a)`` without assuming equal variances (Welch's t)."""
    if a.n < 2 or b.n < 2:
        return _UNDEFINED
    difference = b.mean - a.mean
    va, vb = a.variance / a.n, b.variance / b.n
    se = math.sqrt(va + vb)
    if se == 0.0:  # both groups constant: no spread to be unsure about
        return Interval(difference, difference, difference)
    dof = (va + vb) ** 2 / (va * va / (a.n - 1) + vb * vb / (b.n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return Interval(difference, difference - half, difference + half)

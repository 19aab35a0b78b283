"""The A/B intervals against hand computations (and scipy's Welch test on the same numbers)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ml.training.intervals import Moments, two_proportions, welch


def test_two_proportions_by_hand():
    # champion 30 of 1,000 impressions clicked, challenger 45 of 1,000:
    # d = 0.045 - 0.030 = 0.015; se = sqrt(0.03 * 0.97 / 1000 + 0.045 * 0.955 / 1000)
    #   = sqrt(0.0000291 + 0.000042975) = sqrt(0.000072075) = 0.0084897; 1.959964 * se = 0.0166395
    interval = two_proportions(30, 1000, 45, 1000)
    assert interval.difference == pytest.approx(0.015)
    assert interval.low == pytest.approx(0.015 - 0.0166395, abs=1e-6)
    assert interval.high == pytest.approx(0.015 + 0.0166395, abs=1e-6)
    assert not interval.excludes_zero  # 1.5 points with these counts: not shown apart


def test_a_clear_difference_excludes_zero_and_the_sign_is_challenger_minus_champion():
    better = two_proportions(100, 10_000, 300, 10_000)
    assert better.low > 0 and better.excludes_zero
    worse = two_proportions(300, 10_000, 100, 10_000)
    assert worse.high < 0 and worse.excludes_zero
    assert worse.difference == pytest.approx(-better.difference)


def test_welch_from_sums_by_hand():
    champion, challenger = [0, 0, 10, 20], [5, 5, 5, 25, 10]
    a = Moments(4, sum(champion), sum(v * v for v in champion))
    b = Moments(5, sum(challenger), sum(v * v for v in challenger))
    assert (a.mean, a.variance) == pytest.approx((7.5, 275 / 3))  # deviations 7.5, 7.5, 2.5, 12.5
    assert (b.mean, b.variance) == pytest.approx((10.0, 75.0))  # deviations 5, 5, 5, 15, 0
    va, vb = (275 / 3) / 4, 75 / 5
    dof = (va + vb) ** 2 / (va**2 / 3 + vb**2 / 4)
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    interval = welch(a, b)
    assert interval.difference == pytest.approx(2.5)
    assert (interval.low, interval.high) == pytest.approx((2.5 - half, 2.5 + half))
    reference = stats.ttest_ind(challenger, champion, equal_var=False).confidence_interval()
    assert (interval.low, interval.high) == pytest.approx((reference.low, reference.high))


def test_revenue_per_impression_mostly_zeros():
    rng = np.random.default_rng(3)
    champion = np.where(rng.random(5000) < 0.02, rng.gamma(2.0, 20.0, 5000), 0.0)
    challenger = np.where(rng.random(5000) < 0.04, rng.gamma(2.0, 20.0, 5000), 0.0)
    interval = welch(Moments(5000, champion.sum(), (champion**2).sum()),
                     Moments(5000, challenger.sum(), (challenger**2).sum()))
    assert interval.difference == pytest.approx(challenger.mean() - champion.mean())
    assert interval.low > 0  # twice the buyers: shown apart at this size


def test_undefined_without_data():
    assert math.isnan(two_proportions(0, 0, 1, 10).difference)
    assert math.isnan(welch(Moments(1, 5.0, 25.0), Moments(10, 1.0, 1.0)).low)
    constant = welch(Moments(10, 0.0, 0.0), Moments(10, 0.0, 0.0))
    assert (constant.difference, constant.low, constant.high) == (0.0, 0.0, 0.0)

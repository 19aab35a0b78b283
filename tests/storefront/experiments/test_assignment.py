"""Assignment to an arm: stable per shopper and experiment, the configured share, no bots."""
from __future__ import annotations

import pytest

from storefront.experiments.assignment import arm_of, assignment_key, bucket
from storefront.models.experiments import CHALLENGER, CHAMPION
from storefront.tracking.visitors import RequestContext


@pytest.mark.parametrize("share", [0.5, 0.1, 0.9])
def test_ten_thousand_visitors_split_within_a_tolerance_of_the_share(share):
    arms = [arm_of(f"visitor:{n:032x}", 7, share) for n in range(10_000)]
    challengers = arms.count(CHALLENGER) / len(arms)
    # the binomial standard deviation at n = 10,000 is at most 0.005: 4 of them
    assert abs(challengers - share) < 0.02, challengers


def test_the_same_shopper_always_gets_the_same_arm_and_experiments_split_independently():
    keys = [f"visitor:{n:032x}" for n in range(2_000)]
    first = [arm_of(key, 1, 0.5) for key in keys]
    assert first == [arm_of(key, 1, 0.5) for key in keys]  # stable (sha256, not per-process hash)
    assert bucket("customer:42", 3) == bucket("customer:42", 3)
    other = [arm_of(key, 2, 0.5) for key in keys]
    agree = sum(a == b for a, b in zip(first, other)) / len(keys)
    assert 0.45 < agree < 0.55  # another experiment: a new, independent split


def test_a_larger_share_only_moves_shoppers_towards_the_challenger():
    keys = [f"visitor:{n:032x}" for n in range(1_000)]
    small = {key for key in keys if arm_of(key, 5, 0.2) == CHALLENGER}
    large = {key for key in keys if arm_of(key, 5, 0.6) == CHALLENGER}
    assert small <= large


def test_the_key_is_the_customer_when_logged_in_else_the_browser_and_none_for_bots():
    browser = RequestContext(visitor_token="t" * 32, customer_id=None)
    assert assignment_key(browser) == "visitor:" + "t" * 32
    # a customer keeps their arm on any device: the customer id, whatever the cookie
    assert assignment_key(RequestContext(visitor_token="a" * 32, customer_id=9)) == "customer:9"
    assert assignment_key(RequestContext(visitor_token="b" * 32, customer_id=9)) == "customer:9"
    assert assignment_key(RequestContext(visitor_token="t" * 32, customer_id=None, device="bot")) is None
    assert assignment_key(RequestContext.offline()) is None
    assert arm_of("customer:9", 1, 0.0) == CHAMPION and arm_of("customer:9", 1, 1.0) == CHALLENGER

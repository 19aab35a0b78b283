"""The poisoning probe of issue 21, end to end: scripted sessions pushing a cold product, then the
refresh and retrain of an hourly run. With the shop's default limits and screening the product
enters neither its category's top 10 nor "Trending in <category>".

(Before this capability 80 sessions took a product with popularity 0 to #1 of its category and of
"Trending in"; ``bench/poisoning.py`` measures how many it takes before and after.)
"""
from __future__ import annotations

import pytest

from storefront import create_app
from storefront.config import Config
from tests.storefront.support.poisoning import attack, organic_shop, popularity_of, refresh_and_retrain, standing

pytestmark = pytest.mark.slow


@pytest.fixture
def defended(app_config, app):
    """The production defaults of the limits (the testing config turns them off)."""
    settings = {key: getattr(Config, key) for key in ("TRACKING_LIMITS_ENABLED", "TRACKING_VISITOR_LIMIT",
                                                      "TRACKING_ADDRESS_LIMIT", "NEW_VISITOR_LIMIT")}
    return create_app({**app_config, **settings, "TRAINING_TIME_BUDGET_SECONDS": 1, "CTR_ENABLED": False})


@pytest.mark.parametrize(("sessions", "addresses"), [(80, 1), (300, 1), (3, 1), (80, 5), (10, 5), (5, 5)],
                         ids=["80-from-one", "300-from-one", "3-from-one", "80-from-five", "10-from-five", "5-from-five"])
def test_scripted_sessions_do_not_put_a_cold_product_in_its_categorys_top_10(defended, sessions, addresses):
    shop = organic_shop(defended)
    refresh_and_retrain(defended)
    before = standing(defended, shop)
    assert not before.in_category_top10 and not before.in_trending_in_category

    attack(defended, shop.target, sessions, addresses)
    refresh_and_retrain(defended)
    after = standing(defended, shop)
    assert not after.in_category_top10, (after, popularity_of(defended, shop.target))
    assert not after.in_trending_in_category, after


def test_without_the_defences_the_same_probe_wins(app_config, app):
    """The control: limits and screening off, 200 sessions from one address take the product
    into its category's top 10 and into "Trending in" (with per-visitor counting alone, 80 no
    longer do: bench/poisoning.py has the numbers)."""
    open_shop = create_app({**app_config, "TRACKING_LIMITS_ENABLED": False, "SCREEN_COHORT_MIN_VISITORS": 10**6,
                            "SCREEN_MAX_ACTIONS_PER_MINUTE": 10**6, "TRAINING_TIME_BUDGET_SECONDS": 1,
                            "CTR_ENABLED": False})
    shop = organic_shop(open_shop)
    attack(open_shop, shop.target, 200, 1)
    refresh_and_retrain(open_shop)
    after = standing(open_shop, shop)
    assert after.in_category_top10 and after.in_trending_in_category, after

"""The simulated click logs (ml.synth.clicks): sizes, rates, determinism, and the planted effects
a click-through ranker is supposed to find (including the ones a linear model cannot)."""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from ml.synth.shop import SynthConfig, generate_shop
from ml.synth.campaigns import OFFER_KINDS
from ml.synth.clicks import BANNER, WIDGETS, ClickSimConfig, demo_campaigns, exposures, simulate_impressions

CONFIG = SynthConfig(seed=5, n_products=400, n_categories=14, n_customers=500, n_anonymous=300, days=90,
                     target_events=70_000, end=datetime(2026, 3, 1))


@pytest.fixture(scope="module")
def shop():
    return generate_shop(CONFIG)


@pytest.fixture(scope="module")
def campaigns(shop):
    return demo_campaigns(shop, seed=5)


@pytest.fixture(scope="module")
def logs(shop, campaigns):
    return simulate_impressions(shop, campaigns, ClickSimConfig(seed=5))


@pytest.fixture(scope="module")
def shown(shop, logs):
    """Every shown item or banner with its click flag and the shopper's latent traits."""
    rows = exposures(*logs)
    shoppers = shop.shoppers.set_index("shopper_key")
    rows["price_level"] = rows["shopper_key"].map(shoppers["price_level"])
    rows["hour"] = pd.DatetimeIndex(rows["created_at"]).hour
    return rows


def _ctr(rows: pd.DataFrame) -> float:
    assert len(rows) > 200, "too few rows for a rate"
    return float(rows["clicked"].mean())


def test_demo_campaigns_cover_targets_offer_kinds_and_dates(shop, campaigns):
    assert 10 <= len(campaigns) <= 12
    assert campaigns["name"].is_unique and campaigns["campaign_key"].is_unique
    has_category, has_brand = campaigns["target_category_key"].notna(), campaigns["target_brand"].notna()
    assert (has_category ^ has_brand).all()
    assert has_brand.sum() >= 2 and has_category.sum() >= 6
    assert set(campaigns["offer_kind"]) == set(OFFER_KINDS)
    assert (campaigns["ends_at"] > campaigns["starts_at"]).all()
    end = shop.events["occurred_at"].max()
    assert (campaigns["ends_at"] < end).sum() == 2  # ended inside the window
    assert (campaigns["starts_at"] > end).sum() == 1  # scheduled
    assert (~campaigns["is_active"]).sum() == 1
    assert set(campaigns["target_category_key"].dropna()) <= set(shop.categories["key"])
    pd.testing.assert_frame_equal(demo_campaigns(shop, seed=5), campaigns)


def test_sizes_scale_with_the_sessions(shop, logs):
    impressions, clicks = logs
    sessions = shop.events["session_key"].nunique()
    widgets = impressions[impressions["widget"] != BANNER]
    banners = impressions[impressions["widget"] == BANNER]
    assert abs(len(widgets) / sessions - 1.14) < 0.1
    assert abs(len(banners) / sessions - 0.43) < 0.06
    assert set(widgets["widget"]) == set(WIDGETS)
    assert impressions["impression_key"].tolist() == list(range(len(impressions)))
    assert impressions["created_at"].is_monotonic_increasing


def test_every_impression_is_well_formed(shop, campaigns, logs):
    impressions, _ = logs
    widgets = impressions[impressions["widget"] != BANNER]
    assert (widgets["skus"].map(len) == 8).all()
    assert (widgets["skus"].map(lambda skus: len(set(skus))) == 8).all()
    assert not any(context in skus for context, skus in zip(widgets["context_sku"], widgets["skus"]) if context)
    on_product_page = widgets["widget"].isin(["product_similar", "product_also_bought"])
    assert widgets.loc[on_product_page, "context_sku"].notna().all()
    assert widgets.loc[~on_product_page, "context_sku"].isna().all()
    buyable = shop.products[shop.products["active"] & (shop.products["stock"] > 0)]["sku"]
    assert set(widgets["skus"].explode()) <= set(buyable)
    # A banner shows one campaign that was switched on and within its dates at that moment.
    dates = campaigns[["campaign_key", "is_active", "starts_at", "ends_at"]]
    banners = impressions[impressions["widget"] == BANNER].merge(dates, on="campaign_key")
    assert (banners["skus"].map(len) == 0).all()
    assert banners["is_active"].all()
    assert ((banners["starts_at"] <= banners["created_at"]) & (banners["created_at"] < banners["ends_at"])).all()
    # The shopper, session and device are those of a real session of the shop.
    sessions = shop.events.drop_duplicates("session_key").set_index("session_key")
    assert (impressions["shopper_key"].to_numpy() == sessions.loc[impressions["session_key"], "shopper_key"].to_numpy()).all()
    assert (impressions["device"].to_numpy() == sessions.loc[impressions["session_key"], "device"].to_numpy()).all()


def test_clicks_point_at_what_was_shown(logs):
    impressions, clicks = logs
    shown = impressions.set_index("impression_key")
    for click in clicks.itertuples():
        impression = shown.loc[click.impression_key]
        assert click.widget == impression.widget and click.session_key == impression.session_key
        if click.widget == BANNER:
            assert click.sku is None and click.position == 0 and click.campaign_key == impression.campaign_key
        else:
            assert impression.skus[click.position] == click.sku and click.campaign_key is None
    delay = (clicks["occurred_at"] - shown.loc[clicks["impression_key"], "created_at"].to_numpy()).dt.total_seconds()
    assert delay.between(2, 40).all()


def test_click_rates_are_in_the_stated_ranges(shown):
    items, banners = shown[shown["widget"] != BANNER], shown[shown["widget"] == BANNER]
    assert 0.02 <= _ctr(items) <= 0.04
    assert 0.03 <= _ctr(banners) <= 0.06
    by_position = items.groupby("position")["clicked"].mean()
    assert by_position.is_monotonic_decreasing  # decays with the position


def test_planted_main_effects(shop, shown):
    items = shown[shown["widget"] != BANNER].copy()
    taste = shop.shoppers.set_index("shopper_key")["taste_categories"].str.split(",")
    category = shop.products.set_index("sku")["category_key"]
    items["in_taste"] = [category[sku] in taste[who] for sku, who in zip(items["sku"], items["shopper_key"])]
    assert _ctr(items[items["in_taste"]]) > 2.5 * _ctr(items[~items["in_taste"]])
    evening = items["hour"].between(18, 22)
    assert _ctr(items[evening]) > 1.15 * _ctr(items[~evening])


def test_mobile_shoppers_click_only_the_first_positions(shown):
    items = shown[shown["widget"] != BANNER]
    deep = items[items["position"] >= 4]
    top = items[items["position"] == 0]
    mobile_deep, desktop_deep = _ctr(deep[deep["device"] == "mobile"]), _ctr(deep[deep["device"] == "desktop"])
    assert mobile_deep < 0.25 * desktop_deep
    # ...while at the top they are nearly as keen: the effect is an interaction, not a device effect.
    assert _ctr(top[top["device"] == "mobile"]) > 0.7 * _ctr(top[top["device"] == "desktop"])


def test_price_sensitive_shoppers_answer_percent_off(shown, campaigns):
    banners = shown[shown["widget"] == BANNER].merge(campaigns[["campaign_key", "offer_kind"]], on="campaign_key")
    percent = banners[banners["offer_kind"] == "percent_off"]
    low = percent["price_level"] < 0.85
    assert _ctr(percent[low]) > 2.5 * _ctr(percent[~low])
    # Not a general liking of banners: other offers do not favour them like that.
    others = banners[banners["offer_kind"] != "percent_off"]
    assert _ctr(others[others["price_level"] < 0.85]) < 1.5 * _ctr(others[others["price_level"] >= 0.85])


def test_free_shipping_appeals_to_mobile_shoppers(shown, campaigns):
    banners = shown[shown["widget"] == BANNER].merge(campaigns[["campaign_key", "offer_kind"]], on="campaign_key")
    shipping = banners[banners["offer_kind"] == "free_shipping"]
    assert _ctr(shipping[shipping["device"] == "mobile"]) > 1.4 * _ctr(shipping[shipping["device"] == "desktop"])


def test_weekends_favour_home_widgets_over_product_page_ones(shown):
    items = shown[shown["widget"] != BANNER]
    weekend = pd.DatetimeIndex(items["created_at"]).day_of_week >= 5
    lift = {w: _ctr(items[weekend & (items["widget"] == w)]) / _ctr(items[~weekend & (items["widget"] == w)])
            for w in ("home_for_you", "product_also_bought")}
    assert lift["home_for_you"] > 1.3 * lift["product_also_bought"]


def test_deterministic_for_a_seed(shop, campaigns, logs):
    again = simulate_impressions(shop, campaigns, ClickSimConfig(seed=5))
    for first, second in zip(logs, again):
        pd.testing.assert_frame_equal(first, second)
    other_impressions, other_clicks = simulate_impressions(shop, campaigns, ClickSimConfig(seed=6))
    assert not other_clicks["occurred_at"].equals(logs[1]["occurred_at"])
    assert other_impressions["skus"].tolist() != logs[0]["skus"].tolist()


def test_no_campaigns_means_no_banners(shop):
    impressions, clicks = simulate_impressions(shop, demo_campaigns(shop).iloc[0:0], ClickSimConfig(seed=1))
    assert BANNER not in set(impressions["widget"]) and BANNER not in set(clicks["widget"])
    assert len(impressions) > 0 and np.isclose(clicks.shape[0] / (8 * len(impressions)), 0.03, atol=0.01)

"""Simulated widget and banner impressions with clicks: training data for a click-through ranker.

Built on a :class:`ml.synth.shop.SyntheticShop` (its shoppers, sessions and catalogue) and the demo
campaigns of :mod:`ml.synth.campaigns`; numpy/pandas only, deterministic for a config.

Impressions. Each browsing session of ``shop.events`` renders ``Poisson(widget rate x session
length / mean length)`` recommendation widgets and ``Poisson(banner rate)`` home banners, each at
the time, device and shopper of a random event of the session (product widgets take that
event's product as the page's product). A widget (``WIDGETS``, by ``WIDGET_SHARES``) shows
``slots`` (8) distinct in-stock products at positions 0..7, drawn from a widget-specific mix of
sources (``SOURCE_MIX``): the shopper's taste categories, the page product's category, global
popularity and uniform random items, so relevance varies within and across impressions; the
order is a noisy relevance sort (a retrieval model's order: positions and relevance are
correlated, as in real logs). A banner shows one campaign live at that time: for half of the
impressions one that matches the shopper's tastes when there is one (the rules), otherwise a
uniform draw among the live campaigns (rotation), so every campaign is seen by every kind of
shopper.

Clicks. Every shown item (and every banner) is clicked independently with probability
``sigmoid(intercept + logit)``; the intercepts are solved by bisection so the mean click
probability is ``item_ctr`` (3 %) for items and ``banner_ctr`` (4.5 %) for banners at any shop
size. Item logit (constants below):

* position: ``-POSITION_DECAY * log(1 + position)``;
* device (mobile slightly lower), hour of day (evening 18-22 h higher, night lower), widget;
* item in one of the shopper's taste categories ``+TASTE_LEAF`` (the strongest main effect),
  in a taste department ``+TASTE_DEPARTMENT``, favourite brand ``+FAVOURITE_BRAND``;
* price fit ``+PRICE_FIT x exp(-d^2 / 2 sigma^2)`` with ``d = log(price / category level) -
  log(shopper price level)``;
* interactions a linear model cannot represent: mobile x position >= 2 ``MOBILE_DEEP_POSITION``
  (mobile shoppers click almost only the first two positions), weekend x widget
  (``WEEKEND_WIDGET``: home widgets up, product-page widgets down).

Banner logit: device and hour as above; the campaign's target is a taste category
``+TARGET_LEAF``, a taste department ``+TARGET_DEPARTMENT``, a favourite brand ``+TARGET_BRAND``;
offer kind (``OFFER_EFFECT``); and the interactions price-sensitive shoppers (price level
< ``PRICE_SENSITIVE``) x percent_off ``+SENSITIVE_PERCENT_OFF`` (premium shoppers, > ``PREMIUM``,
``PREMIUM_PERCENT_OFF``), free_shipping x mobile ``+MOBILE_FREE_SHIPPING`` and x mobile in the
evening ``+MOBILE_EVENING_FREE_SHIPPING``, premium x new_arrivals ``+PREMIUM_NEW_ARRIVALS``.

Clicks happen 2-40 s after their impression. At the demo size (35k sessions) this gives about
40,000 widget impressions (320k shown items) and 15,000 banner impressions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.synth.shop import SyntheticShop
from ml.synth.campaigns import OFFER_KINDS, demo_campaigns
from ml.synth.click_space import ClickSpace, build_space, fill_slots

WIDGETS = ("home_for_you", "product_similar", "product_also_bought", "home_trending", "cart_for_you")
WIDGET_SHARES = np.array([0.26, 0.24, 0.18, 0.17, 0.15])
PRODUCT_WIDGETS = ("product_similar", "product_also_bought")
BANNER = "home_banner"
#: Candidate sources per widget: shares of (taste category, page product's category, popular, random).
SOURCE_MIX = {
    "home_for_you": (0.55, 0.0, 0.25, 0.20),
    "product_similar": (0.15, 0.60, 0.05, 0.20),
    "product_also_bought": (0.20, 0.35, 0.20, 0.25),
    "home_trending": (0.10, 0.0, 0.65, 0.25),
    "cart_for_you": (0.45, 0.0, 0.30, 0.25),
}
N_CANDIDATES = 16
P_TARGETED_BANNER = 0.5

POSITION_DECAY = 1.0
DEVICE_EFFECT = {"desktop": 0.0, "mobile": -0.15, "tablet": 0.05}
EVENING_HOURS, EVENING_EFFECT = range(18, 23), 0.35
NIGHT_HOURS, NIGHT_EFFECT = range(0, 6), -0.3
TASTE_LEAF, TASTE_DEPARTMENT, FAVOURITE_BRAND, PRICE_FIT, PRICE_FIT_SIGMA = 1.5, 0.4, 0.7, 0.9, 0.35
WIDGET_EFFECT = {"home_for_you": 0.15, "product_similar": 0.25, "product_also_bought": 0.1,
                 "home_trending": -0.25, "cart_for_you": -0.1}
MOBILE_DEEP_POSITION = -2.3  # mobile x position >= 2
WEEKEND_WIDGET = {"home_for_you": 0.6, "product_similar": 0.0, "product_also_bought": -0.5,
                  "home_trending": 0.5, "cart_for_you": -0.3}
TARGET_LEAF, TARGET_DEPARTMENT, TARGET_BRAND = 1.3, 0.6, 1.1
OFFER_EFFECT = {"percent_off": 0.0, "free_shipping": -0.1, "bundle": -0.2, "new_arrivals": -0.3}
PRICE_SENSITIVE, PREMIUM = 0.85, 1.2  # shopper price-level thresholds
SENSITIVE_PERCENT_OFF, PREMIUM_PERCENT_OFF = 1.7, -0.6
MOBILE_FREE_SHIPPING, MOBILE_EVENING_FREE_SHIPPING = 0.3, 1.6
PREMIUM_NEW_ARRIVALS = 1.0


@dataclass(frozen=True)
class ClickSimConfig:
    """Volumes (impressions per browsing session), slots per widget and the target click rates
    the intercepts are solved for; the same config and shop always give the same logs."""

    seed: int = 42
    widget_impressions_per_session: float = 1.14
    banner_impressions_per_session: float = 0.43
    slots: int = 8
    item_ctr: float = 0.03
    banner_ctr: float = 0.045


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _intercept(logit: np.ndarray, target: float) -> float:
    """The constant b with mean(sigmoid(b + logit)) == target (bisection; monotone in b)."""
    if len(logit) == 0:
        return 0.0
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _sigmoid(mid + logit).mean() < target else (lo, mid)
    return 0.5 * (lo + hi)


def _place(rng: np.random.Generator, sp: ClickSpace, rate: np.ndarray) -> np.ndarray:
    """Event index (in ``sp``) of each impression: Poisson(rate) per session, random events."""
    per_session = rng.poisson(rate)
    session = np.repeat(np.arange(len(rate)), per_session)
    pick = sp.session_offsets[session] + np.floor(rng.random(len(session)) * sp.session_counts[session]).astype(np.int64)
    events = sp.session_order[pick]
    return events[np.lexsort((events, sp.event_time[events]))]  # in time order, ties by event


def _hour_effect(hours: np.ndarray) -> np.ndarray:
    return (np.isin(hours, EVENING_HOURS) * EVENING_EFFECT + np.isin(hours, NIGHT_HOURS) * NIGHT_EFFECT)


def _lookup(table: dict[str, float], keys: np.ndarray) -> np.ndarray:
    return pd.Series(keys).map(table).to_numpy(np.float64)


def _item_logit(sp: ClickSpace, events: np.ndarray, widget: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Logit (without intercept) of every shown item, shape (impressions, slots)."""
    n, slots = items.shape
    who = sp.event_shopper[events][:, None]
    device = sp.event_device[events]
    position = np.arange(slots)[None, :]
    leaf, dept = sp.item_leaf[items], sp.item_dept[items]
    in_leaf = (leaf[:, :, None] == sp.taste[who][:, 0, None, :]).any(axis=2)
    in_dept = (dept[:, :, None] == sp.taste_dept[who][:, 0, None, :]).any(axis=2) & ~in_leaf
    fav = (sp.item_brand[items][:, :, None] == sp.fav_brand[who][:, 0, None, :]).any(axis=2)
    gap = sp.item_log_ratio[items] - sp.log_price_level[who]
    fit = np.exp(-0.5 * (gap / PRICE_FIT_SIGMA) ** 2)
    hours, weekend = sp.hour[events], sp.weekend[events]
    widget_names = np.array(WIDGETS, dtype=object)[widget]
    per_impression = (_lookup(DEVICE_EFFECT, device) + _hour_effect(hours) + _lookup(WIDGET_EFFECT, widget_names)
                      + weekend * _lookup(WEEKEND_WIDGET, widget_names))
    mobile = (device == "mobile")[:, None]
    return (per_impression[:, None] - POSITION_DECAY * np.log1p(position) + TASTE_LEAF * in_leaf
            + TASTE_DEPARTMENT * in_dept + FAVOURITE_BRAND * fav + PRICE_FIT * fit
            + MOBILE_DEEP_POSITION * (mobile & (position >= 2)))


def _banner_logit(sp: ClickSpace, events: np.ndarray, campaign: np.ndarray, camps: dict) -> np.ndarray:
    who = sp.event_shopper[events]
    device, hours = sp.event_device[events], sp.hour[events]
    target = camps["category"][campaign]
    leaf_hit = (target[:, None] == sp.taste[who]).any(axis=1) & (target >= 0)
    dept_hit = ((sp.cat_dept[np.maximum(target, 0)][:, None] == sp.taste_dept[who]).any(axis=1)
                & (target >= 0) & ~leaf_hit)
    brand_hit = (camps["brand"][campaign][:, None] == sp.fav_brand[who]).any(axis=1) & (camps["brand"][campaign] >= 0)
    kind = np.array(OFFER_KINDS, dtype=object)[camps["kind"][campaign]]
    level = np.exp(sp.log_price_level[who])
    sensitive, premium = level < PRICE_SENSITIVE, level > PREMIUM
    mobile, evening = device == "mobile", np.isin(hours, EVENING_HOURS)
    percent, shipping, new = kind == "percent_off", kind == "free_shipping", kind == "new_arrivals"
    return (_lookup(DEVICE_EFFECT, device) + _hour_effect(hours) + _lookup(OFFER_EFFECT, kind)
            + TARGET_LEAF * leaf_hit + TARGET_DEPARTMENT * dept_hit + TARGET_BRAND * brand_hit
            + percent * (SENSITIVE_PERCENT_OFF * sensitive + PREMIUM_PERCENT_OFF * premium)
            + shipping * mobile * (MOBILE_FREE_SHIPPING + MOBILE_EVENING_FREE_SHIPPING * evening)
            + PREMIUM_NEW_ARRIVALS * (new & premium))


def _campaign_arrays(sp: ClickSpace, campaigns: pd.DataFrame) -> dict:
    """Campaign columns as arrays; a missing target is -2, which no shopper's -1 padding equals."""
    category = campaigns["target_category_key"].map(sp.cat_index).astype("float64").fillna(-2).astype(np.int64)
    brand = campaigns["target_brand"].map(sp.brand_index).astype("float64").fillna(-2).astype(np.int64)
    return {
        "category": category.to_numpy(), "brand": brand.to_numpy(),
        "kind": campaigns["offer_kind"].map({k: i for i, k in enumerate(OFFER_KINDS)}).to_numpy(np.int64),
        "starts": pd.to_datetime(campaigns["starts_at"]).to_numpy("datetime64[ns]"),
        "ends": pd.to_datetime(campaigns["ends_at"]).to_numpy("datetime64[ns]"),
        "active": campaigns["is_active"].to_numpy(bool), "keys": campaigns["campaign_key"].to_numpy(object),
    }


def _choose_campaigns(rng: np.random.Generator, sp: ClickSpace, events: np.ndarray, camps: dict) -> np.ndarray:
    """One live campaign per banner impression (-1: none live then): half of the time one
    matching the shopper's tastes when any does, else a uniform draw among the live ones."""
    when = sp.event_time[events][:, None]
    live = camps["active"][None, :] & (camps["starts"][None, :] <= when) & (when < camps["ends"][None, :])
    who = sp.event_shopper[events]
    target = camps["category"][None, :]
    leaf = (target[:, :, None] == sp.taste[who][:, None, :]).any(axis=2)
    dept = (target[:, :, None] == sp.taste_dept[who][:, None, :]).any(axis=2)
    brand = (camps["brand"][None, :, None] == sp.fav_brand[who][:, None, :]).any(axis=2)
    relevant = leaf | dept | brand
    targeted = rng.random(len(events)) < P_TARGETED_BANNER
    score = rng.gumbel(size=live.shape) + np.where(targeted[:, None] & relevant, 50.0, 0.0)
    score = np.where(live, score, -np.inf)
    chosen = np.argmax(score, axis=1)
    return np.where(live.any(axis=1), chosen, -1)


def simulate_impressions(shop: SyntheticShop, campaigns: pd.DataFrame,
                         config: ClickSimConfig = ClickSimConfig()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(impressions, clicks) for ``shop`` and ``campaigns`` (a :func:`demo_campaigns` frame).

    impressions: ``impression_key`` (0..n-1, in time order), ``widget``, ``shopper_key``,
    ``session_key``, ``device``, ``created_at``, ``context_sku`` (product widgets; else None),
    ``skus`` (list of the shown SKUs in position order; empty for banners), ``campaign_key``
    (banners; else None).
    clicks: ``impression_key``, ``widget``, ``position``, ``sku`` (None for banners),
    ``campaign_key``, ``shopper_key``, ``session_key``, ``device``, ``occurred_at``.
    """
    r_place, r_items, r_banner, r_click = np.random.default_rng([config.seed, 0xC11C]).spawn(4)
    sp = build_space(shop)
    counts = sp.session_counts
    widget_events = _place(r_place, sp, config.widget_impressions_per_session * counts / max(counts.mean(), 1e-9))
    banner_events = _place(r_place, sp, np.full(len(counts), config.banner_impressions_per_session))
    widget = r_place.choice(len(WIDGETS), size=len(widget_events), p=WIDGET_SHARES / WIDGET_SHARES.sum())
    is_product = np.isin(np.array(WIDGETS, dtype=object)[widget], PRODUCT_WIDGETS)
    context = np.where(is_product, sp.event_item[widget_events], -1)
    mix = np.array([SOURCE_MIX[w] for w in WIDGETS])[widget]
    items = fill_slots(r_items, sp, sp.event_shopper[widget_events], context, mix, config.slots, N_CANDIDATES)

    camps = _campaign_arrays(sp, campaigns)
    chosen = _choose_campaigns(r_banner, sp, banner_events, camps) if len(campaigns) else np.full(len(banner_events), -1)
    banner_events, chosen = banner_events[chosen >= 0], chosen[chosen >= 0]

    item_logit = _item_logit(sp, widget_events, widget, items)
    banner_logit = _banner_logit(sp, banner_events, chosen, camps)
    p_item = _sigmoid(_intercept(item_logit.ravel(), config.item_ctr) + item_logit)
    p_banner = _sigmoid(_intercept(banner_logit, config.banner_ctr) + banner_logit)
    item_clicked = r_click.random(p_item.shape) < p_item
    banner_clicked = r_click.random(len(p_banner)) < p_banner
    return _frames(r_click, sp, widget_events, widget, context, items, item_clicked,
                   banner_events, camps["keys"][chosen] if len(chosen) else np.array([], dtype=object), banner_clicked)


def _frames(rng, sp: ClickSpace, w_events, widget, context, items, item_clicked, b_events, b_keys, b_clicked):
    """Assemble the two public frames, impressions keyed in time order."""
    n_w, n_b = len(w_events), len(b_events)
    events = np.concatenate([w_events, b_events])
    skus = sp.skus[items]
    impressions = pd.DataFrame({
        "widget": np.concatenate([np.array(WIDGETS, dtype=object)[widget], np.full(n_b, BANNER, dtype=object)]),
        "shopper_key": sp.shopper_keys[sp.event_shopper[events]],
        "session_key": sp.event_session_key[events], "device": sp.event_device[events],
        "created_at": sp.event_time[events],
        "context_sku": pd.Series(np.concatenate([np.where(context >= 0, sp.skus[np.maximum(context, 0)], None),
                                                 np.full(n_b, None, dtype=object)]), dtype=object),
        "skus": pd.Series([list(row) for row in skus] + [[] for _ in range(n_b)], dtype=object),
        "campaign_key": pd.Series(np.concatenate([np.full(n_w, None, dtype=object), b_keys]), dtype=object),
    })
    order = np.lexsort((np.arange(len(impressions)), impressions["created_at"].to_numpy()))
    key_of = np.empty(len(order), dtype=np.int64)
    key_of[order] = np.arange(len(order))
    impressions = impressions.iloc[order].reset_index(drop=True)
    impressions.insert(0, "impression_key", np.arange(len(impressions), dtype=np.int64))

    row, position = np.nonzero(item_clicked)
    banner_rows = np.flatnonzero(b_clicked)
    source = np.concatenate([key_of[row], key_of[n_w + banner_rows]])
    clicks = pd.DataFrame({
        "impression_key": source,
        "position": np.concatenate([position, np.zeros(len(banner_rows), dtype=np.int64)]).astype(np.int64),
        "sku": pd.Series(np.concatenate([skus[row, position], np.full(len(banner_rows), None, dtype=object)]), dtype=object),
    })
    shown = impressions.set_index("impression_key")
    for column in ("widget", "campaign_key", "shopper_key", "session_key", "device"):
        clicks[column] = pd.Series(shown[column].to_numpy()[source], dtype=object if column == "campaign_key" else None)
    delay = rng.integers(2, 41, size=len(clicks)).astype("timedelta64[s]")
    clicks["occurred_at"] = shown["created_at"].to_numpy()[source] + delay
    clicks = clicks.sort_values(["occurred_at", "impression_key", "position"], kind="stable").reset_index(drop=True)
    return impressions, clicks


def exposures(impressions: pd.DataFrame, clicks: pd.DataFrame) -> pd.DataFrame:
    """One row per shown item (or banner) with ``position`` and a ``clicked`` flag: the shape a
    click-through model trains on."""
    items = impressions[impressions["widget"] != BANNER].explode("skus").rename(columns={"skus": "sku"})
    items["position"] = items.groupby("impression_key").cumcount()
    banners = impressions[impressions["widget"] == BANNER].drop(columns="skus").assign(sku=None, position=0)
    rows = pd.concat([items, banners], ignore_index=True)
    hits = clicks.groupby(["impression_key", "position"]).size().rename("clicks")
    rows = rows.join(hits, on=["impression_key", "position"])
    rows["clicked"] = rows["clicks"].notna()
    return rows.drop(columns="clicks").sort_values(["impression_key", "position"]).reset_index(drop=True)


__all__ = ["BANNER", "WIDGETS", "ClickSimConfig", "demo_campaigns", "exposures", "simulate_impressions"]

"""Tests of the synthetic shop generator ``ml.synth.shop``: schema, realism and planted structure."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.synth.shop import SynthConfig, SyntheticShop, generate_shop
from ml.synth.vocabulary import DEPARTMENTS

END = datetime(2025, 3, 1)
SMALL = SynthConfig(seed=7, n_products=200, n_categories=10, n_customers=200, n_anonymous=100,
                    days=60, target_events=20_000, end=END)
LEAVES = {leaf.key: leaf for dept in DEPARTMENTS for leaf in dept.leaves}
DEPT_OF = {leaf.key: dept.key for dept in DEPARTMENTS for leaf in dept.leaves}


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return generate_shop(SMALL)


def _of_type(shop: SyntheticShop, kind: str) -> pd.DataFrame:
    return shop.events[shop.events["type"] == kind]


def _with_products(shop: SyntheticShop, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(shop.products, on="sku", how="left", validate="many_to_one")


def _taste_pairs(shop: SyntheticShop) -> set[tuple[str, str]]:
    s = shop.shoppers
    return {(k, c) for k, t in zip(s["shopper_key"], s["taste_categories"]) for c in t.split(",")}


def _in_taste(shop: SyntheticShop, views: pd.DataFrame) -> np.ndarray:
    pairs = _taste_pairs(shop)
    cats = views["sku"].map(shop.products.set_index("sku")["category_key"])
    return np.array([(k, c) in pairs for k, c in zip(views["shopper_key"], cats)])


def _check_funnel(events: pd.DataFrame) -> pd.Series:
    share = events["type"].value_counts(normalize=True)
    assert 0.95 <= share["view"] <= 0.98
    assert 0.015 <= share["addtocart"] <= 0.035
    assert 0.004 <= share["transaction"] <= 0.012
    assert 0 < share.get("removefromcart", 0.0) < 0.005
    return share


# --- catalogue ---------------------------------------------------------------------------------

def test_category_tree(shop: SyntheticShop) -> None:
    cats = shop.categories
    assert cats["key"].is_unique
    depts, leaves = cats[cats["parent_key"].isna()], cats[cats["parent_key"].notna()]
    assert len(depts) == SMALL.n_departments and len(leaves) == SMALL.n_categories
    assert all(p is None for p in depts["parent_key"])
    assert depts["price_level"].isna().all() and (leaves["price_level"] > 0).all()
    assert set(leaves["parent_key"]) == set(depts["key"])  # leaves spread over every department
    assert all(LEAVES[k].name == n for k, n in zip(leaves["key"], leaves["name"]))
    assert set(depts["name"]) <= {d.name for d in DEPARTMENTS}
    assert set(shop.products["category_key"]) == set(leaves["key"])


def test_word_lists_are_sane() -> None:
    assert all(5 <= len(d.brands) <= 8 for d in DEPARTMENTS)
    brands = [b for d in DEPARTMENTS for b in d.brands]
    assert len(brands) == len(set(brands))
    assert len(LEAVES) == sum(len(d.leaves) for d in DEPARTMENTS)


def test_product_names_and_descriptions(shop: SyntheticShop) -> None:
    p = shop.products
    assert p["sku"].is_unique and p["sku"].str.fullmatch(r"SKU-\d{6}").all()
    assert p["name"].is_unique
    for name, brand, cat, desc in zip(p["name"], p["brand"], p["category_key"], p["description"]):
        leaf = LEAVES[cat]
        assert name.startswith(brand + " ")
        assert any(f" {noun} " in name for noun in leaf.nouns)
        assert 1 <= len(re.findall(r"\.(?:\s|$)", desc)) <= 3
        assert any(m in desc for m in leaf.materials)
    brand_dept = p.assign(dept=p["category_key"].map(DEPT_OF)).groupby("brand")["dept"].nunique()
    assert (brand_dept == 1).all()  # a brand belongs to one department


def test_prices_stock_activity_and_dates(shop: SyntheticShop) -> None:
    p = shop.products
    assert (p["price"] > 0).all()
    assert np.allclose(p["price"] * 100, np.round(p["price"] * 100))
    level = p["category_key"].map(shop.categories.set_index("key")["price_level"])
    log_ratio = np.log(p["price"] / level)
    assert abs(np.median(log_ratio)) < 0.25 and 0.2 < log_ratio.std() < 0.7
    assert p["stock"].dtype == np.int64 and (p["stock"] >= 0).all()
    assert p["stock"].between(5, 200).mean() > 0.85
    assert 0 < (p["stock"] == 0).mean() < 0.08
    assert 0 < (~p["active"]).mean() < 0.06
    assert p["created_at"].between(END - timedelta(days=365), END, inclusive="left").all()
    first_event = shop.events.groupby("sku")["occurred_at"].min()
    assert (p.set_index("sku")["created_at"].reindex(first_event.index) < first_event).all()


def test_item_popularity_is_long_tailed(shop: SyntheticShop) -> None:
    views = _with_products(shop, _of_type(shop, "view"))
    counts = views.groupby(["category_key", "sku"]).size()
    counts = counts.reindex(pd.MultiIndex.from_frame(shop.products[["category_key", "sku"]]), fill_value=0)
    top_shares = []
    for _, c in counts.groupby(level=0):
        c = np.sort(c.to_numpy())[::-1]
        top_shares.append(c[: max(1, len(c) // 5)].sum() / c.sum())
    assert np.mean(top_shares) > 0.45  # top 20 % of a category's items get most of its views


# --- shoppers ----------------------------------------------------------------------------------

def test_shoppers(shop: SyntheticShop) -> None:
    s = shop.shoppers
    assert len(s) == SMALL.n_customers + SMALL.n_anonymous and s["shopper_key"].is_unique
    cust, anon = s[s["is_customer"]], s[~s["is_customer"]]
    assert len(cust) == SMALL.n_customers
    assert cust["email"].is_unique and cust["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.com").all()
    assert cust["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    assert anon["email"].isna().all() and anon["name"].isna().all()
    share = s["device"].value_counts(normalize=True)
    assert set(share.index) <= {"desktop", "mobile", "tablet"}
    assert abs(share["desktop"] - 0.55) < 0.1 and abs(share["mobile"] - 0.38) < 0.1 and share["tablet"] < 0.15
    leaf_keys = set(shop.categories.loc[shop.categories["parent_key"].notna(), "key"])
    tastes = s["taste_categories"].str.split(",")
    assert tastes.map(len).between(2, 3).all() and all(set(t) <= leaf_keys for t in tastes)
    majority = tastes.map(lambda t: pd.Series([DEPT_OF[c] for c in t]).value_counts().iloc[0] / len(t))
    assert (majority >= 2 / 3).mean() > 0.75  # tastes mostly within one department
    assert s["favorite_brands"].str.split(",").map(len).eq(2).all()
    assert (s["price_level"] > 0).all()


def test_every_shopper_is_active_and_activity_is_long_tailed(shop: SyntheticShop) -> None:
    per_shopper = shop.events.groupby("shopper_key").size()
    assert set(per_shopper.index) == set(shop.shoppers["shopper_key"])
    ordered = np.sort(per_shopper.to_numpy())[::-1]
    assert ordered[: len(ordered) // 10].sum() / ordered.sum() > 0.3
    assert ordered[0] > 8 * np.median(ordered)
    first = shop.events.groupby("shopper_key")["occurred_at"].min()
    assert (shop.shoppers.set_index("shopper_key")["first_seen"].reindex(first.index) == first).all()


# --- sessions and time -------------------------------------------------------------------------

def test_events_schema_and_window(shop: SyntheticShop) -> None:
    ev = shop.events
    assert list(ev.columns) == ["shopper_key", "sku", "type", "occurred_at", "session_key", "device", "order_key"]
    assert ev["occurred_at"].dtype == np.dtype("datetime64[ns]")
    assert ev["occurred_at"].is_monotonic_increasing
    assert ev["occurred_at"].min() >= END - timedelta(days=SMALL.days) and ev["occurred_at"].max() < END
    assert ev["occurred_at"].dt.normalize().nunique() >= 0.9 * SMALL.days
    assert set(ev["type"]) == {"view", "addtocart", "removefromcart", "transaction"}
    assert set(ev["sku"]) <= set(shop.products["sku"]) and set(ev["device"]) <= {"desktop", "mobile", "tablet"}
    assert (ev["order_key"].notna() == (ev["type"] == "transaction")).all()
    assert all(v is None for v in ev.loc[ev["type"] != "transaction", "order_key"])  # None, not NaN
    assert all(v is None for v in shop.shoppers.loc[~shop.shoppers["is_customer"], "email"])


def test_sessions(shop: SyntheticShop) -> None:
    ev = shop.events
    per = ev.groupby("session_key").agg(shoppers=("shopper_key", "nunique"), devices=("device", "nunique"),
                                        start=("occurred_at", "min"), end=("occurred_at", "max"),
                                        shopper=("shopper_key", "first"))
    assert (per["shoppers"] == 1).all() and (per["devices"] == 1).all()
    assert (per["end"] - per["start"]).max() < pd.Timedelta(hours=6)
    gaps = ev.groupby("session_key")["occurred_at"].diff().dropna()
    assert (gaps >= pd.Timedelta(0)).all()
    assert pd.Timedelta(seconds=5) < gaps.median() < pd.Timedelta(minutes=10)
    per = per.sort_values(["shopper", "start"])
    same = per["shopper"].eq(per["shopper"].shift())
    overlap = same & (per["start"] <= per["end"].shift())
    assert overlap.mean() < 0.002  # a shopper's sessions do not overlap


def test_views_concentrate_in_taste_categories(shop: SyntheticShop) -> None:
    views = _of_type(shop, "view")
    in_taste = _in_taste(shop, views)
    assert 0.7 < in_taste.mean() < 0.92  # mostly taste, with some exploration
    median_time = views.groupby("shopper_key")["occurred_at"].transform("median")
    later = (views["occurred_at"] > median_time).to_numpy()
    assert in_taste[later].mean() > 0.6


def test_seasonality(shop: SyntheticShop) -> None:
    when = shop.events["occurred_at"]
    by_hour = when.dt.hour.value_counts()
    assert by_hour.reindex([18, 19, 20, 21]).mean() > 2 * by_hour.reindex([2, 3, 4, 5]).mean()
    days = pd.date_range(END - timedelta(days=SMALL.days), END, inclusive="left")
    n_days = pd.Series(days.day_of_week).value_counts()
    per_day = when.dt.day_of_week.value_counts() / n_days
    assert per_day[6] > per_day[4] and per_day[0] > per_day[4]  # Sunday, Monday busier than Friday


# --- funnel ------------------------------------------------------------------------------------

def test_funnel_shares(shop: SyntheticShop) -> None:
    _check_funnel(shop.events)
    assert abs(len(shop.events) - SMALL.target_events) < 0.1 * SMALL.target_events


def test_funnel_order(shop: SyntheticShop) -> None:
    ev = shop.events
    first_view = _of_type(shop, "view").groupby(["shopper_key", "sku"])["occurred_at"].min()
    for kind in ("addtocart", "transaction"):
        rows = _of_type(shop, kind)
        seen = first_view.reindex(pd.MultiIndex.from_frame(rows[["shopper_key", "sku"]])).to_numpy()
        assert (seen < rows["occurred_at"].to_numpy()).all()
    first_cart = _of_type(shop, "addtocart").groupby(["session_key", "sku"])["occurred_at"].min()
    for kind in ("transaction", "removefromcart"):
        rows = _of_type(shop, kind)
        carted = first_cart.reindex(pd.MultiIndex.from_frame(rows[["session_key", "sku"]])).to_numpy()
        assert (carted < rows["occurred_at"].to_numpy()).all()
    removed = set(zip(*_of_type(shop, "removefromcart")[["session_key", "sku"]].T.to_numpy()))
    bought = set(zip(*_of_type(shop, "transaction")[["session_key", "sku"]].T.to_numpy()))
    assert not removed & bought
    assert ev.groupby("session_key")["order_key"].nunique().max() <= 1  # one checkout per session


def test_add_to_cart_prefers_price_level_and_favourite_brands(shop: SyntheticShop) -> None:
    views = _with_products(shop, _of_type(shop, "view")).drop_duplicates(["session_key", "sku"])
    views = views[views["active"] & (views["stock"] > 0)]
    carts = set(zip(*_of_type(shop, "addtocart")[["session_key", "sku"]].T.to_numpy()))
    carted = np.array([(s, k) in carts for s, k in zip(views["session_key"], views["sku"])])
    sh = shop.shoppers.set_index("shopper_key")
    favs = views["shopper_key"].map(sh["favorite_brands"]).str.split(",")
    is_fav = np.array([b in f for b, f in zip(views["brand"], favs)])
    assert carted[is_fav].mean() > 1.5 * carted[~is_fav].mean()
    level = views["category_key"].map(shop.categories.set_index("key")["price_level"])
    distance = np.abs(np.log(views["price"] / level) - np.log(views["shopper_key"].map(sh["price_level"])))
    assert distance[carted].mean() < 0.85 * distance[~carted].mean()


def test_complements_are_co_purchased(shop: SyntheticShop) -> None:
    pairs = shop.complements
    assert len(pairs) > 0 and set(pairs["sku"]) | set(pairs["complement_sku"]) <= set(shop.products["sku"])
    baskets = shop.order_lines.groupby("order_key")["sku"].agg(frozenset)
    n_orders = len(baskets)
    count = shop.order_lines["sku"].value_counts()
    both = sum(sum(1 for b in baskets if a in b and c in b) for a, c in zip(pairs["sku"], pairs["complement_sku"])
               if a in count.index)
    expected = sum(count.get(a, 0) * count.get(c, 0) / n_orders for a, c in zip(pairs["sku"], pairs["complement_sku"]))
    assert both >= 5 and both / expected > 3  # lift of planted pairs
    bought_primary = sum(count.get(a, 0) for a in pairs["sku"])
    assert both / bought_primary > 0.1  # the complement follows with notable probability


# --- orders ------------------------------------------------------------------------------------

def test_orders_group_transactions(shop: SyntheticShop) -> None:
    tx = _of_type(shop, "transaction")
    orders, lines = shop.orders, shop.order_lines
    assert orders["order_key"].is_unique and set(orders["order_key"]) == set(tx["order_key"])
    per = tx.groupby("order_key").agg(times=("occurred_at", "nunique"), sessions=("session_key", "nunique"),
                                      shopper=("shopper_key", "first"), at=("occurred_at", "first"),
                                      device=("device", "first"))
    assert (per["times"] == 1).all() and (per["sessions"] == 1).all()
    o = orders.set_index("order_key").reindex(per.index)
    assert (o["shopper_key"] == per["shopper"]).all() and (o["created_at"] == per["at"]).all()
    assert (o["device"] == per["device"]).all()
    assert not lines.duplicated(["order_key", "sku"]).any()
    assert set(zip(lines["order_key"], lines["sku"])) == set(zip(tx["order_key"], tx["sku"]))
    assert lines["quantity"].between(1, 3).all() and (lines["quantity"] == 1).mean() > 0.7
    assert (lines["quantity"] > 1).any()
    assert (lines["unit_price"] == lines["sku"].map(shop.products.set_index("sku")["price"])).all()
    bought = shop.products.set_index("sku").loc[lines["sku"].unique()]
    assert bought["active"].all() and (bought["stock"] > 0).all()


def test_order_contacts(shop: SyntheticShop) -> None:
    o = shop.orders.merge(shop.shoppers, on="shopper_key", suffixes=("", "_shopper"))
    cust, guest = o[o["is_customer"]], o[~o["is_customer"]]
    assert (cust["email"] == cust["email_shopper"]).all() and (cust["name"] == cust["name_shopper"]).all()
    assert len(guest) > 0 and len(guest) < len(cust)
    assert guest["email"].str.fullmatch(r"guest\.[a-z]+\.[a-z]+\d+@example\.net").all()
    assert guest["name"].notna().all()
    assert not set(guest["email"]) & set(shop.shoppers["email"].dropna())
    assert guest.groupby("shopper_key")["email"].nunique().max() == 1


# --- determinism, config, purity ---------------------------------------------------------------

def test_deterministic(shop: SyntheticShop) -> None:
    again = generate_shop(SMALL)
    for name in ("categories", "products", "shoppers", "events", "orders", "order_lines", "complements"):
        pd.testing.assert_frame_equal(getattr(shop, name), getattr(again, name))
    other = generate_shop(SynthConfig(**{**SMALL.__dict__, "seed": SMALL.seed + 1}))
    assert not other.events.equals(shop.events) and not other.products.equals(shop.products)


def test_small_config_is_fast() -> None:
    started = time.perf_counter()
    generate_shop(SynthConfig(seed=3, n_products=200, n_categories=10, n_customers=200, n_anonymous=100,
                              target_events=20_000, end=END))
    assert time.perf_counter() - started < 5.0


def test_end_defaults_to_today_and_accepts_aware_datetimes() -> None:
    tiny = dict(n_products=60, n_categories=6, n_customers=30, n_anonymous=20, days=10, target_events=2_000)
    shop = generate_shop(SynthConfig(**tiny))
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    assert shop.events["occurred_at"].max() < today + timedelta(days=1)
    assert shop.events["occurred_at"].min() >= today - timedelta(days=11)
    aware = generate_shop(SynthConfig(**tiny, end=datetime(2025, 3, 1, 1, tzinfo=timezone(timedelta(hours=1)))))
    naive = generate_shop(SynthConfig(**tiny, end=END))
    pd.testing.assert_frame_equal(aware.events, naive.events)


@pytest.mark.parametrize("bad", [dict(n_categories=100), dict(n_departments=0), dict(n_products=5),
                                 dict(n_customers=0, n_anonymous=0)])
def test_invalid_config(bad: dict) -> None:
    with pytest.raises(ValueError):
        generate_shop(SynthConfig(**{**SMALL.__dict__, **bad}))


def test_ml_stays_pure() -> None:
    code = ("import sys, ml.synth.shop; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'sqlalchemy', 'storefront')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[3])


@pytest.mark.slow
def test_default_size() -> None:
    started = time.perf_counter()
    cfg = SynthConfig(end=END)
    shop = generate_shop(cfg)
    elapsed = time.perf_counter() - started
    assert elapsed < 15.0
    assert len(shop.products) >= 1000 and len(shop.categories) - cfg.n_departments >= 20
    assert len(shop.shoppers) >= 2000 and len(shop.events) >= 200_000
    assert abs(len(shop.events) - cfg.target_events) < 0.1 * cfg.target_events
    assert (shop.events["occurred_at"].max() - shop.events["occurred_at"].min()) >= pd.Timedelta(days=120)
    _check_funnel(shop.events)
    assert 0.005 < (~shop.products["active"]).mean() < 0.04
    share = shop.shoppers["device"].value_counts(normalize=True)
    assert abs(share["desktop"] - 0.55) < 0.04 and abs(share["mobile"] - 0.38) < 0.04
    views = _of_type(shop, "view")
    assert _in_taste(shop, views).mean() > 0.7
    tastes = shop.shoppers["taste_categories"].str.split(",")
    majority = tastes.map(lambda t: pd.Series([DEPT_OF[c] for c in t]).value_counts().iloc[0] / len(t))
    assert majority.mean() > 0.85

"""Deterministic synthetic shop: catalogue, shoppers and a simulated click/cart/purchase log.

The data serves two purposes: demo content for the web shop and an evaluation fixture for the
recommenders, so the behaviour carries planted, learnable structure.

Simulation model (everything is drawn from ``numpy.random.default_rng(seed)`` child streams):

* Catalogue (:mod:`ml.synth.catalog`): departments with leaf categories, 6-7 brands per
  department with a price tier, lognormal prices around a per-category level, Zipf-like item
  popularity within each category and planted complement products (laptop -> laptop bag).
* Shoppers: registered customers and anonymous visitors. Each has 2-3 taste leaves (mostly in
  one "home" department, with taste weights), two favourite brands of that department, a
  price level (multiplier on the category level), a preferred device (55/38/7 %
  desktop/mobile/tablet) and a lognormal (long-tailed) activity level.
* Sessions: the number of sessions is set so that the event total meets ``target_events``;
  each shopper gets at least one, the rest go by activity. A session has a focus leaf (a taste
  leaf 90 % of the time) and a geometric number of views: 62 % from the focus leaf, 22 % from
  another taste leaf, 16 % exploration by global leaf popularity (about 80 % in taste leaves).
  Items are drawn by popularity, with two candidates compared on brand and price fit; 12 % of
  views revisit an item seen earlier in the session.
* Seasonality (UTC, which is the shop's local time): an evening peak around 19-21 h and a
  night trough, Sunday and Monday the busiest days, Friday the quietest, and a linear growth
  of traffic from 85 % to 115 % over the window.
* Funnel (close to Retailrocket): the first view of a buyable item in a session is added to
  the cart with a probability proportional to price fit x (1 + 2 x favourite brand), scaled so
  that carts are ~2.4 % of events. A carted item with a complement makes the complement
  viewed (55 %) and carted (60 % of those) right away. ~10 % of cart adds are removed later in
  the session. A session with a non-empty cart checks out (customers ~3x more likely than
  guests), turning every remaining cart item into a transaction event (~0.8 % of events)
  that share one timestamp and one order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from ml.synth.catalog import Catalog, build_catalog, people, shift_created_at
from ml.synth.timeline import (
    EVENT_TYPES,
    VIEW,
    ATC,
    REMOVE,
    TX,
    SUB_REMOVE,
    SUB_VIEW,
    SUB_CART,
    SUB_COMPLEMENT_VIEW,
    SUB_COMPLEMENT_CART,
    SUB_CHECKOUT,
    Events,
    Sessions,
    first_in_group,
    part,
    concat,
    take,
    in_session_order,
    timeline,
)

DEVICES = np.array(["desktop", "mobile", "tablet"], dtype=object)
DEVICE_SHARES = np.array([0.55, 0.38, 0.07])
P_PREFERRED_DEVICE = 0.85
# Relative traffic by hour of day (UTC) and by weekday (Monday first).
HOUR_WEIGHTS = np.array([0.9, 0.6, 0.4, 0.3, 0.3, 0.4, 0.7, 1.1, 1.5, 1.8, 2.0, 2.2,
                         2.5, 2.4, 2.2, 2.2, 2.4, 2.8, 3.4, 3.9, 4.1, 3.8, 2.9, 1.8])
WEEKDAY_WEIGHTS = np.array([1.12, 1.00, 0.97, 0.97, 0.88, 1.02, 1.20])
TREND = (0.85, 1.15)
# Target event-type shares of all events (views are the remainder).
ATC_SHARE, TX_SHARE, REMOVE_SHARE = 0.024, 0.008, 0.0025
VIEW_SHARE = 1.0 - ATC_SHARE - TX_SHARE - REMOVE_SHARE
MEAN_SESSION_VIEWS, MAX_SESSION_VIEWS = 6.0, 80
P_FOCUS, P_TASTE, P_FOCUS_IN_TASTE, P_REPEAT = 0.62, 0.22, 0.9, 0.12
HOME_DEPT_BOOST = 60.0                  # weight multiplier for leaves of the home department
FAV_BRAND_VIEW, FAV_BRAND_CART = 1.5, 2.0
PRICE_FIT_SIGMA = 0.30                  # tolerance around the shopper's price level (log scale)
P_COMPLEMENT_VIEW, P_COMPLEMENT_CART = 0.55, 0.6
ANON_ACTIVITY, ANON_CART, ANON_CHECKOUT = 0.45, 0.75, 0.35
QUANTITY_SHARES = np.array([0.86, 0.10, 0.04])


@dataclass(frozen=True)
class SynthConfig:
    """Size and seed of the synthetic shop; the same config always yields the same data.

    ``target_events`` is met within a few percent unless there are more shoppers than
    ~target_events / 6: every shopper gets at least one session, which then dominates.
    ``end`` is naive UTC (aware datetimes are converted); events fall in [end - days, end).
    """

    seed: int = 42
    n_departments: int = 5
    n_categories: int = 24
    n_products: int = 1200
    n_customers: int = 1600
    n_anonymous: int = 1000
    days: int = 150
    target_events: int = 220_000
    end: datetime | None = None


@dataclass
class SyntheticShop:
    """Generated tables; ``complements`` lists the planted (sku, complement_sku) pairs."""

    categories: pd.DataFrame
    products: pd.DataFrame
    shoppers: pd.DataFrame
    events: pd.DataFrame
    orders: pd.DataFrame
    order_lines: pd.DataFrame
    complements: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["sku", "complement_sku"]))


@dataclass
class _Shoppers:
    """Latent shopper state used by the simulation (row i = shopper i)."""

    keys: np.ndarray
    is_customer: np.ndarray
    device: np.ndarray
    taste: np.ndarray        # (n, 3) leaf indices, -1 padded, strongest first
    taste_cum: np.ndarray    # (n, 3) cumulative taste weights
    fav_brands: np.ndarray   # (n, 2) global brand indices
    log_price: np.ndarray
    activity: np.ndarray
    email: np.ndarray        # customers: own email; anonymous: guest-checkout email
    name: np.ndarray


def _resolve_end(end: datetime | None) -> datetime:
    """Naive-UTC end of the window; defaults to today 00:00 UTC."""
    if end is None:
        return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    return end.astimezone(timezone.utc).replace(tzinfo=None) if end.tzinfo else end


def _top_k(rng: np.random.Generator, log_weights: np.ndarray, k: int) -> np.ndarray:
    """Weighted sampling without replacement per row via the Gumbel-top-k trick (vectorised)."""
    keys = log_weights + rng.gumbel(size=log_weights.shape)
    return np.argsort(-keys, axis=1, kind="stable")[:, :k]


def _draw_tastes(rng: np.random.Generator, cat: Catalog, home: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-3 taste leaves per shopper, strongest first, mostly from the home department.

    Returns (leaf indices padded with -1, cumulative taste weights whose last real entry is
    exactly 1 so that inverse-CDF draws can never land on the padding).
    """
    n, kmax = len(home), min(3, len(cat.leaf_keys))
    boost = np.where(cat.leaf_dept[None, :] == home[:, None], np.log(HOME_DEPT_BOOST), 0.0)
    taste = _top_k(rng, np.log(cat.leaf_popularity)[None, :] + boost, kmax)
    k = np.minimum(rng.integers(2, 4, size=n), kmax)
    used = np.arange(kmax)[None, :] < k[:, None]
    weights = np.sort(rng.dirichlet(np.full(kmax, 2.0), size=n), axis=1)[:, ::-1] * used
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    cum[np.arange(kmax)[None, :] >= (k - 1)[:, None]] = 1.0
    pad = ((0, 0), (0, 3 - kmax))
    return np.pad(np.where(used, taste, -1), pad, constant_values=-1), np.pad(cum, pad, constant_values=1.0)


def _build_shoppers(rng: np.random.Generator, cfg: SynthConfig, cat: Catalog) -> _Shoppers:
    """Draw each shopper's tastes, favourite brands, price level, device and activity."""
    n_c, n = cfg.n_customers, cfg.n_customers + cfg.n_anonymous
    dept_pop = np.bincount(cat.leaf_dept, weights=cat.leaf_popularity)
    home = rng.choice(len(dept_pop), size=n, p=dept_pop / dept_pop.sum())
    taste, taste_cum = _draw_tastes(rng, cat, home)
    fav = _top_k(rng, np.where(cat.brand_dept[None, :] == home[:, None], 0.0, -np.inf), 2)
    is_customer = np.arange(n) < n_c
    activity = np.minimum(rng.lognormal(0.0, 1.1, n), 25.0) * np.where(is_customer, 1.0, ANON_ACTIVITY)
    seen: set[str] = set()
    c_names, c_emails = people(rng, n_c, "example.com", "", seen)
    g_names, g_emails = people(rng, n - n_c, "example.net", "guest.", seen)
    keys = [f"cust-{i + 1:06d}" for i in range(n_c)] + [f"anon-{i + 1:06d}" for i in range(n - n_c)]
    return _Shoppers(np.array(keys, dtype=object), is_customer, rng.choice(3, size=n, p=DEVICE_SHARES), taste,
                     taste_cum, fav, rng.normal(0.0, 0.3, n), activity,
                     np.array(c_emails + g_emails, dtype=object), np.array(c_names + g_names, dtype=object))


def _taste_leaf(rng: np.random.Generator, sh: _Shoppers, who: np.ndarray) -> np.ndarray:
    """One taste leaf per row of ``who``, drawn by the shopper's taste weights."""
    slot = (rng.random(len(who))[:, None] > sh.taste_cum[who]).sum(axis=1)
    return sh.taste[who, np.minimum(slot, 2)]


def _price_fit(cat: Catalog, sh: _Shoppers, items: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Gaussian match (0..1] between an item's relative price and the shopper's price level."""
    return np.exp(-0.5 * ((cat.log_price_ratio[items] - sh.log_price[who]) / PRICE_FIT_SIGMA) ** 2)


def _is_fav(cat: Catalog, sh: _Shoppers, items: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Whether the item's brand is one of the shopper's favourites."""
    return (cat.product_brand[items][:, None] == sh.fav_brands[who]).any(axis=1)


def _pick_items(rng: np.random.Generator, cat: Catalog, sh: _Shoppers, leaf: np.ndarray, who: np.ndarray) -> np.ndarray:
    """Popularity draw within the leaf; of two candidates the one preferred by brand/price wins."""
    cw = np.concatenate([[0.0], np.cumsum(cat.popularity)])
    lo, hi = cw[cat.leaf_offsets[leaf]], cw[cat.leaf_offsets[leaf + 1]]
    best, best_util = np.zeros(len(leaf), dtype=np.int64), np.full(len(leaf), -np.inf)
    for _ in range(2):
        item = np.searchsorted(cw, lo + rng.random(len(leaf)) * (hi - lo), side="right") - 1
        item = np.clip(item, cat.leaf_offsets[leaf], cat.leaf_offsets[leaf + 1] - 1)
        util = (np.log1p(FAV_BRAND_VIEW * _is_fav(cat, sh, item, who)) + 0.5 * np.log(_price_fit(cat, sh, item, who))
                + rng.gumbel(size=len(leaf)))
        best, best_util = np.where(util > best_util, item, best), np.maximum(util, best_util)
    return best


def _plan_sessions(rng: np.random.Generator, cfg: SynthConfig, sh: _Shoppers, cat: Catalog,
                   start: datetime) -> Sessions:
    """Enough sessions to meet ``target_events``: >= 1 per shopper, the rest by activity."""
    n = len(sh.keys)
    base_views = int(round(cfg.target_events * VIEW_SHARE * 0.99))  # ~1 % of views come from complements
    draws = int(base_views / MEAN_SESSION_VIEWS * 1.3) + n + 10
    lengths = np.minimum(rng.geometric(1.0 / MEAN_SESSION_VIEWS, size=draws), MAX_SESSION_VIEWS)
    n_sessions = min(max(int(np.searchsorted(np.cumsum(lengths), base_views)) + 1, n), draws)
    owner = np.concatenate([np.arange(n), rng.choice(n, size=n_sessions - n, p=sh.activity / sh.activity.sum())])
    focus = np.where(rng.random(n_sessions) < P_FOCUS_IN_TASTE, _taste_leaf(rng, sh, owner),
                     rng.choice(len(cat.leaf_keys), size=n_sessions, p=cat.leaf_popularity))
    device = np.where(rng.random(n_sessions) < P_PREFERRED_DEVICE, sh.device[owner],
                      rng.choice(3, size=n_sessions, p=DEVICE_SHARES))
    day_w = WEEKDAY_WEIGHTS[(start.weekday() + np.arange(cfg.days)) % 7] * np.linspace(*TREND, cfg.days)
    day = rng.choice(cfg.days, size=n_sessions, p=day_w / day_w.sum())
    hour = rng.choice(24, size=n_sessions, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    raw_start = day * 86400 + hour * 3600 + rng.integers(0, 3600, size=n_sessions)
    return Sessions(owner, lengths[:n_sessions], focus, device, raw_start)


def _sample_views(rng: np.random.Generator, sess: Sessions, sh: _Shoppers, cat: Catalog) -> Events:
    """All browsing views; ~80 % fall in the shopper's taste leaves, 12 % revisit an earlier item."""
    session = np.repeat(np.arange(len(sess.length)), sess.length)
    first = np.cumsum(sess.length) - sess.length
    pos = np.arange(len(session)) - first[session]
    who = sess.owner[session]
    u = rng.random(len(session))
    explore = rng.choice(len(cat.leaf_keys), size=len(session), p=cat.leaf_popularity)
    other = np.where(u < P_FOCUS + P_TASTE, _taste_leaf(rng, sh, who), explore)
    leaf = np.where(u < P_FOCUS, sess.focus[session], other)
    drawn = _pick_items(rng, cat, sh, leaf, who)
    revisit = (pos > 0) & (rng.random(len(session)) < P_REPEAT)
    source = first[session] + np.floor(rng.random(len(session)) * pos).astype(np.int64)
    return part(session, pos, SUB_VIEW, np.where(revisit, drawn[source], drawn), VIEW)


def _calibrate(weights: np.ndarray, target: float, cap: float, counts: np.ndarray | None = None) -> np.ndarray:
    """Probabilities min(cap, k * weight) with sum(counts * p) == ``target`` (bisection on k).

    Calibrating on the realised draws rather than on constants keeps the funnel shares on
    target for any config size while the relative preferences stay in ``weights``.
    """
    counts = np.ones_like(weights) if counts is None else counts
    lo, hi = 0.0, cap / max(weights[weights > 0].min(initial=1.0), 1e-12)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if (counts * np.minimum(cap, mid * weights)).sum() < target else (lo, mid)
    return np.minimum(cap, hi * weights)


def _cart_adds(rng: np.random.Generator, sess: Sessions, sh: _Shoppers, cat: Catalog, views: Events) -> Events:
    """Views plus cart adds and complement follow-ups, one cart add per (session, item)."""
    session, pos, item = views["session"], views["pos"], views["item"]
    who = sess.owner[session]
    eligible = first_in_group(session, item) & cat.buyable[item]
    score = (_price_fit(cat, sh, item, who) * (1.0 + FAV_BRAND_CART * _is_fav(cat, sh, item, who))
             * np.where(sh.is_customer[who], 1.0, ANON_CART) * eligible)
    comp = cat.complement[item]
    # Complements add views and carts of their own: solve for the primary-cart target.
    extra = P_COMPLEMENT_VIEW * np.average(comp >= 0, weights=score + 1e-12)
    buyable = np.average(cat.buyable[np.maximum(comp, 0)], weights=score * (comp >= 0) + 1e-12)
    share = ATC_SHARE / VIEW_SHARE
    target = share * len(item) / (1.0 + extra * P_COMPLEMENT_CART * buyable - share * extra)
    carted = rng.random(len(item)) < _calibrate(score, target, 0.9)
    follow = carted & (comp >= 0) & (rng.random(len(item)) < P_COMPLEMENT_VIEW)
    follow_cart = follow & cat.buyable[np.maximum(comp, 0)] & (rng.random(len(item)) < P_COMPLEMENT_CART)
    ev = in_session_order(concat(
        views, part(session[carted], pos[carted], SUB_CART, item[carted], ATC),
        part(session[follow], pos[follow], SUB_COMPLEMENT_VIEW, comp[follow], VIEW),
        part(session[follow_cart], pos[follow_cart], SUB_COMPLEMENT_CART, comp[follow_cart], ATC)))
    is_cart = ev["type"] == ATC
    return take(ev, ~is_cart | first_in_group(np.where(is_cart, ev["session"], -1), ev["item"]))


def _removals_and_checkouts(rng: np.random.Generator, sess: Sessions, sh: _Shoppers, ev: Events) -> Events:
    """Remove ~10 % of cart adds later in the session; check out the rest of some carts.

    The checkout probability per session (customers ~3x guests) is calibrated so that
    transactions reach their target share given the realised cart contents.
    """
    carts = take(ev, ev["type"] == ATC)
    removed = rng.random(len(carts["item"])) < REMOVE_SHARE / ATC_SHARE
    length = sess.length[carts["session"]]
    remove_pos = carts["pos"] + 1 + np.floor(rng.random(len(length)) * (length - carts["pos"])).astype(np.int64)
    basket = np.bincount(carts["session"][~removed], minlength=len(sess.length))
    weight = np.where(sh.is_customer[sess.owner], 1.0, ANON_CHECKOUT) * (basket > 0)
    n_views = int((ev["type"] == VIEW).sum())
    p_checkout = _calibrate(weight, TX_SHARE / VIEW_SHARE * n_views, 0.95, basket)
    bought = ~removed & (rng.random(len(sess.length)) < p_checkout)[carts["session"]]
    tx_session = carts["session"][bought]
    removals = part(carts["session"][removed], remove_pos[removed], SUB_REMOVE, carts["item"][removed], REMOVE)
    return concat(ev, removals, part(tx_session, sess.length[tx_session], SUB_CHECKOUT, carts["item"][bought], TX))


def _keys(prefix: str, n: int, width: int) -> np.ndarray:
    """Zero-padded sequential keys such as ``SES-0000001``."""
    return np.array([f"{prefix}-{i + 1:0{width}d}" for i in range(n)], dtype=object)


def _nullable(values: np.ndarray, mask: np.ndarray) -> pd.Series:
    """Object column: ``values`` in order where ``mask`` is True, real ``None`` elsewhere.

    An explicit object dtype keeps ``None`` (pandas 3 would turn it into NaN in a str column).
    """
    column = np.full(len(mask), None, dtype=object)
    column[mask] = values
    return pd.Series(column, dtype=object)


def _typed(frame: pd.DataFrame, nullable: tuple[str, ...] = ()) -> pd.DataFrame:
    """Give text columns pandas' ``str`` dtype even when empty; ``nullable`` ones stay object/None."""
    text = [c for c in frame.columns if frame[c].dtype == object and c not in nullable]
    return frame.astype({c: "str" for c in text}).reset_index(drop=True)


def _validate(config: SynthConfig) -> None:
    """Reject configs the simulation cannot honour, with a readable message."""
    if config.n_customers < 0 or config.n_anonymous < 0 or config.n_customers + config.n_anonymous < 1:
        raise ValueError("need at least one shopper")
    if config.days < 1 or config.target_events < 1:
        raise ValueError("need at least one day and one event")
    if config.n_products < config.n_categories:
        raise ValueError("need at least one product per category")


def _event_tables(rng: np.random.Generator, sh: _Shoppers, cat: Catalog, sess: Sessions, ev: Events,
                  when: np.ndarray, rank: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Events, orders (one per checkout, keyed in checkout-time order) and order lines."""
    session, item, is_tx = ev["session"], ev["item"], ev["type"] == TX
    owner, device = sess.owner[session], sess.device[session]
    tx_sessions, first_at = np.unique(session[is_tx], return_index=True)
    order_of_session = np.full(len(sess.length), -1)
    order_of_session[tx_sessions[np.argsort(first_at)]] = np.arange(len(tx_sessions))
    order_keys = _keys("ORD", len(tx_sessions), 6)
    ev_order = order_of_session[session]  # -1 outside checkouts
    events = pd.DataFrame({
        "shopper_key": sh.keys[owner], "sku": cat.skus[item], "type": EVENT_TYPES[ev["type"]], "occurred_at": when,
        "session_key": _keys("SES", len(sess.length), 7)[rank[session]], "device": DEVICES[device],
        "order_key": _nullable(order_keys[ev_order[is_tx]], is_tx)})
    head = np.flatnonzero(is_tx)[first_in_group(ev_order[is_tx])]
    orders = pd.DataFrame({
        "order_key": order_keys[ev_order[head]], "shopper_key": sh.keys[owner[head]], "created_at": when[head],
        "email": sh.email[owner[head]], "name": sh.name[owner[head]], "device": DEVICES[device[head]]})
    order_lines = pd.DataFrame({
        "order_key": order_keys[ev_order[is_tx]], "sku": cat.skus[item[is_tx]],
        "quantity": rng.choice(np.arange(1, 4), size=int(is_tx.sum()), p=QUANTITY_SHARES).astype(np.int64),
        "unit_price": cat.products["price"].to_numpy()[item[is_tx]]})
    return events, orders.sort_values("order_key"), order_lines.sort_values(["order_key", "sku"])


def _shopper_table(sh: _Shoppers, cat: Catalog, owner: np.ndarray, when: np.ndarray) -> pd.DataFrame:
    """Public shopper rows; ``first_seen`` is the first event, latent tastes are exposed as text."""
    return pd.DataFrame({
        "shopper_key": sh.keys, "is_customer": sh.is_customer,
        "email": _nullable(sh.email[sh.is_customer], sh.is_customer),
        "name": _nullable(sh.name[sh.is_customer], sh.is_customer), "device": DEVICES[sh.device],
        "first_seen": pd.Series(when).groupby(owner).min().reindex(np.arange(len(sh.keys))).to_numpy(),
        "taste_categories": [",".join(cat.leaf_keys[t[t >= 0]]) for t in sh.taste],
        "favorite_brands": [",".join(cat.brand_names[b]) for b in sh.fav_brands],
        "price_level": np.round(np.exp(sh.log_price), 3)})


def generate_shop(config: SynthConfig = SynthConfig()) -> SyntheticShop:
    """Generate the whole shop for ``config``; identical configs give identical DataFrames."""
    _validate(config)
    end = _resolve_end(config.end)
    start = end - timedelta(days=config.days)
    r_cat, r_shop, r_sess, r_view, r_fun, r_time = np.random.default_rng(config.seed).spawn(6)
    cat = build_catalog(r_cat, config.n_departments, config.n_categories, config.n_products, end)
    sh = _build_shoppers(r_shop, config, cat)
    sess = _plan_sessions(r_sess, config, sh, cat, start)
    ev = _cart_adds(r_fun, sess, sh, cat, _sample_views(r_view, sess, sh, cat))
    ev, seconds, rank = timeline(r_time, sess, _removals_and_checkouts(r_fun, sess, sh, ev), config.days)
    when = (np.datetime64(start, "s") + seconds.astype("timedelta64[s]")).astype("datetime64[ns]")
    events, orders, order_lines = _event_tables(r_time, sh, cat, sess, ev, when, rank)
    first_event = pd.Series(when).groupby(ev["item"]).min().reindex(np.arange(len(cat.skus))).to_numpy()
    shift_created_at(cat.products, first_event.astype("datetime64[ns]"), r_time)
    return SyntheticShop(
        _typed(cat.categories, ("parent_key",)), _typed(cat.products.sort_values("sku")),
        _typed(_shopper_table(sh, cat, sess.owner[ev["session"]], when), ("email", "name")),
        _typed(events, ("order_key",)), _typed(orders), _typed(order_lines), _typed(cat.complements.sort_values("sku")))


__all__ = ["SynthConfig", "SyntheticShop", "generate_shop"]

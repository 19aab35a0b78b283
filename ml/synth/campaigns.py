"""Demo promotional campaigns for the synthetic shop (see :mod:`ml.synth.clicks`).

About a dozen campaigns across the shop's departments, leaf categories and brands, with every
offer kind represented about equally, so the click model's offer-kind interactions have data on
both sides. Dates are placed around the shop's event window: most campaigns run over the whole
window and a year past its end (so the demo home page has a live banner right after seeding),
two ended inside the window, one starts after it, and one was switched off by the marketing
team (``is_active`` False). Deterministic for a seed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml.synth.shop import SyntheticShop

OFFER_KINDS = ("percent_off", "free_shipping", "bundle", "new_arrivals")
N_CAMPAIGNS = 12
N_DEPARTMENT, N_BRAND = 5, 3  # the rest target leaf categories
N_EXPIRED, N_FUTURE, N_PAUSED = 2, 1, 1
LIVE_AFTER_END_DAYS = 365

_BUNDLES = ("2 for 1", "Buy 2, get 1 free", "3 for 2")
_NEW = ("New season", "Just landed")
COLUMNS = ["campaign_key", "name", "target_category_key", "target_brand", "offer", "offer_kind", "headline",
           "body", "starts_at", "ends_at", "is_active", "created_at"]


def _offer(kind: str, rng: np.random.Generator) -> str:
    if kind == "percent_off":
        return f"{int(rng.choice([10, 15, 20, 25, 30]))}% off"
    if kind == "free_shipping":
        return "Free shipping"
    return str(rng.choice(_BUNDLES if kind == "bundle" else _NEW))


def _creative(kind: str, offer: str, title: str, phrase: str) -> tuple[str, str]:
    """Headline and body of the banner (short: they must fit a phone screen). ``title`` is the
    target as a heading says it, ``phrase`` as a sentence does (categories in lower case)."""
    if kind == "percent_off":
        return (f"The {title} sale", f"{offer} {phrase} for a limited time. The discount is applied at checkout.")
    if kind == "free_shipping":
        return (f"{title}, delivered free", f"No minimum order: every {phrase} order ships free while the offer lasts.")
    if kind == "bundle":
        return (f"Stock up on {title}", f"Mix and match across the range: {offer}, the cheapest item is on us.")
    return (f"New in {title}", f"Fresh {phrase} arrivals, picked for the season. Be the first to try them.")


def _targets(shop: SyntheticShop, rng: np.random.Generator) -> list[tuple[str | None, str | None, str]]:
    """(category key, brand, display name) for each campaign: departments, busy leaves, brands."""
    cats = shop.categories
    departments = cats[cats["parent_key"].isna()]
    leaves = cats[cats["parent_key"].notna()]
    views = shop.events["sku"].map(shop.products.set_index("sku")["category_key"]).value_counts()
    busy_leaves = leaves.assign(views=leaves["key"].map(views).fillna(0)).sort_values(["views", "key"], ascending=[False, True])
    brand_views = shop.events["sku"].map(shop.products.set_index("sku")["brand"]).value_counts()
    brands = sorted(brand_views.index[: max(N_BRAND * 3, 1)])  # among the busier brands
    picked: list[tuple[str | None, str | None, str]] = []
    dept_rows = departments.iloc[rng.permutation(len(departments))[:N_DEPARTMENT]]
    picked += [(row.key, None, row.name) for row in dept_rows.itertuples()]
    for brand in rng.permutation(np.array(brands, dtype=object))[:N_BRAND]:
        picked.append((None, str(brand), str(brand)))
    n_leaves = max(N_CAMPAIGNS - len(picked), 0)
    top = busy_leaves.head(max(2 * n_leaves, 1))
    leaf_rows = top.iloc[np.sort(rng.permutation(len(top))[:n_leaves])]
    picked += [(row.key, None, row.name) for row in leaf_rows.itertuples()]
    return picked[:N_CAMPAIGNS]


def demo_campaigns(shop: SyntheticShop, seed: int = 42) -> pd.DataFrame:
    """About 12 campaigns (fewer on a shop with few categories and brands); columns ``COLUMNS``.

    ``target_category_key`` is a category slug (a department or a leaf) or None,
    ``target_brand`` a brand name or None (exactly one of them is set); dates are naive UTC.
    """
    rng = np.random.default_rng([seed, 0xCA4])
    targets = _targets(shop, rng)
    n = len(targets)
    kinds = rng.permutation(np.resize(np.array(OFFER_KINDS, dtype=object), n))
    times = pd.to_datetime(shop.events["occurred_at"])
    start, end = times.min().floor("D"), times.max().ceil("D")
    span = end - start
    # Which campaigns are not simply live: drawn by position in a shuffled order.
    status = np.array(["live"] * n, dtype=object)
    special = rng.permutation(n)
    plan = ["expired"] * N_EXPIRED + ["future"] * N_FUTURE + ["paused"] * N_PAUSED
    for index, state in zip(special, plan[: max(n - 1, 0)]):
        status[index] = state
    rows = []
    for i, ((category, brand, label), kind, state) in enumerate(zip(targets, kinds, status)):
        offer = _offer(kind, rng)
        headline, body = _creative(kind, offer, label, label if brand else label.lower())
        if state == "expired":
            starts = start - pd.Timedelta(days=int(rng.integers(5, 20)))
            ends = start + span * float(rng.uniform(0.3, 0.7))
        elif state == "future":
            starts = end + pd.Timedelta(days=int(rng.integers(7, 30)))
            ends = starts + pd.Timedelta(days=30)
        else:  # live (or paused): from before or early in the window to a year after its end
            early = float(rng.uniform(-0.1, 0.35))
            starts = start + span * early
            ends = end + pd.Timedelta(days=LIVE_AFTER_END_DAYS)
        starts, ends = starts.floor("h"), ends.floor("h")
        name = f"{label}: {offer}"[:110]
        if any(row["name"] == name for row in rows):  # a brand named like a category
            name = f"{name} ({i + 1})"
        rows.append({
            "campaign_key": f"CMP-{i + 1:02d}", "name": name,
            "target_category_key": category, "target_brand": brand, "offer": offer, "offer_kind": kind,
            "headline": headline[:120], "body": body, "starts_at": starts, "ends_at": ends,
            "is_active": state != "paused", "created_at": min(starts, end) - pd.Timedelta(days=2),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("target_category_key", "target_brand"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame

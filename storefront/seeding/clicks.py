"""Demo campaigns and click logs for ``flask shop seed``: what the click-through ranker learns from.

``ml.synth.clicks`` simulates, on the seeded shop's own shoppers and sessions, the widget and
home-banner impressions they were shown and the clicks on them (the click model and its planted
interactions are documented there). This module writes them through the shop's tables, in bulk
and in the caller's transaction, exactly as the live site would have recorded them:

- ``campaigns`` rows (the demo campaigns with structured offers read from their text, some ended,
  one scheduled, one switched off);
- an ``Impression`` per render: visitor, customer, browsing session and device of the simulated
  session, ``strategy`` "seed" (no model produced it), ``model_version`` and ``ranking`` NULL,
  ``items`` the shown product ids in position order (empty for a banner, whose ``campaign_id``
  is set), ``context_product_id`` the page's product for product-page widgets;
- a ``click`` event per click: its impression, the product (NULL for a banner) and
  ``properties`` {"position", "widget"} (+ "campaign_id" for a banner), a few seconds after the
  impression, so every click's product is in its impression at its position.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, insert, select

from ml.synth.shop import SyntheticShop
from ml.synth.clicks import BANNER, ClickSimConfig, demo_campaigns, simulate_impressions
from storefront.extensions import db
from storefront.models.recommendations import SIMULATED_STRATEGY
from storefront.models import CLICK, Campaign, Event, Impression
from storefront.models.campaigns import PROMO_NONE
from storefront.orders.offers import offer_text, parse_offer

CHUNK = 5_000
SEED_STRATEGY = SIMULATED_STRATEGY


@dataclass(frozen=True)
class ClickSeedReport:
    campaigns: int
    widget_impressions: int
    banner_impressions: int
    clicks: int
    banner_clicks: int

    def summary(self) -> str:
        return (f"{self.campaigns} campaigns, {self.widget_impressions:,} widget and "
                f"{self.banner_impressions:,} banner impressions, {self.clicks:,} clicks "
                f"({self.banner_clicks:,} on banners)")


def _datetimes(column: pd.Series) -> list:
    return list(pd.to_datetime(column).dt.to_pydatetime())


def _offer_columns(offer: str, offer_kind: str) -> dict:
    """The structured offer the demo's text means (every demo offer reads clearly: "20% off",
    "Free shipping", "3 for 2", "New season"), with the banner text generated from it, so the
    seeded shop's cart applies what its banners say."""
    parsed = parse_offer(offer, offer_kind)
    columns = {"promo_type": parsed.promo_type, "promo_value": parsed.promo_value, "promo_buy": parsed.promo_buy}
    if parsed.promo_type not in (None, PROMO_NONE):
        columns["offer"] = offer_text(parsed)
    return columns


def _insert_campaigns(campaigns: pd.DataFrame, category_ids: dict[str, int]) -> dict[str, int]:
    rows = [
        {"name": r.name, "target_category_id": category_ids.get(r.target_category_key) if r.target_category_key else None,
         "target_brand": r.target_brand, "offer": r.offer, "offer_kind": r.offer_kind, "headline": r.headline,
         "body": r.body, "starts_at": starts, "ends_at": ends, "is_active": bool(r.is_active), "created_at": created,
         **_offer_columns(r.offer, r.offer_kind)}
        for r, starts, ends, created in zip(campaigns.itertuples(), _datetimes(campaigns["starts_at"]),
                                            _datetimes(campaigns["ends_at"]), _datetimes(campaigns["created_at"]))
    ]
    if not rows:
        return {}
    db.session.execute(insert(Campaign), rows)
    ids = dict(db.session.execute(select(Campaign.name, Campaign.id)).all())
    return {key: ids[name] for key, name in zip(campaigns["campaign_key"], campaigns["name"])}


def _insert_impressions(impressions: pd.DataFrame, product_ids: dict[str, int], visitor_of: dict[str, int],
                        customer_of: dict[str, int], campaign_ids: dict[str, int]) -> list[int]:
    """Insert in chunks; returns the new ids in the frame's order (impression_key order).

    A plain executemany, then the ids above the previous maximum in id order: keys are handed
    out in insertion order inside this one transaction (SQLite rowid, PostgreSQL sequence).
    ``RETURNING`` with parameter order would be row-at-a-time on SQLite, five times slower.
    """
    before = db.session.scalar(select(func.coalesce(func.max(Impression.id), 0)))
    for start in range(0, len(impressions), CHUNK):
        chunk = impressions.iloc[start:start + CHUNK]
        rows = [
            {"visitor_id": visitor_of[shopper], "customer_id": customer_of.get(shopper), "widget": widget,
             "strategy": SEED_STRATEGY, "model_version": None,
             "context_product_id": product_ids[context] if context is not None else None,
             "items": [product_ids[sku] for sku in skus], "device": device, "session_id": session,
             "created_at": created, "campaign_id": campaign_ids[campaign] if campaign is not None else None,
             "ranking": None}
            for shopper, widget, context, skus, device, session, created, campaign in zip(
                chunk["shopper_key"], chunk["widget"], chunk["context_sku"], chunk["skus"], chunk["device"],
                chunk["session_key"], _datetimes(chunk["created_at"]), chunk["campaign_key"])
        ]
        db.session.execute(insert(Impression.__table__), rows)
    ids = list(db.session.scalars(select(Impression.id).where(Impression.id > before).order_by(Impression.id)))
    if len(ids) != len(impressions):
        raise RuntimeError("impressions were written concurrently with the seed")
    return ids


def _click_rows(clicks: pd.DataFrame, impression_ids: list[int], product_ids: dict[str, int],
                visitor_of: dict[str, int], customer_of: dict[str, int], campaign_ids: dict[str, int]) -> list[dict]:
    rows = []
    for key, position, sku, widget, campaign, shopper, session, device, moment in zip(
            clicks["impression_key"], clicks["position"], clicks["sku"], clicks["widget"], clicks["campaign_key"],
            clicks["shopper_key"], clicks["session_key"], clicks["device"], _datetimes(clicks["occurred_at"])):
        properties = {"position": int(position), "widget": widget}
        if widget == BANNER:
            properties["campaign_id"] = campaign_ids[campaign]
        rows.append({
            "visitor_id": visitor_of[shopper], "customer_id": customer_of.get(shopper),
            "product_id": product_ids[sku] if sku is not None else None, "order_id": None,
            "impression_id": impression_ids[int(key)], "asset_id": None, "type": CLICK, "occurred_at": moment,
            "session_id": session, "device": device, "properties": properties,
        })
    return rows


def seed_click_logs(shop: SyntheticShop, seed: int, category_ids: dict[str, int], product_ids: dict[str, int],
                    visitor_of: dict[str, int], customer_of: dict[str, int]) -> ClickSeedReport:
    """Insert the demo campaigns, the simulated impressions and their clicks; flushes."""
    campaigns = demo_campaigns(shop, seed)
    campaign_ids = _insert_campaigns(campaigns, category_ids)
    impressions, clicks = simulate_impressions(shop, campaigns, ClickSimConfig(seed=seed))
    impression_ids = _insert_impressions(impressions, product_ids, visitor_of, customer_of, campaign_ids)
    rows = _click_rows(clicks, impression_ids, product_ids, visitor_of, customer_of, campaign_ids)
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(Event.__table__), rows[start:start + CHUNK])
    db.session.flush()
    banners = int((impressions["widget"] == BANNER).sum())
    return ClickSeedReport(
        campaigns=len(campaign_ids), widget_impressions=len(impressions) - banners, banner_impressions=banners,
        clicks=len(clicks), banner_clicks=int((clicks["widget"] == BANNER).sum()),
    )

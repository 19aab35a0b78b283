"""The click model's training table, read from the shop's impressions and clicks.

One row per (impression, position): the item or campaign shown there, labelled 1 when a valid
click on it was recorded (``click`` events point at their impression). The features are those
of :mod:`storefront.ctr.features`, computed as of each impression where that is cheap
and matters (orders before the moment, hour, weekday) and from the shopper's whole history
where it is not (``top_category``: what they view most moves slowly).

Plain SELECTs into pandas; no ORM objects, so 50k impressions load in about a second.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ml.artifacts import RECOMMENDER
from ml.models.base import Recommender
from ml.training import TrainingResult
from storefront.extensions import db
from storefront.models import CLICK, Campaign, Event, Impression, Order, Product
from storefront.catalog.listings import departments_of_categories as departments
from storefront.ctr import features
from storefront.tracking.visitors import ml_item_id, ml_user_id

LABEL = "label"
TIME = "created_at"
#: Ranks past this are one bucket anyway (see ``ctr_features.RANK_EDGES``), so the retrieval
#: model is asked for this many items per shopper, not for the whole catalogue.
RANKED_ITEMS = features.RANK_EDGES[-1] + 1


def user_keys(visitors: pd.Series, customers: pd.Series) -> list[str | None]:
    """``ml_user_id`` of each row (None when neither id is known); the ids may be floats
    with NaN after a round trip through pandas."""
    keys = []
    for visitor, customer in zip(visitors, customers):
        if pd.notna(customer):
            keys.append(ml_user_id(None, int(customer)))
        else:
            keys.append(ml_user_id(int(visitor), None) if pd.notna(visitor) else None)
    return keys


def _impression_rows() -> pd.DataFrame:
    rows = db.session.execute(
        select(Impression.id, Impression.visitor_id, Impression.customer_id, Impression.widget,
               Impression.items, Impression.device, Impression.created_at, Impression.campaign_id)
    ).all()
    frame = pd.DataFrame(rows, columns=["impression_id", "visitor_id", "customer_id", "widget", "items",
                                        "device", TIME, "campaign_id"])
    banner = frame["campaign_id"].notna()
    frame.loc[banner, "items"] = pd.Series([[None]] * int(banner.sum()), index=frame.index[banner], dtype=object)
    frame = frame.explode("items").rename(columns={"items": "product_id"})
    frame = frame[frame["product_id"].notna() | frame["campaign_id"].notna()]
    frame["position"] = frame.groupby(level=0).cumcount()
    return frame.reset_index(drop=True)


def _labels(frame: pd.DataFrame) -> pd.Series:
    clicks = db.session.execute(
        select(Event.impression_id, Event.product_id)
        .where(Event.type == CLICK, Event.impression_id.is_not(None))
    ).all()
    clicked = {(int(i), int(p) if p is not None else None) for i, p in clicks}
    keys = zip(frame["impression_id"].to_numpy(), frame["product_id"].to_numpy())
    return pd.Series([(int(i), None if pd.isna(p) else int(p)) in clicked for i, p in keys],
                     index=frame.index).astype(np.int8)


def _order_history(frame: pd.DataFrame) -> pd.DataFrame:
    """Orders before each impression (count, days since the last) of the same shopper."""
    orders = pd.DataFrame(
        db.session.execute(select(Order.visitor_id, Order.customer_id, Order.created_at)).all(),
        columns=["visitor_id", "customer_id", "ordered_at"],
    )
    moments = frame[["user", TIME]].reset_index()
    if orders.empty:
        return pd.DataFrame({"orders": 0, "days_since_order": np.nan}, index=frame.index)
    orders["user"] = user_keys(orders["visitor_id"], orders["customer_id"])
    orders = orders.sort_values("ordered_at")
    orders["orders"] = orders.groupby("user").cumcount() + 1
    merged = pd.merge_asof(
        moments.sort_values(TIME), orders[["user", "ordered_at", "orders"]],
        left_on=TIME, right_on="ordered_at", by="user", allow_exact_matches=False,
    ).set_index("index").reindex(frame.index)
    days = (merged[TIME] - merged["ordered_at"]).dt.total_seconds() / 86400
    return pd.DataFrame({"orders": merged["orders"].fillna(0), "days_since_order": days}, index=frame.index)


def _top_categories() -> dict[str, int]:
    """user -> the category of most of their product events."""
    counts = pd.DataFrame(db.session.execute(
        select(Event.visitor_id, Event.customer_id, Product.category_id, func.count())
        .join(Product, Product.id == Event.product_id)
        .group_by(Event.visitor_id, Event.customer_id, Product.category_id)
    ).all(), columns=["visitor_id", "customer_id", "category_id", "n"])
    if counts.empty:
        return {}
    counts["user"] = user_keys(counts["visitor_id"], counts["customer_id"])
    totals = counts.groupby(["user", "category_id"], as_index=False)["n"].sum()
    best = totals.sort_values(["n", "category_id"], ascending=[False, True]).drop_duplicates("user")
    return dict(zip(best["user"], best["category_id"]))


def retrieval_ranks(model: Recommender, result: TrainingResult, users: pd.Series,
                    products: pd.Series) -> pd.Series:
    """1-based rank of each (user, product) in the model's top ``RANKED_ITEMS`` for the user
    (``RANKED_ITEMS + 1`` past it; NaN for a user or item the model does not know)."""
    id_map, ranks = result.id_map, {}
    for user in users.dropna().unique():
        index = int(id_map.user_indices([user])[0])
        if index < 0:
            continue
        ids, _ = model.recommend(index, result.user_items[index], N=min(RANKED_ITEMS, id_map.n_items),
                                 filter_already_liked_items=False)
        ranks[user] = {str(item): r + 1 for r, item in enumerate(id_map.item_ids[ids])}
    values = []
    for user, product in zip(users, products):
        known = ranks.get(user)
        if known is None or pd.isna(product) or not id_map.has_item(ml_item_id(int(product))):
            values.append(np.nan)
        else:
            values.append(known.get(ml_item_id(int(product)), RANKED_ITEMS + 1))
    return pd.Series(values, index=users.index, dtype=float)


def product_frame(department_of: dict[int, str]) -> pd.DataFrame:
    rows = db.session.execute(
        select(Product.id, Product.category_id, Product.brand, Product.price, Product.popularity)
    ).all()
    frame = pd.DataFrame(rows, columns=["product_id", "category_id", "brand", "price", "popularity"])
    frame["price"] = frame["price"].astype(float)
    frame["department"] = frame["category_id"].map(department_of)
    return frame.set_index("product_id")


def campaign_frame(department_of: dict[int, str]) -> pd.DataFrame:
    rows = db.session.execute(
        select(Campaign.id, Campaign.target_category_id, Campaign.target_brand, Campaign.offer_kind)
    ).all()
    frame = pd.DataFrame(rows, columns=["campaign_id", "target_category_id", "target_brand", "offer_kind"])
    frame["department"] = frame["target_category_id"].map(department_of)
    return frame.set_index("campaign_id")


def training_table(result: TrainingResult) -> tuple[pd.DataFrame, features.Buckets]:
    """(rows with ``FEATURE_COLUMNS`` + ``label`` + ``created_at``, the fitted buckets)."""
    frame = _impression_rows()
    if frame.empty:
        return frame, features.Buckets(np.empty(0), np.empty(0))
    frame[LABEL] = _labels(frame)
    frame["user"] = user_keys(frame["visitor_id"], frame["customer_id"])
    history = _order_history(frame)
    user_side = features.user_columns(
        history["orders"].to_numpy(), history["days_since_order"].to_numpy(), frame["device"].to_numpy(),
        frame[TIME].to_numpy(), frame["user"].map(_top_categories()).to_numpy(),
    )
    department_of = departments(features.NONE)
    products, campaigns = product_frame(department_of), campaign_frame(department_of)
    buckets = features.Buckets.fit(products["price"].to_numpy(), products["popularity"].to_numpy())
    is_banner = frame["campaign_id"].notna().to_numpy()
    shown = products.reindex(frame.loc[~is_banner, "product_id"].astype(int))
    promoted = campaigns.reindex(frame.loc[is_banner, "campaign_id"].astype(int))
    item_side = features.item_columns(
        shown["category_id"].to_numpy(), shown["department"].to_numpy(), shown["brand"].to_numpy(),
        shown["price"].to_numpy(), shown["popularity"].to_numpy(), buckets)
    campaign_side = features.campaign_columns(
        promoted["target_category_id"].to_numpy(), promoted["department"].to_numpy(),
        promoted["target_brand"].to_numpy(), promoted["offer_kind"].to_numpy())
    columns = dict(user_side)
    for name in features.ITEM_FEATURES:
        column = np.empty(len(frame), dtype=object)
        column[~is_banner], column[is_banner] = item_side[name], campaign_side[name]
        columns[name] = column
    ranks = retrieval_ranks(result.models[RECOMMENDER], result, frame["user"], frame["product_id"])
    columns["widget"] = frame["widget"].astype(str).to_numpy(dtype=object)
    columns["position"] = features.position(frame["position"].to_numpy())
    columns["retrieval"] = np.where(is_banner, features.BANNER, features.retrieval(ranks.to_numpy()))
    table = pd.DataFrame(columns)
    table[LABEL] = frame[LABEL].to_numpy()
    table[TIME] = frame[TIME].to_numpy()
    return table.fillna(features.NONE), buckets

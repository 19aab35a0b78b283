"""The click-through ranker in the shop: its training table, the training job's comparison, and
re-ranking / banner choice at serve time. Real seeded shop, real training, nothing mocked."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from ml.ctr import CtrTrainConfig, compare_ctr_models
from ml.registry import ModelRegistry
from ml.serving import LoadedVersion
from ml.training import TrainingConfig, train
from tests.storefront.support.recommendations import FAST_TRAINING, events_frame
from tests import factories
from storefront.models import CLICK, RUN_SUCCEEDED, Event, Impression, Product, Visitor
from storefront.models.common import utcnow
from storefront.ctr import data as ctr_data
from storefront.ctr import report as ctr_report
from storefront.ctr import serving as ctr_serving
from storefront.training import job as training
from storefront.ctr.features import FEATURE_COLUMNS
from storefront.tracking.shopper_facts import facts_of
from storefront.tracking.visitors import Shopper
from tests.storefront.support.shop import add_to_cart, ctx, set_product

FOR_YOU = "cart_for_you"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False,
            "CTR_BUDGET_SECONDS": 3, "CTR_MIN_IMPRESSIONS": 500, "CTR_MIN_CLICKS": 20}


def _publish_with_click_model(app, share: float) -> str:
    """Train the recommender and a click model on the seeded logs and publish both, the click
    model whatever its AUC (the serving tests need one; the job's rule is tested separately)."""
    app.config["CTR_RERANK_SHARE"] = share
    with ctx(app):
        result = train(events_frame(app), TrainingConfig(**FAST_TRAINING))
        table, buckets = ctr_data.training_table(result)
        comparison = compare_ctr_models(table, FEATURE_COLUMNS, time_column=ctr_data.TIME,
                                        kinds=("lr", "xdeepfm"), config=CtrTrainConfig(time_budget_seconds=3))

        def write(directory):
            np.savez(directory / ctr_serving.BUCKETS_FILE, **buckets.to_arrays())
            return [*comparison.save(directory, prefix="ctr", kind="xdeepfm"), ctr_serving.BUCKETS_FILE]

        return ModelRegistry(app.config["MODEL_DIR"]).publish(result, extras={ctr_serving.CTR_EXTRA: write})


def _shopper_with_history(app) -> int:
    """A seeded product the test shopper views to get a history (the most viewed one)."""
    with ctx(app) as session:
        return session.scalars(select(Product.id).where(Product.stock > 0).order_by(Product.popularity.desc())).first()


def _last_impression(app, widget: str) -> Impression:
    with ctx(app) as session:
        found = session.scalars(select(Impression).where(Impression.widget == widget)
                                .order_by(Impression.id.desc())).first()
        session.expunge(found)
        return found


def test_the_training_table_has_one_row_per_shown_item_and_labels_from_clicks(seeded):
    with ctx(seeded) as session:
        result = train(events_frame(seeded), TrainingConfig(**FAST_TRAINING))
        table, buckets = ctr_data.training_table(result)
        impressions = session.execute(select(Impression.items, Impression.campaign_id)).all()
        clicks = session.execute(select(Event.impression_id, Event.product_id).where(Event.type == CLICK)).all()
    expected_rows = sum(1 if campaign else len(items) for items, campaign in impressions)
    assert len(table) == expected_rows > 1000
    assert int(table["label"].sum()) == len(set(clicks)) > 20
    assert list(table.columns[:len(FEATURE_COLUMNS)]) == list(FEATURE_COLUMNS)
    assert not table[list(FEATURE_COLUMNS)].isna().any().any()
    banners = table["widget"] == "home_banner"
    assert banners.any() and (table.loc[banners, "retrieval"] == "banner").all()
    assert set(table.loc[~banners, "retrieval"]) <= {"r0", "r1", "r2", "r3", "r4", "unscored"}
    assert table.loc[banners, "offer"].ne("none").all() and table.loc[~banners, "offer"].eq("none").all()
    assert len(buckets.price) > 2


def test_the_training_job_compares_lr_fm_and_xdeepfm_and_records_why_it_published_or_not(seeded):
    with ctx(seeded):
        run = training.run_training()
    assert run.status == RUN_SUCCEEDED, run.error
    record = run.params["extras"]["ctr"]
    models = {m["kind"]: m for m in record["summary"]["models"]}
    assert set(models) == {"lr", "fm", "xdeepfm"}
    assert all(0.5 < m["auc"] <= 1 and m["log_loss"] > 0 and m["train_seconds"] <= 3 + 2 for m in models.values())
    assert sum(b["count"] for b in models["lr"]["calibration"]) == models["lr"]["n_test"]
    published = ModelRegistry(seeded.config["MODEL_DIR"]).manifest(run.version)["extras"]
    if models["xdeepfm"]["auc"] > models["lr"]["auc"]:
        assert record["status"] == "ok" and published["ctr"] == ["ctr_encoder.npz", "ctr_xdeepfm.npz", "ctr_buckets.npz"]
    else:
        assert record["status"] == "skipped" and "did not beat" in record["reason"] and "ctr" not in published


def test_too_few_clicks_skip_the_click_model_with_the_reason(seeded):
    seeded.config["CTR_MIN_CLICKS"] = 10**6
    with ctx(seeded):
        run = training.run_training()
    assert run.status == RUN_SUCCEEDED
    assert run.params["extras"]["ctr"]["status"] == "skipped"
    assert "not enough click data" in run.params["extras"]["ctr"]["reason"]


def test_reranking_orders_by_click_probability_and_keeps_the_rules(seeded, client):
    version = _publish_with_click_model(seeded, share=1.0)
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")
    add_to_cart(client, viewed)
    with ctx(seeded) as session:  # one candidate goes out of stock: the rules must drop it
        sold_out = session.scalars(select(Product.id).where(Product.id != viewed, Product.stock > 0)
                                   .order_by(Product.popularity.desc())).first()
    set_product(seeded, sold_out, stock=0)
    page = client.get("/cart")
    assert page.status_code == 200
    shown = _last_impression(seeded, FOR_YOU)
    assert shown.ranking == "ctr" and shown.strategy.endswith("+xdeepfm")
    assert viewed not in shown.items and sold_out not in shown.items
    assert len(shown.items) == len(set(shown.items)) == 8
    with ctx(seeded) as session:  # the order is the click model's: best predicted first
        served = ctr_serving.ranker_for(LoadedVersion.load(Path(seeded.config["MODEL_DIR"]) / version))
        candidates = list(session.scalars(select(Product).where(Product.stock > 0).order_by(Product.id).limit(40)))
        shopper = Shopper(shown.visitor_id, None)
        ranked = ctr_serving.rerank(served, shopper, facts_of(shopper), candidates, FOR_YOU)
        scores = served.ranker.score(ctr_serving.candidate_table(served, shopper, facts_of(shopper), candidates, FOR_YOU))
    assert sorted(p.id for p in ranked) == [p.id for p in candidates]
    by_id = dict(zip((p.id for p in candidates), scores))
    ranked_scores = [by_id[p.id] for p in ranked]
    assert ranked_scores == sorted(ranked_scores, reverse=True) and ranked_scores[0] > ranked_scores[-1]


def test_encoded_rows_kept_per_catalog_version_equal_fresh_ones_and_follow_a_price_change(seeded, client):
    from storefront.catalog import snapshot

    version = _publish_with_click_model(seeded, share=1.0)
    with ctx(seeded):
        served = ctr_serving.ranker_for(LoadedVersion.load(Path(seeded.config["MODEL_DIR"]) / version))
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")  # a shopper with a history: the user fields are not all "none"
    with ctx(seeded) as session:
        shopper = Shopper(session.scalar(select(Event.visitor_id).where(Event.visitor_id.is_not(None))
                                         .order_by(Event.id.desc()).limit(1)), None)
    encoder = served.ranker.encoder

    def rows():
        with ctx(seeded):
            catalog = snapshot.current()
            cards = catalog.cards(catalog.ranked(30, ()))
            facts = facts_of(shopper)
            kept = ctr_serving.candidate_codes(served, shopper, facts, cards, FOR_YOU, catalog)
            again = ctr_serving.candidate_codes(served, shopper, facts, cards, FOR_YOU, catalog)
            uncached = ctr_serving.candidate_codes(served, shopper, facts, cards, FOR_YOU)
            fresh = encoder.transform(ctr_serving.candidate_table(served, shopper, facts_of(shopper), cards, FOR_YOU))
        return cards, kept, again, uncached, fresh

    cards, kept, again, uncached, fresh = rows()
    assert len(cards) >= 10 and fresh.shape == (len(cards), encoder.n_fields)
    assert kept.tolist() == again.tolist() == uncached.tolist() == fresh.tolist()
    assert len({tuple(row) for row in fresh.tolist()}) > 1  # the rows differ: the items' fields are in them
    # the cheapest product becomes the dearest: the next catalog version's price bucket follows
    price = encoder.fields.index("price")
    cheapest = min(cards, key=lambda card: card.price)
    top_bucket = max(fresh[:, price].tolist())
    set_product(seeded, cheapest.id, price=10**6)
    cards, kept, _, _, fresh = rows()
    position = [card.id for card in cards].index(cheapest.id)
    assert kept[position, price] == fresh[position, price] == top_bucket


def test_the_control_group_sees_the_retrieval_order(seeded, client):
    _publish_with_click_model(seeded, share=0.0)
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")
    client.get("/cart")
    shown = _last_impression(seeded, FOR_YOU)
    assert shown.ranking == "retrieval" and "+" not in shown.strategy


def test_a_broken_click_model_costs_the_reranking_not_the_page(seeded, client):
    version = _publish_with_click_model(seeded, share=1.0)
    directory = Path(seeded.config["MODEL_DIR"]) / version
    (directory / "ctr_xdeepfm.npz").write_bytes(b"not a model")
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")
    assert client.get("/cart").status_code == 200
    shown = _last_impression(seeded, FOR_YOU)
    assert shown.ranking is None and len(shown.items) == 8


def test_the_banner_is_chosen_by_the_click_model_for_the_treatment_group(seeded, client):
    _publish_with_click_model(seeded, share=1.0)
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")
    assert client.get("/").status_code == 200
    banner = _last_impression(seeded, "home_banner")
    assert banner.strategy == "ctr" and banner.campaign_id is not None


def test_campaigns_are_ordered_by_the_scores_of_their_feature_values(seeded, client):
    from storefront.campaigns.banner import live_campaigns
    from storefront.ctr import features

    version = _publish_with_click_model(seeded, share=1.0)
    viewed = _shopper_with_history(seeded)
    client.get(f"/products/{viewed}")
    with ctx(seeded) as session:
        served = ctr_serving.ranker_for(LoadedVersion.load(Path(seeded.config["MODEL_DIR"]) / version))
        shopper = Shopper(session.scalar(select(Event.visitor_id).where(Event.visitor_id.is_not(None))
                                         .order_by(Event.id.desc()).limit(1)), None)
        campaigns = live_campaigns()
        facts = facts_of(shopper)
        ranked = ctr_serving.rank_campaigns(served, shopper, facts, campaigns, "home_banner")
        n = len(campaigns)
        table = {**ctr_serving.shopper_columns(shopper, facts_of(shopper), n),
                 **features.campaign_columns([c.target_category_id for c in campaigns],
                                             [served.department_of.get(c.target_category_id) for c in campaigns],
                                             [c.target_brand for c in campaigns], [c.offer_kind for c in campaigns]),
                 "widget": ["home_banner"] * n, "position": ["0"] * n, "retrieval": [features.BANNER] * n}
        scores = served.ranker.score(table)
    assert n >= 2 and sorted(c.id for c in ranked) == sorted(c.id for c in campaigns)
    by_id = dict(zip((c.id for c in campaigns), scores.tolist()))
    assert [by_id[c.id] for c in ranked] == sorted(scores.tolist(), reverse=True)


def test_the_ml_page_shows_the_click_models_and_the_online_comparison(seeded, admin_client):
    with ctx(seeded):
        training.run_training()
    page = admin_client.get("/admin/ml").get_data(as_text=True)
    assert "Click-through ranker" in page and "xdeepfm" in page and "fm" in page
    assert "Calibration on the test set" in page
    assert "Retrieval models of the served version" in page and "als" in page
    assert "re-ranked vs retrieval order" in page


def test_the_online_comparison_counts_items_shown_and_clicks_per_group(app):
    with ctx(app) as session:
        product = factories.product(factories.category("Lamps"), name="Lamp", stock=5)
        visitor = Visitor(token="online-ctr")
        session.add(visitor)
        session.flush()
        rows = [Impression(visitor_id=visitor.id, widget="home_for_you", strategy="model:als", items=items,
                           ranking=ranking, created_at=utcnow())
                for items, ranking in (([1, 2, 3, 4], "ctr"), ([1, 2], "ctr"), ([5, 6, 7], "retrieval"))]
        session.add_all(rows)
        session.flush()
        session.add_all([Event(visitor_id=visitor.id, product_id=product.id, type=CLICK, impression_id=rows[i].id)
                         for i in (0, 0, 1)])
        session.commit()
        report = ctr_report.online()
    arms = {row.arm: row for row in report.widgets}
    assert (arms["ctr"].impressions, arms["ctr"].items, arms["ctr"].clicks) == (2, 6, 3)
    assert (arms["retrieval"].impressions, arms["retrieval"].items, arms["retrieval"].clicks) == (1, 3, 0)
    assert arms["ctr"].ctr == 0.5 and report.lift is None  # no click in the control group: no ratio

"""The "Suggested next" widget (model and fallbacks), the asset model build, evaluation, seed."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from tests.storefront.support.resources import browser, count, new_asset, new_units, shelf, submit
from tests.fresh_schema import seed_once
from tests.helpers import reset_postgres_schema
from ml.registry import ModelRegistry
from ml.training import TrainingConfig, train
from tests.storefront.support.recommendations import events_frame
from storefront.extensions import db
from storefront.models import ASSET_VIEW, FORM_SUBMISSION, Asset, BusinessUnit, Event, Lead, Visitor
from storefront.training import data as training_data
from storefront.resources import recommender as asset_models
from storefront.resources.training import build_asset_artifacts, build_extra
from storefront.training.extras import ExtraContext, SkipExtra, staged_extras
from tests.storefront.admin.chart_support import assert_charts_drawn_without_inline_code
from tests.storefront.support.shop import ctx, login, new_customer

SEED = ["shop", "seed", "--products", "120", "--categories", "8", "--customers", "60", "--anonymous", "40",
        "--events", "6000", "--days", "30", "--end-date", "2026-01-01", "--b2b-visitors", "400"]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "ASSET_POPULARITY_TTL_SECONDS": 0, "ASSET_SUGGESTIONS": 4}


@pytest.fixture
def units_library(app):
    """cld: A (3 submitters), B (1); sec: C (5, the most popular), D (0); E has no unit (2)."""
    new_units(app, "cld", "sec")
    ids = {name: new_asset(app, f"Asset {name}", units=units, age_days=age)
           for name, units, age in (("A", ("cld",), 9), ("B", ("cld",), 8), ("C", ("sec",), 7),
                                    ("D", ("sec",), 6), ("E", (), 5))}
    address = 0
    for name, submitters in (("A", 3), ("B", 1), ("C", 5), ("E", 2)):
        for _ in range(submitters):
            address += 1
            assert submit(browser(app, f"10.2.0.{address}"), ids[name]).status_code == 302
    return ids


def test_without_a_model_the_visitors_units_come_first_then_popularity(app, units_library):
    ids = units_library
    visitor = browser(app, "10.3.0.1")
    assert submit(visitor, ids["A"]).status_code == 302
    strategy, version, shown = shelf(visitor.get("/resources"))
    assert (strategy, version) == ("unit_popularity", "")
    assert shown == [ids["B"], ids["C"], ids["E"], ids["D"]]  # cld first, then by submitters, then newest
    assert ids["A"] not in shown


def test_an_asset_page_uses_its_own_units_for_a_new_visitor(app, units_library):
    ids = units_library
    strategy, _, shown = shelf(browser(app, "10.3.0.2").get(f"/resources/{ids['D']}"))
    assert strategy == "unit_popularity"
    assert shown == [ids["C"], ids["A"], ids["E"], ids["B"]]  # sec (C) first; D itself never


def test_submitted_assets_are_never_suggested_even_when_nothing_else_is_left(app, units_library):
    ids = units_library
    visitor = browser(app, "10.3.0.3")
    for name in ("A", "B", "C"):
        submit(visitor, ids[name])
    _, _, shown = shelf(visitor.get("/resources"))
    assert sorted(shown) == sorted([ids["D"], ids["E"]])
    with ctx(app) as session:  # a retired asset disappears from the shelf at once
        session.execute(update(Asset).where(Asset.id == ids["D"]).values(active=False))
        session.commit()
    assert shelf(visitor.get("/resources"))[2] == [ids["E"]]


def test_a_customer_is_one_person_across_browsers(app, units_library):
    ids = units_library
    _, email = new_customer(app, "buyer@example.com")
    first, second = browser(app, "10.3.0.4"), browser(app, "10.3.0.5")
    login(first, email)
    submit(first, ids["C"])
    login(second, email)
    assert ids["C"] not in shelf(second.get("/resources"))[2]


def test_home_shows_the_shelf_only_to_visitors_with_asset_history(app, units_library):
    visitor = browser(app, "10.3.0.6")
    assert shelf(visitor.get("/")) is None
    assert shelf(visitor.get("/resources")) is None
    visitor.get(f"/resources/{units_library['A']}")  # a view is history
    strategy, _, shown = shelf(visitor.get("/"))
    # Viewed but not submitted: still worth suggesting (only submitted assets are ruled out).
    assert strategy == "unit_popularity"
    assert shown == [units_library[name] for name in ("A", "B", "C", "E")]


def test_an_empty_library_renders_without_a_shelf(app):
    visitor = browser(app)
    assert visitor.get("/").status_code == 200 and shelf(visitor.get("/resources")) is None


def _publish_with_assets(app) -> str:
    with app.app_context():
        result = train(events_frame(app), TrainingConfig(candidates=("popularity",), search=False, num_threads=1))
        extras = build_asset_artifacts()
        assert list(extras) == ["assets"]
        return ModelRegistry(app.config["MODEL_DIR"]).publish(result, extras=extras)


def test_the_model_suggests_next_and_respects_the_rules(app, runner):
    seed_once(runner, SEED)
    version = _publish_with_assets(app)
    with ctx(app) as session:
        first = session.scalar(select(Asset.id).where(Asset.type == "Gated Ebook Forms").order_by(Asset.id))
    visitor = browser(app, "10.4.0.1")
    assert submit(visitor, first).status_code == 302
    strategy, shown_version, shown = shelf(visitor.get("/resources"))
    assert strategy.startswith("model:") and shown_version == version
    assert len(shown) == 4 and first not in shown
    submit(visitor, shown[0])
    again = shelf(visitor.get(f"/resources/{shown[1]}"))[2]
    assert first not in again and shown[0] not in again and shown[1] not in again
    with ctx(app) as session:
        session.execute(update(Asset).where(Asset.id == again[0]).values(active=False))
        session.commit()
    assert again[0] not in shelf(visitor.get(f"/resources/{shown[1]}"))[2]
    # A known B2B visitor gets the model without submitting anything in this browser.
    with ctx(app) as session:
        token = session.scalar(select(Visitor.token).where(Visitor.token.startswith("b2b-")).order_by(Visitor.id))
        done = set(session.scalars(select(Lead.asset_id).join(Visitor).where(Visitor.token == token)))
    assert done and not done & set(shelf(visitor.get("/resources"))[2])


def test_the_admin_model_page_shows_metrics_and_a_hit_rate_chart(app, runner):
    seed_once(runner, SEED)
    _publish_with_assets(app)
    _, email = new_customer(app, "boss@example.com", admin=True)
    admin = browser(app)
    login(admin, email)
    html = admin.get("/admin/resources/model").get_data(as_text=True)
    for text in ("unit_popularity", "item_knn", "als", "ease", "bu_hit_rate@10", "top_hit_rate@10", "ndcg@10",
                 "recall@10", '<tr class="champion">', '<canvas data-chart="hit-rate"', "BU hit rate@10",
                 "Per business unit", "Security", "Average intra-type similarity", "Webinar",
                 "Hit rate against business-unit hit rate", '<canvas data-chart="pareto"', "ease_units", "(chosen)",
                 "ASSET_MIN_BU_HIT_RATE", "Why "):
        assert text in html, text
    charts = assert_charts_drawn_without_inline_code(html)
    with app.app_context():
        pareto = asset_models.active_summary()[1]["pareto"]
    curves = {d["label"]: d for d in charts["pareto"]["datasets"]}
    assert [p["x"] for p in curves["ease_units"]["data"]] == [
        pytest.approx(r["hit_rate"], abs=1e-6) for r in pareto if r["candidate"] == "ease_units"]
    assert curves["floor 0.6"]["dashed"] and {p["y"] for p in curves["floor 0.6"]["data"]} == {0.6}
    assert html.count("<tr", html.index('class="cart-table metrics-table pareto-table"')) >= len(pareto)
    chart = charts["hit-rate"]
    with app.app_context():
        breakdown = asset_models.active_summary()[1]["breakdown"]
    # One point per interaction bucket with visitors (an empty bucket is a gap, not a 0), y from 0 to 1.
    assert chart["labels"] == [[row["bucket"], f"n={row['n_visitors']}"] for row in breakdown]
    assert (chart["y"]["min"], chart["y"]["max"]) == (0, 1)
    assert [d["label"] for d in chart["datasets"]] == ["Hit rate@10", "BU hit rate@10", "Top hit rate@10"]
    for dataset, metric in zip(chart["datasets"], ("hit_rate@10", "bu_hit_rate@10", "top_hit_rate@10")):
        assert dataset["data"] == [pytest.approx(row[metric], abs=1e-6) if row["n_visitors"] else None
                                   for row in breakdown]
    assert any(row["n_visitors"] for row in breakdown)


def test_the_training_hook_builds_or_skips_the_asset_extra(app, runner, tmp_path):
    with app.app_context():
        with pytest.raises(SkipExtra):
            build_extra(ExtraContext(training_data.load_events_frame(), None))
        assert build_asset_artifacts() == {}
    seed_once(runner, SEED)
    with app.app_context():
        events = training_data.load_events_frame()
        result = train(events, TrainingConfig(candidates=("popularity",), search=False, num_threads=1))
        with staged_extras({"assets": build_extra}, events, result, tmp_path / "models") as staged:
            version = ModelRegistry(tmp_path / "models").publish(result, extras=staged.writers)
        record = staged.records["assets"]
        assert record["status"] == "ok", record
        assert record["summary"]["champion"] and 0 <= record["summary"]["bu_hit_rate@10"] <= 1
        manifest = ModelRegistry(tmp_path / "models").manifest(version)
        assert sorted(manifest["extras"]["assets"]) == [
            "assets_data.npz", "assets_popular.npz", "assets_recommender.npz", "assets_summary.json"]


def test_assets_evaluate_prints_the_metrics(app, runner):
    empty = runner.invoke(args=["assets", "evaluate"])
    assert empty.exit_code != 0 and "Not enough form submissions" in empty.output
    seed_once(runner, SEED)
    result = runner.invoke(args=["assets", "evaluate"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "Protocol: leave-one-out split (each visitor's strongest asset), seed 42, k=10, "
        "tuned on a validation split of the training part, champion floor bu_hit_rate >= 0.6")
    header = result.output.splitlines()[1]
    for column in ("ndcg@10", "recall@10", "hit_rate@10", "bu_hit_rate@10", "top_hit_rate@10"):
        assert column in header
    for text in ("Champion: ", "Why:      best hit rate@10", "Per business unit", "Average intra-type similarity",
                 "\npopularity ", "unit_popularity", "Hit rate vs business-unit hit rate@10", "ease_units", "als_units",
                 "chosen"):
        assert text in result.output, text

    repeated = runner.invoke(args=["resources", "evaluate", "--repeats", "2", "--models", "popularity,ease",
                                   "--format", "json"])
    assert repeated.exit_code == 0, repeated.output
    payload = json.loads(repeated.stdout)
    assert payload["protocol"].startswith("leave-one-out split (each visitor's strongest asset), seeds 42..43, k=10, ")
    rows = {(r["model"], r["metric"]): r for r in payload["results"]}
    assert {model for model, _ in rows} == {"popularity", "ease"}
    ndcg = rows[("ease", "ndcg@10")]
    assert ndcg["repeats"] == 2 and ndcg["ci95_low"] <= ndcg["mean"] <= ndcg["ci95_high"]
    unknown = runner.invoke(args=["resources", "evaluate", "--models", "popularity,nope"])
    assert unknown.exit_code != 0 and "nope" in unknown.output and "Traceback" not in unknown.output


def test_assets_evaluate_takes_the_split_the_search_and_the_floor(app, runner):
    seed_once(runner, SEED)
    random = runner.invoke(args=["resources", "evaluate", "--split", "random", "--test-fraction", "0.3", "--no-search",
                                 "--min-bu-hit-rate", "0.9", "--models", "popularity,unit_popularity,ease",
                                 "--format", "json"])
    assert random.exit_code == 0, random.output
    payload = json.loads(random.stdout)
    assert payload["protocol"] == ("random split, test share 0.3, seed 42, k=10, default parameters, "
                                   "champion floor bu_hit_rate >= 0.9")
    assert {r["split"] for r in payload["results"]} == {"random"}
    table = runner.invoke(args=["resources", "evaluate", "--split", "time", "--models", "popularity,unit_popularity,ease",
                                "--min-bu-hit-rate", "0.9"])
    assert table.exit_code == 0, table.output
    assert table.output.startswith("Protocol: time split, test share 0.2, seed 42, k=10, tuned on a validation")
    # the floor decides: unit popularity stays in the units, EASE does not reach 0.9
    assert "Champion: unit_popularity" in table.output and ">= 0.9" in table.output
    bad = runner.invoke(args=["resources", "evaluate", "--split", "sideways"])
    assert bad.exit_code != 0 and "sideways" in bad.output and "Traceback" not in bad.output


def test_a_time_split_of_an_export_without_times_is_refused_with_a_reason(app, runner, tmp_path):
    from ml.resources.synth import generate_assets, write_export

    data = generate_assets(n_visitors=200, seed=3)
    submissions, mapping = write_export(data.submissions, data.bu_mapping, tmp_path)
    assert runner.invoke(args=["resources", "import", str(submissions), str(mapping)]).exit_code == 0
    refused = runner.invoke(args=["resources", "evaluate", "--split", "time"])
    assert refused.exit_code != 0 and "no usable times" in refused.output and "Traceback" not in refused.output
    assert runner.invoke(args=["resources", "evaluate", "--split", "random", "--no-search"]).exit_code == 0


def _asset_snapshot() -> list[tuple]:
    rows = db.session.execute(
        select(Visitor.token, Asset.external_id, Event.type, Event.occurred_at, Event.properties)
        .join(Visitor, Visitor.id == Event.visitor_id).join(Asset, Asset.id == Event.asset_id).order_by(Event.id)
    )
    return [tuple(row) for row in rows]


def test_the_seed_builds_a_believable_library_deterministically(app, runner):
    with app.app_context():
        assert runner.invoke(args=SEED).exit_code == 0
        assert count(app, Asset) >= 150 and count(app, BusinessUnit) >= 6
        types = db.session.scalar(select(func.count(func.distinct(Asset.type))))
        assert types == 12
        assert count(app, Visitor, Visitor.token.startswith("b2b-")) == 400
        assert count(app, Lead) == count(app, Event, Event.type == FORM_SUBMISSION) > 400
        assert count(app, Event, Event.type == ASSET_VIEW) > count(app, Lead)
        shop_last = db.session.scalar(select(func.max(Event.occurred_at)).where(Event.product_id.is_not(None)))
        assets_last = db.session.scalar(select(func.max(Event.occurred_at)).where(Event.asset_id.is_not(None)))
        assert assets_last <= shop_last.replace(hour=23, minute=59)  # inside the shop's history
        first = _asset_snapshot()
        db.session.remove()
        reset_postgres_schema()
        db.drop_all()
        db.create_all()
        assert runner.invoke(args=SEED).exit_code == 0
        assert _asset_snapshot() == first

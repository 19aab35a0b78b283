"""``flask ml evaluate-baskets`` on a seeded demo shop: "frequently bought together" beats similar
items and popularity on held-out baskets, finds the planted complement pairs, and barely overlaps
"Similar items"; JSON output; bad input is a message, never a traceback."""
from __future__ import annotations

import json

import pytest

from tests import factories

DEMO_SHOP = ["shop", "seed", "--products", "400", "--categories", "12", "--customers", "600", "--anonymous", "300",
             "--events", "60000", "--days", "90", "--end-date", "2026-01-15", "--b2b-visitors", "0"]


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_THREADS": 1}


def _invoke(runner, *args):
    return runner.invoke(args=["ml", "evaluate-baskets", *args])


def test_on_the_demo_shop_complements_win_and_find_the_planted_pairs(runner):
    seeded = runner.invoke(args=DEMO_SHOP)
    assert seeded.exit_code == 0, seeded.output
    table = _invoke(runner, "--resamples", "200")
    assert table.exit_code == 0, table.output
    assert "Planted pairs: demo seed 42 (" in table.stdout and "time split" in table.stdout
    assert "complements - similar:" in table.stdout and "complements/similar" in table.stdout

    result = _invoke(runner, "--resamples", "200", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["planted_source"].startswith("demo seed 42") and report["protocol"]["k"] == 10
    records = report["results"]
    hit = {r["row"]: r["mean"] for r in records if r["kind"] == "holdout" and r["metric"] == "hit_rate@10"}
    assert hit["complements"] > hit["similar"] and hit["complements"] > hit["popularity"]
    assert hit["complements"] > hit["also_bought"]
    versus = {r["row"]: r for r in records if r["kind"] == "difference"}
    assert versus["complements - popularity"]["ci95_low"] > 0
    overlap = {r["row"]: r["mean"] for r in records if r["kind"] == "overlap"}
    assert overlap["complements/similar"] <= 0.3
    planted = {r["metric"]: r["mean"] for r in records if r["kind"] == "planted" and r["row"] == "complements"}
    assert planted["served_top5"] >= 0.8 and planted["top5"] >= 0.8 and planted["supported_top5"] >= 0.8


def test_a_shop_that_is_not_the_demo_is_not_judged_on_planted_pairs(app, runner, tmp_path):
    with app.app_context():
        factories.product(factories.category("Headphones", factories.category("Electronics")))
    none = _invoke(runner, "--planted", "none")
    assert none.exit_code != 0 and "not enough feedback" in none.output  # an empty log: a message
    missing = _invoke(runner, "--planted", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "neither auto, none nor a CSV file" in missing.output
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    refused = _invoke(runner, "--planted", str(bad))
    assert refused.exit_code == 1 and "sku and complement_sku" in refused.output
    assert _invoke(runner, "--k", "0").exit_code == 2
    assert "Traceback" not in missing.output + refused.output + none.output
    with app.app_context():
        from storefront.training.baskets import demo_pairs
        assert demo_pairs(42).pairs is None and "not a demo catalogue" in demo_pairs(42).source

"""``flask ml evaluate-diversity`` on a small seeded shop: every level with its intervals, for the
serving champion as tuned or a named model; without either, a message instead of a traceback."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.storefront.support.recommendations import seed_small_shop, train_and_publish


@pytest.fixture
def shop(app, runner):
    seed_small_shop(runner)


def _run(runner, *options):
    result = runner.invoke(args=["ml", "evaluate-diversity", *options])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_champion_at_every_level(app, runner, shop):
    version = train_and_publish(app)
    champion = json.loads((Path(app.config["MODEL_DIR"]) / version / "manifest.json").read_text())["champion"]
    out = _run(runner)
    assert f"Evaluating {champion} (the champion of version {version}, as tuned)" in out and "time split" in out
    for level in ("none", "low", "medium", "high"):
        assert f"\n{level} " in out
    report = json.loads(_run(runner, "--format", "json", "--k", "5"))
    assert report["model"] == champion and report["k"] == 5 and report["pool"] == 15
    rows = {row["level"]: row for row in report["results"]}
    assert list(rows) == ["none", "low", "medium", "high"]
    assert [rows[level]["lambda"] for level in rows] == [0.0, 0.15, 0.3, 0.5]
    for row in rows.values():
        assert row["ndcg@5_ci95_low"] <= row["ndcg@5_mean"] <= row["ndcg@5_ci95_high"]
        assert 0.0 <= row["ild@5_mean"] <= 1.0 and row["users"] == rows["none"]["users"] > 0
    assert rows["none"]["ndcg_vs_none_mean"] == 0.0
    assert rows["high"]["ild@5_mean"] > rows["none"]["ild@5_mean"]
    assert rows["high"]["categories@5"] > rows["none"]["categories@5"]


def test_a_named_model_needs_no_published_version(runner, shop):
    table = list(csv.DictReader(io.StringIO(_run(runner, "--model", "item_knn_cosine", "--format", "csv",
                                                 "--relevance", "score"))))
    assert [row["level"] for row in table] == ["none", "low", "medium", "high"]


def test_refusals_are_messages(runner, shop):
    result = runner.invoke(args=["ml", "evaluate-diversity"])
    assert result.exit_code != 0 and "flask ml train first" in result.output
    result = runner.invoke(args=["ml", "evaluate-diversity", "--model", "nope"])
    assert result.exit_code != 0 and "unknown model 'nope'" in result.output
    assert "Traceback" not in result.output


def test_an_empty_shop_is_a_message(runner):
    result = runner.invoke(args=["ml", "evaluate-diversity", "--model", "als"])
    assert result.exit_code != 0 and "not enough feedback" in result.output

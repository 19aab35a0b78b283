"""``flask ml evaluate`` under a stated protocol: options, repeats with intervals, output formats,
and its metrics against a plain reference implementation on a fixture."""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest

from ml.data import read_interactions_csv
from ml.training.candidates import split_events
from ml.training.pipeline import prepare_events


def _fixture(path, users: int = 60, items: int = 30, seed: int = 5):
    """Users with 6-10 distinct items each, drawn with a popularity skew (no repeated pairs)."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, items + 1)
    weights /= weights.sum()
    lines = ["user_id,item_id"]
    for user in range(users):
        for item in rng.choice(items, size=int(rng.integers(6, 11)), replace=False, p=weights):
            lines.append(f"u{user:03d},i{item:02d}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _evaluate(runner, path, *options):
    result = runner.invoke(args=["ml", "evaluate", "--interactions", str(path), *options])
    assert result.exit_code == 0, result.output
    return result.stdout


def _reference_popularity(path, split: str, test_fraction: float, seed: int, k: int) -> dict[str, float]:
    """Popularity and its metrics written out by hand: the split is the protocol's own
    (``split_events``); everything after it is plain Python."""
    train, test = split_events(prepare_events(read_interactions_csv(path)), split, test_fraction, seed)
    train_items: dict[str, set[str]] = {}
    for user, item in zip(train["user_id"], train["item_id"]):
        train_items.setdefault(user, set()).add(item)
    known = {item for items in train_items.values() for item in items}
    count = {item: sum(item in items for items in train_items.values()) for item in known}
    ranking = sorted(known, key=lambda item: (-count[item], item))  # ties: the smaller id first
    held: dict[str, set[str]] = {}
    for user, item in zip(test["user_id"], test["item_id"]):
        if user in train_items and item in known:
            held.setdefault(user, set()).add(item)
    ndcg, precision, recall, hits = [], [], [], []
    for user, items in held.items():
        relevant = items - train_items[user]
        if not relevant:
            continue
        top = [item for item in ranking if item not in train_items[user]][:k]
        ranks = [rank for rank, item in enumerate(top, start=1) if item in relevant]
        ideal = sum(1 / math.log2(r + 1) for r in range(1, min(k, len(relevant)) + 1))
        ndcg.append(sum(1 / math.log2(r + 1) for r in ranks) / ideal)
        precision.append(len(ranks) / k)
        recall.append(len(ranks) / len(relevant))
        hits.append(1.0 if ranks else 0.0)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    return {f"ndcg@{k}": mean(ndcg), f"precision@{k}": mean(precision), f"recall@{k}": mean(recall),
            f"hit_rate@{k}": mean(hits)}


@pytest.mark.parametrize("split, fraction", [("random", 0.25), ("leave-one-out", 0.2)])
def test_metrics_match_a_plain_reference_implementation(runner, tmp_path, split, fraction):
    data = _fixture(tmp_path / "interactions.csv")
    output = _evaluate(runner, data, "--split", split, "--test-fraction", str(fraction), "--seed", "3",
                       "--k", "5", "--models", "popularity", "--format", "json")
    got = {r["metric"]: r["mean"] for r in json.loads(output)["results"] if r["model"] == "popularity"}
    expected = _reference_popularity(data, split, fraction, 3, 5)
    for metric, value in expected.items():
        assert got[metric] == pytest.approx(value, abs=1e-9), metric


def test_repeats_give_a_mean_and_a_95_percent_interval(runner, tmp_path):
    data = _fixture(tmp_path / "interactions.csv")
    payload = json.loads(_evaluate(runner, data, "--split", "random", "--repeats", "3", "--seed", "7",
                                   "--models", "popularity,item_knn_cosine", "--format", "json"))
    assert payload["protocol"] == {"split": "random", "test_fraction": 0.2, "seed": 7, "repeats": 3,
                                   "search": False, "k": 10, "half_life_days": None}
    ndcg = {r["model"]: r for r in payload["results"] if r["metric"] == "ndcg@10"}
    assert set(ndcg) == {"popularity", "item_knn_cosine"}
    singles = []
    for seed in (7, 8, 9):  # each repeat is the same evaluation with the next seed
        one = json.loads(_evaluate(runner, data, "--split", "random", "--seed", str(seed), "--models", "popularity",
                                   "--format", "json"))
        singles.append(next(r["mean"] for r in one["results"] if r["metric"] == "ndcg@10"))
        assert next(r["ci95_low"] for r in one["results"] if r["metric"] == "ndcg@10") is None
    row = ndcg["popularity"]
    assert row["mean"] == pytest.approx(np.mean(singles))
    half = 4.302652729911275 * np.std(singles, ddof=1) / math.sqrt(3)  # t(0.975, 2)
    assert (row["ci95_low"], row["ci95_high"]) == (pytest.approx(row["mean"] - half), pytest.approx(row["mean"] + half))


def test_a_recency_half_life_is_part_of_the_protocol(runner, tmp_path):
    data = _fixture(tmp_path / "interactions.csv")
    table = _evaluate(runner, data, "--split", "random", "--models", "popularity", "--half-life", "30")
    assert "recency half-life 30 days" in table
    payload = json.loads(_evaluate(runner, data, "--split", "random", "--models", "popularity", "--half-life", "30",
                                   "--format", "json"))
    assert payload["protocol"]["half_life_days"] == 30.0
    assert {r["half_life_days"] for r in payload["results"]} == {30.0}
    bad = runner.invoke(args=["ml", "evaluate", "--interactions", str(data), "--half-life", "0"])
    assert bad.exit_code != 0 and "half-life" in bad.output


def test_the_table_shows_intervals_and_csv_is_one_row_per_model_and_metric(runner, tmp_path):
    data = _fixture(tmp_path / "interactions.csv")
    table = _evaluate(runner, data, "--split", "random", "--repeats", "2", "--models", "popularity")
    assert "random split, test share 0.2, seeds 42..43, k=10" in table
    assert " ± " in table and "95% Student-t interval over 2 repeats" in table
    rows = list(csv.DictReader(io.StringIO(_evaluate(runner, data, "--split", "leave-one-out", "--models",
                                                     "popularity", "--format", "csv"))))
    assert {row["model"] for row in rows} == {"popularity"}
    assert "ndcg@10" in {row["metric"] for row in rows}
    assert (rows[0]["split"], rows[0]["test_fraction"]) == ("leave-one-out", "")  # no share applies


def test_an_unknown_model_is_a_clear_error(runner, tmp_path):
    data = _fixture(tmp_path / "interactions.csv")
    result = runner.invoke(args=["ml", "evaluate", "--interactions", str(data), "--models", "popularity,nope"])
    assert result.exit_code == 1 and "nope" in result.output and "Traceback" not in result.output

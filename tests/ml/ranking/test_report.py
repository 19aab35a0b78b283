"""The offline diversity report: each level's NDCG@k and ILD@k on a planted events log."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data.interactions import build_interactions
from ml.evaluation import evaluate_model, evaluation_users
from ml.ranking.diversity import LEVELS
from ml.ranking.report import evaluate_diversity, item_codes, score_levels
from ml.training.candidates import CANDIDATES, InteractionCache, split_events
from ml.training.config import TrainingConfig


def planted_events(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Users of four groups view mostly their group's items; each group's items are mostly one
    category (so a model's top list is narrow), brands cut across."""
    rng = np.random.default_rng(seed)
    n_items, n_users = 80, 120
    item_group = np.arange(n_items) % 4
    rows = []
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for user in range(n_users):
        group = user % 4
        for t in range(12):
            mine = rng.random() < 0.8
            pool = np.flatnonzero(item_group == group) if mine else np.arange(n_items)
            item = int(rng.choice(pool, p=None))
            rows.append((f"u{user}", f"i{item}", "view", start + pd.Timedelta(hours=user % 7 + 24 * t)))
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "event", "timestamp"])
    category = np.where(rng.random(n_items) < 0.75, item_group, rng.integers(0, 8, n_items))
    labels = pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)], "category": category,
                           "brand": [f"b{b}" for b in rng.integers(0, 6, n_items)]})
    return events, labels


def test_every_level_with_intervals_and_none_is_the_model_itself():
    events, labels = planted_events()
    report = evaluate_diversity(events, labels, "item_knn_cosine", k=5)
    assert [r.level for r in report.levels] == list(LEVELS)
    by_level = {r.level: r for r in report.levels}
    for result in report.levels:
        assert result.ndcg.low <= result.ndcg.mean <= result.ndcg.high
        assert result.ild.low <= result.ild.mean <= result.ild.high
        assert 0.0 <= result.ild.mean <= 1.0
        assert result.users == by_level["none"].users > 0
    assert by_level["none"].ndcg_vs_none.mean == 0.0
    # the narrow model lists become more varied the higher the level
    assert by_level["high"].ild.mean > by_level["none"].ild.mean
    assert by_level["high"].categories > by_level["none"].categories
    assert "time split" in report.describe()
    record = by_level["low"].as_record(5)
    assert {"ndcg@5_mean", "ild@5_ci95_low", "ndcg_vs_none_ci95_high", "categories@5"} <= set(record)

    # none's NDCG is what flask ml evaluate reports for the same model and users
    train_events, test_events = split_events(events.assign(timestamp=events["timestamp"]), "time", 0.2, 42)
    cache = InteractionCache(train_events)
    weights = TrainingConfig().event_weights
    test, _ = build_interactions(test_events, weights, id_map=cache.id_map)
    spec = CANDIDATES["item_knn_cosine"]
    model = spec.train(spec.resolved_params(TrainingConfig(search=False)), cache.fit_data(weights))
    users = evaluation_users(test, 10_000, 42)
    expected = evaluate_model(model, cache.matrix(weights), test, k=5, users=users)["ndcg@5"]
    assert by_level["none"].ndcg.mean == pytest.approx(expected)


def test_score_relevance_and_unknown_items():
    ids = np.array([[0, 1, 2, -1]])
    scores = np.array([[3.0, 2.9, 0.1, 0.0]])
    categories, brands = np.array([0, 0, 1]), np.array([0, 1, 2])
    by_rank = score_levels(ids, scores, [{1}], categories, brands, 2, {"none": 0.0, "x": 0.4}, "rank")
    by_score = score_levels(ids, scores, [{1}], categories, brands, 2, {"none": 0.0, "x": 0.4}, "score")
    # ranks space 0, 1, 2 evenly (1, 0.5, 0): at 0.4 item 2 (0) beats item 1 (0.6*0.5 - 0.4 = -0.1);
    # by score item 1 is nearly as good as item 0 and keeps its place
    assert by_rank["x"]["ndcg"][0] == 0.0 and by_score["x"]["ndcg"][0] > 0.0
    assert by_rank["none"]["ild"][0] == 0.0 and by_rank["x"]["ild"][0] == 1.0
    with pytest.raises(ValueError):
        score_levels(ids, scores, [{1}], categories, brands, 2, relevance="stars")
    cats, brands = item_codes(np.array(["a", "b", "z"]),
                              pd.DataFrame({"item_id": ["a", "b"], "category": [7, 7], "brand": ["x", None]}))
    assert cats.tolist() == [0, 0, -1] and brands.tolist() == [0, -1, -1]


def test_unknown_model_is_refused():
    events, labels = planted_events()
    with pytest.raises(ValueError, match="unknown model"):
        evaluate_diversity(events, labels, "nope")

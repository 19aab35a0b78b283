"""The training pipeline on planted structure: it compares every candidate on a time holdout,
tunes within its budget, picks a champion that beats popularity, survives a broken candidate,
and is reproducible for a given seed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml.models import ALSRecommender, ItemKNNRecommender
from ml.training import (
    ALSO_BOUGHT,
    COMPLEMENTS,
    POPULAR,
    RECOMMENDER,
    SIMILAR,
    CandidateSpec,
    TrainingConfig,
    basket_keys,
    evaluate_frame,
    train,
)
from ml.training.search import CoordinateSearch

METRIC = "ndcg@10"


def events_from_planted(planted, days: float = 60.0, seed: int = 0) -> pd.DataFrame:
    """One event per stored entry of the planted matrix, at a random time over ``days``: the
    groups' tastes do not change, so the last 20% of the time is a fair holdout."""
    coo = planted.matrix.tocoo()
    rng = np.random.default_rng(seed)
    seconds = rng.uniform(0, days * 86_400, coo.nnz)
    return pd.DataFrame(
        {
            "user_id": [f"u{r}" for r in coo.row],
            "item_id": [f"i{c}" for c in coo.col],
            "event": np.where(rng.random(coo.nnz) < 0.15, "addtocart", "view"),
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, "s"),
        }
    )


@pytest.fixture(scope="module")
def events(planted) -> pd.DataFrame:
    return events_from_planted(planted)


FAST = dict(search_budget_seconds=20.0, search_max_trials=3, num_threads=1)


@pytest.fixture(scope="module")
def result(events):
    stages = []
    outcome = train(events, TrainingConfig(**FAST), progress=lambda s, d: stages.append(s))
    outcome.stages_seen = stages  # for the progress test
    return outcome


def test_champion_beats_popularity_and_every_candidate_is_recorded(result, events):
    assert set(result.candidates) == set(TrainingConfig().candidate_names)
    assert all(c.status == "ok" and METRIC in c.metrics for c in result.candidates.values())
    popularity = result.candidates["popularity"].metrics[METRIC]
    assert result.baseline[METRIC] == popularity
    assert result.champion != "popularity"
    champion = result.candidates[result.champion].metrics[METRIC]
    assert champion == max(c.metrics[METRIC] for c in result.candidates.values())
    assert champion > 1.5 * popularity
    summary = json.loads(json.dumps(result.summary()))  # plain, JSON-ready
    assert summary["metrics"][result.champion][METRIC] == champion
    assert summary["champion_model"] == result.models[RECOMMENDER].name
    # tuned on the validation split, within the per-candidate cap
    assert 0 < result.candidates["als"].search_trials <= 3
    assert result.candidates["als"].validation_ndcg is not None
    assert {t["candidate"] for t in result.search} >= {"als", "item_knn_cosine"}
    data = result.data
    assert data["events"] == len(events)
    assert data["train_events"] + data["test_events"] <= data["events"]
    assert data["test_users"] > 0 and data["interactions"] == result.user_items.nnz
    assert result.user_items.shape == (result.id_map.n_users, result.id_map.n_items)


def test_published_models_are_fitted_on_all_events(result, events):
    assert set(result.models) == {RECOMMENDER, SIMILAR, ALSO_BOUGHT, COMPLEMENTS, POPULAR}
    assert result.id_map.n_items == events["item_id"].nunique()
    assert all(m.n_items == result.id_map.n_items for m in result.models.values())
    assert result.trained_until == events["timestamp"].max().isoformat()


def test_progress_reports_every_stage_and_times_them(result):
    expected = {"prepare", "split", "search", "evaluate", "refit", "extras"}
    assert expected <= set(result.stages_seen)
    assert expected | {"total"} == set(result.timings)


def _explode(model, data):
    raise RuntimeError("boom")


def test_a_failing_candidate_is_recorded_and_the_run_completes(events):
    broken = CandidateSpec("broken", ALSRecommender, {"factors": 4}, {"factors": (8,)},
                           fit=_explode)
    config = TrainingConfig(candidates=("popularity", broken, "item_knn_cosine"), **FAST)
    outcome = train(events, config)
    failed = outcome.candidates["broken"]
    assert failed.status == "failed" and "RuntimeError: boom" in failed.error
    assert failed.metrics == {}
    assert outcome.champion == "item_knn_cosine"
    assert all(t["error"] for t in outcome.search if t["candidate"] == "broken")
    assert outcome.summary()["candidates"]["broken"]["error"] == failed.error


def test_without_a_better_candidate_popularity_is_the_champion(events):
    broken = CandidateSpec("broken", ALSRecommender, fit=_explode)
    outcome = train(events, TrainingConfig(candidates=("popularity", broken), search=False))
    assert outcome.champion == "popularity"
    assert outcome.models[RECOMMENDER].name == "popularity"


def test_ease_is_skipped_over_the_item_budget(events):
    config = TrainingConfig(candidates=("item_knn_cosine", "ease"), search=False, ease_max_items=10)
    outcome = train(events, config)
    assert outcome.candidates["ease"].status == "skipped"
    assert "item budget" in outcome.candidates["ease"].error
    # the popularity bar is computed even when popularity is not a candidate
    assert outcome.baseline["name"] == "popularity" and outcome.champion == "item_knn_cosine"


def test_the_same_seed_gives_the_same_run(events):
    config = TrainingConfig(candidates=("popularity", "als", "bpr"), **FAST)
    first, second = train(events, config), train(events, config)

    def comparable(run):
        summary = run.summary()
        for candidate in summary["candidates"].values():
            candidate.pop("fit_seconds"), candidate.pop("evaluate_seconds")
        for trial in summary["search"]:
            trial.pop("seconds")
        summary.pop("timings")
        return summary

    assert comparable(first) == comparable(second)
    for role, model in first.models.items():
        arrays, again = model._get_arrays(), second.models[role]._get_arrays()
        assert all(np.array_equal(arrays[key], again[key]) for key in arrays), role


def test_evaluate_frame_compares_models_without_timestamps(events):
    no_times = events.drop(columns=["timestamp", "event"])
    table = evaluate_frame(no_times, split="random", candidates=("popularity", "recent_popularity",
                                                                 "item_knn_cosine"))
    assert list(table.index) == ["popularity", "recent_popularity", "item_knn_cosine"]
    assert {METRIC, "recall@10", "fit_seconds", "status", "error"} <= set(table.columns)
    assert table.loc["recent_popularity", "status"] == "skipped"
    assert table.loc["item_knn_cosine", METRIC] > table.loc["popularity", METRIC]
    with pytest.raises(ValueError, match="timestamp"):
        evaluate_frame(no_times, split="time")


def test_bad_configs_and_inputs_are_refused(events):
    with pytest.raises(ValueError, match="split"):
        TrainingConfig(split="sideways")
    with pytest.raises(ValueError, match="unknown candidate"):
        train(events, TrainingConfig(candidates=("nope",)))
    with pytest.raises(ValueError, match="candidate_params"):
        train(events, TrainingConfig(candidates=("als",), candidate_params={"ease": {}}))
    with pytest.raises(ValueError, match="no events"):
        train(events.iloc[:0])
    with pytest.raises(ValueError, match="item_id"):
        train(events.drop(columns=["item_id"]))


def test_coordinate_search_moves_one_parameter_from_the_best_so_far():
    search = CoordinateSearch({"a": 1, "b": 1}, {"a": (2, 3), "b": (5,)}, max_trials=10)
    scores = {(1, 1): 0.1, (2, 1): 0.3, (3, 1): 0.2, (2, 5): 0.4}
    proposed = []
    while (trial := search.next_trial()) is not None:
        proposed.append((trial["a"], trial["b"]))
        search.report(trial, scores[proposed[-1]])
    assert proposed == [(1, 1), (2, 1), (3, 1), (2, 5)]
    assert search.best == {"a": 2, "b": 5}
    capped = CoordinateSearch({"a": 1}, {"a": (2, 3)}, max_trials=2)
    assert [capped.next_trial(), capped.next_trial(), capped.next_trial()] == [
        {"a": 1}, {"a": 2}, None
    ]


def test_baskets_are_orders_plus_carts_that_never_became_orders():
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "a", "b", "b", "b"],
            "item_id": ["x", "y", "x", "y", "x", "z", "w"],
            "event": ["addtocart", "addtocart", "transaction", "transaction", "addtocart",
                      "addtocart", "view"],
            "timestamp": pd.to_datetime(["2026-01-01 10:00"] * 4 + ["2026-01-02 10:00"] * 3,
                                        utc=True),
            "basket_id": [None, None, "o1", "o1", None, None, None],
        }
    )
    keys = basket_keys(frame)
    # a's carts belong to a visit that checked out: only the order counts
    assert keys.iloc[:2].isna().all() and keys.iloc[2] == keys.iloc[3]
    # b abandoned a cart: that visit is a basket; the view belongs to none
    assert keys.iloc[4] == keys.iloc[5] != keys.iloc[2] and pd.isna(keys.iloc[6])
    assert keys.notna().sum() == 4


def test_visits_use_the_session_when_known_and_the_day_otherwise():
    frame = pd.DataFrame(
        {
            "user_id": ["a"] * 4,
            "item_id": ["x", "y", "z", "w"],
            "event": ["addtocart"] * 4,
            "timestamp": pd.to_datetime(["2026-01-01 09:00", "2026-01-01 10:00",
                                         "2026-01-01 11:00", "2026-01-01 12:00"], utc=True),
            "session_id": ["s1", "s1", None, None],
        }
    )
    keys = basket_keys(frame)
    assert keys.iloc[0] == keys.iloc[1] != keys.iloc[2] == keys.iloc[3]


# --- champion selection with a sense of noise -----------------------------------------------------


def test_the_paired_bootstrap_separates_a_real_difference_from_noise():
    from ml.training.significance import paired_bootstrap

    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 2000)
    better = paired_bootstrap(base + 0.05 + rng.normal(0, 0.1, 2000), base, seed=1)
    assert better.better and better.low > 0.03 and better.high < 0.07 and better.users == 2000
    same = paired_bootstrap(base + rng.normal(0, 0.1, 2000), base, seed=1)
    assert not same.better and same.low < 0 < same.high
    assert paired_bootstrap(base, base).as_dict() == {"mean": 0.0, "low": 0.0, "high": 0.0, "users": 2000}
    with pytest.raises(ValueError):
        paired_bootstrap(base, base[:10])


def test_every_candidate_carries_its_interval_against_popularity(result):
    versus = result.selection["vs_popularity"]
    assert set(versus) == {n for n, c in result.candidates.items() if c.status == "ok"} - {"popularity"}
    for name, difference in versus.items():
        assert difference["low"] <= difference["mean"] <= difference["high"], name
        assert difference["mean"] == pytest.approx(
            result.candidates[name].metrics["ndcg@10"] - result.baseline["ndcg@10"], abs=1e-9)
    assert "beat popularity" in result.selection["reason"]
    assert "per_user" not in result.baseline and "per_user_ndcg" not in result.summary()["candidates"][result.champion]


def test_a_serving_champion_stays_unless_beaten_beyond_the_interval(events):
    """Two near-identical candidates: whichever serves keeps serving; against a clearly worse
    serving one, the better candidate takes over."""
    twin = CandidateSpec("als_twin", ALSRecommender, params={"factors": 64, "regularization": 1.0, "alpha": 1.0,
                                                             "iterations": 15, "random_state": 8})  # als, another seed
    config = dict(candidates=("popularity", "als", twin), search=False, num_threads=1)
    first = train(events, TrainingConfig(**config))
    ranked = sorted(["als", "als_twin"], key=lambda n: -first.candidates[n].metrics["ndcg@10"])
    close = first.candidates[ranked[0]].metrics["ndcg@10"] - first.candidates[ranked[1]].metrics["ndcg@10"]
    assert close < 0.02  # the premise: the two differ by noise
    kept = train(events, TrainingConfig(**config, incumbent=ranked[1]))
    assert kept.champion == ranked[1], kept.selection
    assert kept.selection["vs_incumbent"]["challenger"] == ranked[0]
    assert kept.selection["vs_incumbent"]["low"] <= 0 and f"{ranked[1]} stays champion" in kept.selection["reason"]

    weak = CandidateSpec("weak_knn", ItemKNNRecommender, params={"similarity": "cosine", "K": 1})
    beaten = train(events, TrainingConfig(candidates=("popularity", "als", weak), search=False, num_threads=1,
                                          incumbent="weak_knn"))
    if beaten.candidates["weak_knn"].metrics["ndcg@10"] > beaten.baseline["ndcg@10"]:
        assert beaten.champion == "als" and "replaces it" in beaten.selection["reason"]
    else:  # the weak model does not even beat popularity: it is no incumbent to defend
        assert beaten.champion == "als" and "vs_incumbent" not in beaten.selection

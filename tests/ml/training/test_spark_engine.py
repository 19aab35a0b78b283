"""The Spark engine (``TrainingConfig(engine="spark")``): MLlib's implicit ALS scores like
implicit's at the same parameters on the same split, publishes the artifact local ALS publishes
(loaded and served with numpy, no pyspark), and refuses clearly where pyspark or Java is missing.

One Spark session (``local[2]``) serves the module: starting one costs 5-10 s."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.models import ALSRecommender
from ml.registry import ModelRegistry
from ml.training import TrainingConfig, evaluate_frame, train
from ml.training import spark_engine
from ml.training.candidates import CANDIDATES, resolve_candidates
from tests.ml.conftest import planted_matrix
from tests.ml.support import run_in_fresh_interpreter
from tests.ml.training.test_pipeline import events_from_planted

METRIC = "ndcg@10"
MASTER = "local[2]"
needs_spark = pytest.mark.skipif(spark_engine.spark_problem() is not None,
                                 reason=f"Spark tests need pyspark and Java: {spark_engine.spark_problem()}")


@pytest.fixture(scope="module")
def spark():
    if spark_engine.spark_problem() is not None:
        pytest.skip(spark_engine.spark_problem())
    session = spark_engine.spark_session(MASTER)
    yield session
    spark_engine.stop_spark()


@pytest.fixture(scope="module")
def events():
    """Six taste groups of 120 users over 40 items each: views, add-to-carts and purchases (so
    strengths vary and the confidence mapping matters), at random times over 60 days."""
    planted = planted_matrix(n_groups=6, users_per_group=120, items_per_group=40, seed=7)
    frame = events_from_planted(planted, seed=7)
    buying = np.random.default_rng(7).random(len(frame)) < 0.05
    frame.loc[buying, "event"] = "transaction"
    return frame


def _config(engine: str, **overrides) -> TrainingConfig:
    overrides.setdefault("candidates", ("popularity", "als"))
    return TrainingConfig(engine=engine, spark_master=MASTER, search=False, num_threads=1, **overrides)


@needs_spark
@pytest.mark.slow
@pytest.mark.parametrize("params", [
    {},  # the candidate's defaults: 64 factors, regularization 1, alpha 1, 15 iterations
    {"factors": 32, "regularization": 10.0, "alpha": 2.0},
], ids=["defaults", "f32-reg10-alpha2"])
def test_spark_als_scores_like_implicit_at_the_same_parameters_on_the_same_split(spark, events, params):
    scores = {}
    for engine in ("local", "spark"):
        table = evaluate_frame(events, split="time", config=_config(engine, candidate_params={"als": params}))
        assert table.loc["als", "status"] == "ok", table.loc["als", "error"]
        scores[engine] = float(table.loc["als", METRIC])
    print(f"NDCG@10 {params or 'defaults'}: implicit {scores['local']:.4f}, spark {scores['spark']:.4f}")
    assert scores["local"] > float(table.loc["popularity", METRIC]) + 0.02  # the structure is learnt
    assert abs(scores["spark"] - scores["local"]) <= 0.01, scores


@needs_spark
@pytest.mark.slow
def test_the_spark_artifact_is_local_als_and_serves_with_numpy_alone(spark, events, tmp_path):
    result = train(events, _config("spark"))
    assert result.candidates["als"].engine == "spark" and result.candidates["popularity"].engine == "local"
    assert result.champion == "als", result.selection
    model = result.models["recommender"]
    assert type(model) is ALSRecommender and model.params == ALSRecommender(**CANDIDATES["als"].resolved_params(_config("spark"))).params
    assert model.user_factors.dtype == np.float32 and model.item_factors.shape == (result.id_map.n_items, 64)
    assert np.abs(model.item_factors).sum() > 0

    version = ModelRegistry(tmp_path).publish(result)
    manifest = json.loads((tmp_path / version / "manifest.json").read_text())
    assert manifest["config"]["engine"] == "spark" and manifest["candidates"]["als"]["engine"] == "spark"
    expected = [item for item, _ in model_recommendations(result)]
    run_in_fresh_interpreter(
        f"""
        import sys
        for banned in ("pyspark", "pyarrow", "implicit", "py4j"):
            sys.modules[banned] = None  # any import of them now fails
        from ml.serving import ModelHolder
        loaded = ModelHolder({str(tmp_path)!r}).get()
        assert type(loaded.models["recommender"]).__name__ == "ALSRecommender", loaded.models
        got = [item for item, _ in loaded.recommend_for_user("u5", [], 5)]
        assert got == {expected!r}, got
        assert len(loaded.recommend_for_user(None, [("i1", "view"), ("i2", "addtocart")], 5)) == 5
        print("ok")
        """
    )


def model_recommendations(result):
    from ml.serving import LoadedVersion

    loaded = LoadedVersion("v", result.summary(), result.id_map, result.user_items, result.models)
    return loaded.recommend_for_user("u5", [], 5)


def test_only_the_als_candidate_moves_to_spark(monkeypatch):
    monkeypatch.setattr(spark_engine, "spark_problem", lambda: None)
    config = TrainingConfig(engine="spark", spark_master="spark://head:7077", candidates=("popularity", "als", "bpr"))
    specs = {spec.name: spec for spec in resolve_candidates(config)}
    assert specs["popularity"] is CANDIDATES["popularity"] and specs["bpr"] is CANDIDATES["bpr"]
    als = specs["als"]
    assert als.engine == "spark" and als.fit.master == "spark://head:7077"
    assert als.search_space == CANDIDATES["als"].search_space and als.params == CANDIDATES["als"].params
    assert resolve_candidates(TrainingConfig(candidates=("als",)))[0] is CANDIDATES["als"]
    with pytest.raises(ValueError, match="engine must be one of"):
        TrainingConfig(engine="dask")


def test_confidence_and_regularisation_mapping():
    import scipy.sparse as sp

    matrix = sp.csr_matrix(np.array([[2.0, 0.0, 0.5], [0.0, 0.0, 0.0], [1.0, 4.0, 0.0]], dtype=np.float32))
    users, items, ratings = spark_engine.spark_ratings(matrix, alpha=2.0)
    assert users.tolist() == [0, 0, 2, 2] and items.tolist() == [0, 2, 0, 1]
    # MLlib's confidence 1 + rating equals implicit's alpha * strength (floored just above 1)
    assert np.allclose(1.0 + ratings, [4.0, 1.0 + spark_engine.MIN_RATING, 2.0, 8.0])
    # 2 users and 3 items have interactions, 4 of them: the mean row has 4 * 2 / 5 interactions
    assert spark_engine.regularization_scale(matrix) == pytest.approx(5 / 8)


@pytest.mark.parametrize("missing, message", [
    ("pyspark", "pyspark is not installed (pip install -r requirements-spark.txt)"),
    ("java", "Java is not found (Spark needs Java 17 or newer: put `java` on the PATH or set JAVA_HOME)"),
])
def test_a_missing_pyspark_or_java_is_a_clear_error_before_training(monkeypatch, events, missing, message):
    if missing == "pyspark":
        monkeypatch.setattr(spark_engine, "_has_pyspark", lambda: False)
    else:
        monkeypatch.setattr(spark_engine, "_java", lambda: None)
    assert spark_engine.spark_problem() == f"the spark training engine cannot run here: {message}"
    with pytest.raises(spark_engine.SparkUnavailable, match="cannot run here: " + message.split(" (")[0]):
        train(events, _config("spark"))
    assert train(events, _config("spark", candidates=("popularity",))).champion == "popularity"

"""``flask ml train --engine spark``: the ALS candidate trains on Spark MLlib (``local[2]``) and the
published version serves it; without pyspark or Java the command says what to install and
trains nothing."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from flask import current_app

from ml.artifacts import read_active
from ml.models import ALSRecommender
from ml.serving import LoadedVersion
from ml.training import spark_engine
from storefront.extensions import db
from storefront.models import TrainingRun
from tests.storefront.support.recommendations import seed_small_shop


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False,
            "SPARK_MASTER": "local[2]", "SPARK_DRIVER_MEMORY": "1g"}


@pytest.fixture(scope="module")
def spark():
    """One Spark session for the module (startup costs 5-10 s); the command reuses it."""
    if spark_engine.spark_problem() is not None:
        pytest.skip(f"needs pyspark and Java: {spark_engine.spark_problem()}")
    yield spark_engine.spark_session("local[2]")
    spark_engine.stop_spark()


@pytest.mark.slow
def test_train_on_spark_publishes_the_spark_trained_als(app, runner, spark, monkeypatch):
    """The shop's whole job (search, holdout, refit, extras, publish) with the candidates cut to
    popularity and ALS, so that ALS is the champion: the version serves the very factors Spark's
    last fit (the refit on all events) returned."""
    from storefront.training import job

    shop_config = job.training_config
    monkeypatch.setattr(job, "training_config", lambda: dataclasses.replace(
        shop_config(), candidates=("popularity", "recent_popularity", "als")))
    fits = []
    spark_fit = spark_engine.spark_als_factors
    monkeypatch.setattr(spark_engine, "spark_als_factors", lambda *a, **k: fits.append(spark_fit(*a, **k)) or fits[-1])
    seed_small_shop(runner)

    result = runner.invoke(args=["ml", "train", "--engine", "spark"])
    assert result.exit_code == 0, result.output
    assert "Training run #1 succeeded in" in result.output and "Champion: als" in result.output
    with app.app_context():
        run = db.session.get(TrainingRun, 1)
        model_dir = Path(current_app.config["MODEL_DIR"])
        assert run.version == read_active(model_dir)
    assert run.params["config"]["engine"] == "spark" and run.params["config"]["spark_master"] == "local[2]"
    manifest = json.loads((model_dir / run.version / "manifest.json").read_text())
    assert manifest["champion"] == "als" and manifest["candidates"]["als"]["engine"] == "spark"
    assert {c["engine"] for n, c in manifest["candidates"].items() if n != "als"} == {"local"}
    assert len(fits) >= 3  # at least one search trial, the holdout fit and the refit, all on Spark
    served = LoadedVersion.load(model_dir / run.version).models["recommender"]
    assert type(served) is ALSRecommender
    assert np.array_equal(served.user_factors, fits[-1][0]) and np.array_equal(served.item_factors, fits[-1][1])


def test_train_with_the_spark_engine_and_no_pyspark_says_what_to_install(app, runner, monkeypatch):
    monkeypatch.setattr(spark_engine, "_has_pyspark", lambda: False)
    result = runner.invoke(args=["ml", "train", "--engine", "spark"])
    assert result.exit_code == 1
    assert ("Error: cannot train with --engine spark: the spark training engine cannot run here: pyspark is "
            "not installed (pip install -r requirements-spark.txt)") in result.output
    with app.app_context():
        assert db.session.query(TrainingRun).count() == 0  # refused before any run was recorded


def test_training_engine_from_the_config_needs_java_too(app, runner, monkeypatch):
    monkeypatch.setattr(spark_engine, "_java", lambda: None)
    app.config["TRAINING_ENGINE"] = "spark"
    result = runner.invoke(args=["ml", "train"])
    assert result.exit_code == 1
    assert "Java is not found (Spark needs Java 17 or newer: put `java` on the PATH or set JAVA_HOME)" in result.output


def test_a_queued_run_on_the_spark_engine_without_pyspark_fails_with_the_reason(app, runner, monkeypatch):
    from storefront.models import RUN_FAILED, TRIGGER_ADMIN
    from storefront.training import job as training

    monkeypatch.setattr(spark_engine, "_has_pyspark", lambda: False)
    app.config["TRAINING_ENGINE"] = "spark"
    seed_small_shop(runner)
    with app.app_context():
        run, _ = training.request_training(TRIGGER_ADMIN)  # what the admin button queues
        run_id = run.id
    result = runner.invoke(args=["ml", "train", "--run-id", str(run_id)])
    assert result.exit_code == 1
    assert f"Training run #{run_id} failed: SparkUnavailable: the spark training engine cannot run here: " \
           "pyspark is not installed" in result.output
    with app.app_context():
        assert db.session.get(TrainingRun, run_id).status == RUN_FAILED

"""``flask ml train|evaluate|scheduler|status``: thin wrappers with readable output and exit codes."""
from __future__ import annotations

import numpy as np
import pytest
from flask import current_app

from ml.artifacts import read_active
from ml.training import DEFAULT_CANDIDATES
from storefront.extensions import db
from storefront.training.coordination import training_lock
from tests.storefront.support.recommendations import seed_small_shop

METRIC_HEADER = "precision@10  recall@10  ndcg@10  map@10  hit_rate@10  mrr@10  coverage@10   fit s"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


@pytest.fixture
def seeded(runner):
    seed_small_shop(runner)  # the same shop as before (SMALL_SHOP), copied after its first seed
    return runner


def _invoke(runner, *args):
    return runner.invoke(args=["ml", *args])


def test_train_prints_the_candidates_champion_version_and_timings(app, seeded):
    result = _invoke(seeded, "train")
    assert result.exit_code == 0, result.output
    assert "Training run #1 succeeded in" in result.output
    assert METRIC_HEADER in result.output
    for name in DEFAULT_CANDIDATES:
        assert f"\n{name} " in result.output or f"\n*{name} " in result.output
    assert "Champion: " in result.output and "x)" in result.output
    assert "\nWhy:      " in result.output and "vs popularity (NDCG@10 difference, 95% interval): " in result.output
    with app.app_context():
        version = read_active(current_app.config["MODEL_DIR"])
    assert f"Version:  {version}" in result.output
    assert "Timings:  load" in result.output and "total" in result.output

    again = _invoke(seeded, "train", "--if-missing")
    assert again.exit_code == 0
    assert f"Model version {version} is already active; skipping training (--if-missing)." in again.output

    status = _invoke(seeded, "status")
    assert status.exit_code == 0
    assert f"Active version: {version}" in status.output and "NDCG@10 0." in status.output
    assert "#2   failed" not in status.output and "#1   succeeded  cli" in status.output


def test_train_on_an_empty_shop_fails_with_the_reason(runner):
    result = _invoke(runner, "train", "--if-missing")  # nothing active: it does try
    assert result.exit_code == 1
    assert "Training run #1 failed: NotEnoughFeedback: not enough feedback to train: 0 events" in result.output
    status = _invoke(runner, "status")
    assert "No model version is active" in status.output and "#1   failed" in status.output


def test_train_refuses_while_another_job_runs(app, runner):
    with app.app_context(), training_lock(current_app.config["MODEL_DIR"]):  # the lock file, or PostgreSQL's
        result = _invoke(runner, "train")
    assert result.exit_code == 1
    assert "Error: run #1 not started (recorded as failed): a training job is already running: pid" in result.output


def test_train_a_given_run(app, runner):
    from storefront.models import RUN_FAILED, TRIGGER_ADMIN
    from storefront.training import job as training

    missing = _invoke(runner, "train", "--run-id", "7")
    assert missing.exit_code == 1 and "Error: there is no training run #7" in missing.output
    with app.app_context():
        run, _ = training.request_training(TRIGGER_ADMIN)
        run.status = RUN_FAILED  # e.g. expired, or run by another job meanwhile
        db.session.commit()
        run_id = run.id
    done = _invoke(runner, "train", "--run-id", str(run_id))
    assert done.exit_code == 0 and f"run #{run_id} is failed, not queued: nothing to do" in done.output


def _planted_csv(path, users: int = 120, items: int = 60, seed: int = 0) -> None:
    """Users in four taste groups, each group browsing its own quarter of the items."""
    rng = np.random.default_rng(seed)
    lines = ["user_id,item_id,timestamp,event"]
    for user in range(users):
        group = user % 4
        picks = rng.choice(np.arange(group * items // 4, (group + 1) * items // 4), size=8, replace=False)
        for n, item in enumerate(picks):
            stamp = 1_700_000_000 + int(rng.integers(0, 60 * 86_400))
            lines.append(f"u{user},i{item},{stamp},{'addtocart' if n % 5 == 0 else 'view'}")
    path.write_text("\n".join(lines) + "\n")


def test_evaluate_an_interactions_file(runner, tmp_path):
    data = tmp_path / "interactions.csv"
    _planted_csv(data)
    result = _invoke(runner, "evaluate", "--interactions", str(data))
    assert result.exit_code == 0, result.output
    assert f"Evaluating on 960 interactions from {data}: time split, test share 0.2, seed 42, k=10" in result.output
    assert METRIC_HEADER in result.output
    assert "\nals " in result.output and "\nease " in result.output

    random = _invoke(runner, "evaluate", "--interactions", str(data), "--split", "random", "--k", "5")
    assert random.exit_code == 0, random.output
    assert "ndcg@5" in random.stdout and "ndcg@10" not in random.stdout  # the table; logs go to stderr


def test_evaluate_reports_the_bad_line_of_a_broken_file(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,weight\nu1,i1,1\nu2,,1\nu3,i3,lots\n")
    result = _invoke(runner, "evaluate", "--interactions", str(bad))
    assert result.exit_code == 1
    assert "bad.csv:3:" in result.output and "bad.csv:4:" in result.output
    assert "Traceback" not in result.output


def test_evaluate_the_shop_events(seeded):
    result = _invoke(seeded, "evaluate", "--split", "random")
    assert result.exit_code == 0, result.output
    assert "from the shop's events: random split, test share 0.2, seed 42, k=10" in result.output
    assert METRIC_HEADER in result.output


def test_evaluate_an_empty_shop(runner):
    result = _invoke(runner, "evaluate")
    assert result.exit_code == 1 and "not enough feedback to train: 0 events" in result.output


def test_scheduler_once_trains_when_due_and_then_waits(app, seeded):
    first = _invoke(seeded, "scheduler", "--once")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("run #1 succeeded: version ")
    second = _invoke(seeded, "scheduler", "--once", "--interval", "3600")
    assert second.exit_code == 0
    assert second.output.startswith("nothing to do: run #1 succeeded")
    status = _invoke(seeded, "status")
    assert "#1   succeeded  schedule" in status.output


def test_scheduler_once_runs_a_queued_request(app, seeded):
    from storefront.models import TRIGGER_ADMIN
    from storefront.training import job as training

    with app.app_context():
        run, _ = training.request_training(TRIGGER_ADMIN, requested_by="boss@example.com")
        run_id = run.id
    result = _invoke(seeded, "scheduler", "--once")
    assert result.exit_code == 0 and result.output.startswith(f"run #{run_id} succeeded")
    status = _invoke(seeded, "status")
    assert f"#{run_id}   succeeded  admin" in status.output

"""``flask ml ...``: train, evaluate, schedule and inspect the recommendation models.

Thin click wrappers over :mod:`storefront.training.job` and its companions: parse the
options, call the service, print a readable result, exit non-zero on failure.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from storefront.cli.common import candidates_table, format_table, progress_bar, render_records
from storefront.cli.baskets import evaluate_baskets_command
from storefront.cli.ctr import ctr_evaluate_command, ctr_sample_command
from storefront.cli.diversity import evaluate_diversity_command
from storefront.cli.sessions import evaluate_sessions_command
from storefront.models import RUN_SUCCEEDED, TRIGGER_CLI, TrainingRun

ml_cli = AppGroup("ml", help="Train, evaluate and schedule the recommendation models.")
ml_cli.add_command(ctr_evaluate_command)
ml_cli.add_command(ctr_sample_command)
ml_cli.add_command(evaluate_baskets_command)
ml_cli.add_command(evaluate_diversity_command)
ml_cli.add_command(evaluate_sessions_command)

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage")


def metric_names(k: int = 10) -> list[str]:
    return [f"{m}@{k}" for m in METRICS]


def _echo_run(run: TrainingRun) -> None:
    params = run.params or {}
    statuses = {n: c.get("status", "ok") for n, c in (params.get("candidates") or {}).items()}
    click.echo(candidates_table(run.metrics or {}, run.champion, metric_names(), statuses))
    champion_ndcg = run.champion_ndcg
    recent = ((run.metrics or {}).get("recent_popularity") or {}).get("ndcg@10")
    line = f"Champion: {run.champion} (NDCG@10 {champion_ndcg:.4f}"
    if recent:
        line += f"; recent popularity {recent:.4f}, {champion_ndcg / recent:.2f}x"
    click.echo(f"\n{line})  * = champion")
    _echo_selection(params.get("selection") or {})
    click.echo(f"Version:  {run.version}")
    sizes = run.data_sizes or {}
    click.echo("Data:     " + ", ".join(f"{k} {v:,}" for k, v in sizes.items() if isinstance(v, int)))
    click.echo("Timings:  " + ", ".join(f"{k} {v:.1f} s" for k, v in (run.timings or {}).items()))
    _echo_click_model(params)


def _echo_selection(selection: dict) -> None:
    """Why the champion won, and each candidate's NDCG@10 difference to popularity with its 95%
    paired-bootstrap interval."""
    if selection.get("reason"):
        click.echo(f"Why:      {selection['reason']}")
    versus = selection.get("vs_popularity") or {}
    if versus:
        click.echo("vs popularity (NDCG@10 difference, 95% interval): " + ", ".join(
            f"{name} {d['mean']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]" for name, d in versus.items()))


def _echo_click_model(params: dict) -> None:
    """The click models' comparison of the run (the ``ctr`` extra), when it got that far."""
    record = (params.get("extras") or {}).get("ctr") or {}
    models = (record.get("summary") or {}).get("models") or []
    if models:
        click.echo("\nClick-through ranker (time split, test set):")
        click.echo(format_table(["model", "AUC", "log loss", "train s", "epochs", "stopped"], [
            [m["kind"], m.get("auc"), m.get("log_loss"), m.get("train_seconds"), m.get("epochs"), m.get("stopped")]
            for m in models]))
    if record.get("status") == "ok":
        click.echo(f"Published: {(record.get('summary') or {}).get('published')} re-ranks the recommendations.")
    elif record:
        click.echo(f"Click model {record.get('status')}: {record.get('reason') or record.get('error')}")


@ml_cli.command("train")
@click.option("--run-id", type=click.IntRange(min=1), help="Execute this queued run (what the admin button starts).")
@click.option("--if-missing", is_flag=True, help="Do nothing when a model version is already active.")
@click.option("--engine", type=click.Choice(["local", "spark"]), default=None,
              help="Where the ALS candidate trains: here, or on Spark MLlib at SPARK_MASTER "
                   "(needs requirements-spark.txt and Java 17+). Default: TRAINING_ENGINE (local).")
def train_command(run_id, if_missing, engine):
    """Train every candidate, publish the champion as a new version and activate it."""
    from storefront.training import job as training
    from storefront.training.priority import lower_priority

    if if_missing and (version := training.active_version()):
        click.echo(f"Model version {version} is already active; skipping training (--if-missing).")
        return
    if engine is not None:
        current_app.config["TRAINING_ENGINE"] = engine  # this process's run (training_config reads it)
    # refused before any run is recorded; a queued run (--run-id) fails with the same reason instead
    if run_id is None and str(current_app.config.get("TRAINING_ENGINE") or "local").strip().lower() == "spark":
        from ml.training.spark_engine import spark_problem

        if (problem := spark_problem()) is not None:
            raise click.ClickException(f"cannot train with --engine spark: {problem}")
    lower_priority(int(current_app.config["TRAINING_NICENESS"]),
                   idle=bool(current_app.config["TRAINING_IDLE_SCHEDULING"]))
    try:
        with progress_bar() as update:
            run = training.run_training(run_id, TRIGGER_CLI, update)
    except (training.TrainingBusy, training.UnknownRun) as refused:
        raise click.ClickException(str(refused)) from None
    except training.RunNotQueued as idle:
        click.echo(str(idle))
        return
    if run.status != RUN_SUCCEEDED:
        raise click.ClickException(f"Training run #{run.id} failed: {run.error}")
    click.echo(f"Training run #{run.id} succeeded in {run.duration_seconds:.1f} s.\n")
    _echo_run(run)


@ml_cli.command("evaluate")
@click.option("--interactions", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A generic interactions CSV (user_id,item_id[,weight,timestamp,event]); default: the shop's events.")
@click.option("--split", type=click.Choice(["time", "random", "leave-one-out"]), default="time", show_default=True,
              help="time: the latest events are the test; random: per user, a share of their items; "
                   "leave-one-out: each user's latest item.")
@click.option("--test-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True, help="Share held out (time and random splits).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the split, the models and the user sample.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run with seeds SEED, SEED+1...: each metric's mean and 95%% interval over the repeats.")
@click.option("--search/--no-search", default=False, show_default=True,
              help="Tune each model on a validation split carved from the training part, as training does.")
@click.option("--models", help="Comma-separated candidates (default: all), e.g. popularity,als,ease.")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Cut-off of the metrics.")
@click.option("--half-life", "half_life", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Recency: every training event counts 0.5 ** (age / DAYS), age from the latest event (default: no decay).")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def evaluate_command(interactions, split, test_fraction, seed, repeats, search, models, k, half_life, output):
    """Compare models on a holdout under a stated protocol (nothing is published)."""
    from ml.data import DataFormatError, read_interactions_csv
    from ml.training.protocol import Protocol
    from storefront.training import data as training_data

    protocol = Protocol(split=split, test_fraction=test_fraction, seed=seed, repeats=repeats, search=search, k=k,
                        half_life_days=half_life)
    candidates = [name.strip() for name in models.split(",") if name.strip()] if models else None
    try:
        if interactions is not None:
            events = read_interactions_csv(interactions)
            source = str(interactions)
        else:
            events = training_data.load_events_frame()
            training_data.check_enough_feedback(events)
            source = "the shop's events"
        if output == "table":
            click.echo(f"Evaluating on {len(events):,} interactions from {source}: {protocol.describe()}...")
        with progress_bar() as update:
            def progress(stage: str, detail: dict) -> None:
                done = detail["index"] / detail["of"] if "index" in detail else 0.0
                update(f"{stage} {detail.get('candidate', '')}", done)

            result = training_data.evaluate_events(events, protocol, candidates, progress)
    except (DataFormatError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(render_evaluation(result, output, source))


def render_evaluation(result, output: str, source: str) -> str:
    """The protocol's results as a table (mean, and +- the 95% half-width with repeats), JSON or CSV."""
    from ml.training.protocol import as_records

    if output != "table":
        return render_records(as_records(result), output, {
            "source": source, "protocol": dataclasses.asdict(result.protocol), "failures": result.failures})
    names = metric_names(result.protocol.k)
    rows = []
    for model, metrics in result.summary.items():
        cells = []
        for name in names:
            value = metrics.get(name)
            if value is None:
                cells.append(None)
            elif value.half_width is None:
                cells.append(value.mean)
            else:
                cells.append(f"{value.mean:.4f} ± {value.half_width:.4f}")
        fit = metrics.get("fit_seconds")
        rows.append([model, *cells, round(fit.mean, 2) if fit is not None else None])
    lines = [format_table(["model", *names, "fit s"], rows)]
    lines += [f"{model}: {why}" for model, why in result.failures.items()]
    if result.protocol.repeats > 1:
        lines.append(f"± = half-width of the 95% Student-t interval over {result.protocol.repeats} repeats.")
    return "\n".join(lines)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


@ml_cli.command("scheduler")
@click.option("--interval", type=click.IntRange(min=1), default=None,
              help="Seconds between trainings (default: TRAINING_INTERVAL_SECONDS).")
@click.option("--once", is_flag=True, help="One check (and the training it calls for), then exit.")
def scheduler_command(interval, once):
    """Retrain periodically and run queued requests; stops on SIGTERM/SIGINT."""
    from storefront.training.priority import lower_priority
    from storefront.training.scheduler import TrainingInterrupted, TrainingScheduler

    lower_priority(int(current_app.config["TRAINING_NICENESS"]),
                   idle=bool(current_app.config["TRAINING_IDLE_SCHEDULING"]))
    interval = interval or int(current_app.config["TRAINING_INTERVAL_SECONDS"])
    scheduler = TrainingScheduler(interval)
    if not once:
        click.echo(f"Training scheduler: retraining every {interval} s, checking every {scheduler.poll:.0f} s.")
    try:
        with scheduler.handling_signals():
            outcome = scheduler.run(once=once)
    except TrainingInterrupted as stopped:
        click.echo(f"Training scheduler stopped: {stopped}")
        return
    if once and outcome is not None:
        click.echo(outcome.message)
        if outcome.run is not None and outcome.run.status != RUN_SUCCEEDED:
            raise SystemExit(1)
        return
    click.echo("Training scheduler stopped.")


@ml_cli.command("status")
def status_command():
    """The active model version and the last training runs."""
    from storefront.training import overview as training_overview
    from storefront.training import runs as training_runs

    active = training_overview.active_model()
    if active is None:
        click.echo("No model version is active: the widgets serve popularity fallbacks.")
    else:
        ndcg = f"{active.ndcg:.4f}" if active.ndcg is not None else "-"
        click.echo(f"Active version: {active.version}  champion {active.champion}  NDCG@10 {ndcg}"
                   + (f"  (manifest problem: {active.problem})" if active.problem else ""))
    runs = training_runs.recent_runs(5)
    if not runs:
        click.echo("No training run yet.")
        return
    rows = [
        [f"#{r.id}", r.status, r.trigger, f"{r.requested_at:%Y-%m-%d %H:%M}",
         f"{r.duration_seconds:.1f} s" if r.duration_seconds is not None else "-",
         r.champion, r.champion_ndcg, ((r.error or "").splitlines() or [""])[0][:70]]
        for r in runs
    ]
    headers = ["run", "status", "trigger", "requested", "duration", "champion", "ndcg@10", "error"]
    click.echo("\nLast runs:")
    click.echo(format_table(headers, rows))

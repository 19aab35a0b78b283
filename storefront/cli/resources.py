"""``flask resources ...`` (old name ``flask assets``, kept as an alias): import the marketing export, evaluate the asset recommender.

Thin click wrappers over :mod:`storefront.imports.marketing_export` and
:mod:`storefront.resources.training`. Training and publication belong to ``flask ml
train`` (the asset model is published in the same version as the product models).
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from storefront.cli.common import candidates_table, format_table, render_records, run_import

resources_cli = AppGroup("resources", help="Gated B2B content: import the export, evaluate suggestions.")
# The group's name until the gated content was called "resources" everywhere: scripts keep working.
resources_cli_alias = AppGroup("assets", help="Old name of `flask resources`.", hidden=True)

STANDARD = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
UNIT_METRICS = ("hit_rate", "ndcg", "bu_hit_rate", "top_hit_rate")
_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@resources_cli.command("import")
@click.argument("submissions", type=_FILE)
@click.argument("bu_mapping", type=_FILE)
@click.option("--strict", is_flag=True,
              help="Refuse the file when a row cannot be attributed (cookie None or empty) or holds 0 submissions.")
def import_command(submissions: Path, bu_mapping: Path, strict: bool):
    """Import SUBMISSIONS.csv and BU_MAPPING.csv (the marketing export). Rows that cannot be
    attributed (cookie None or empty) or hold 0 submissions are skipped and listed by line;
    a malformed row stops the import with nothing written."""
    from storefront.imports.marketing_export import ExportFormatError, import_export

    run_import(lambda progress: import_export(submissions, bu_mapping, progress, strict=strict), (ExportFormatError,))


@resources_cli.command("evaluate")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Cut-off of the metrics.")
@click.option("--split", type=click.Choice(["leave-one-out", "random", "time"]), default="leave-one-out", show_default=True,
              help="leave-one-out: each visitor's strongest asset; random: a share of each visitor's assets; "
                   "time: the latest share of the submissions (not for an imported export: it has no times).")
@click.option("--test-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2, show_default=True,
              help="Test share of the random and time splits.")
@click.option("--search/--no-search", default=True, show_default=True,
              help="Tune EASE, ALS and the business-unit blend weights on a validation split of the training part, as training does.")
@click.option("--min-bu-hit-rate", type=click.FloatRange(0, 1), default=None,
              help="Marketing's floor in the champion rule (default: ASSET_MIN_BU_HIT_RATE, 0.6).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the split, the tie-breaks and the models.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run with seeds SEED, SEED+1...: each metric's mean and 95%% interval over the repeats.")
@click.option("--models", help="Comma-separated candidates (default: all).")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
def evaluate_command(k: int, split: str, test_fraction: float, search: bool, min_bu_hit_rate: float | None,
                     seed: int, repeats: int, models: str | None, output: str):
    """Compare the asset candidates on a holdout of the shop's form submissions (standard
    metrics, business-unit and top hit rates, overall and per unit; the hit rate / business-unit
    hit rate trade-off of every candidate and blend weight). Publishes nothing."""
    from storefront.resources.training import train_on_shop

    candidates = [name.strip() for name in models.split(",") if name.strip()] if models else None
    options = {"split": split, "test_fraction": test_fraction, "search": search, "min_bu_hit_rate": min_bu_hit_rate}
    try:
        results = [train_on_shop(k, seed + repeat, candidates, **options) for repeat in range(repeats)]
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if results[0] is None:
        raise click.ClickException("Not enough form submissions to evaluate (need two visitors on two assets).")
    protocol = _protocol(results[0].config, repeats)
    if repeats > 1 or output != "table":
        click.echo(_summary(results, protocol, output, k, seed))
        return
    result = results[0]
    click.echo(f"Protocol: {protocol}")
    metrics = {
        name: ({**c.metrics, "fit_seconds": c.fit_seconds} if c.status == "ok" else {})
        for name, c in result.candidates.items()
    }
    statuses = {name: c.status for name, c in result.candidates.items()}
    names = [f"{m}@{k}" for m in STANDARD] + [f"bu_hit_rate@{k}", f"top_hit_rate@{k}"]
    click.echo(candidates_table(metrics, result.champion, names, statuses))
    click.echo(f"\nChampion: {result.champion}  * = champion\nWhy:      {result.selection}")
    click.echo("Data:     " + ", ".join(f"{key} {value:,}" for key, value in result.data.items()))
    names = [f"{m}@{k}" for m in UNIT_METRICS]
    rows = [[unit, int(values.get("n_visitors", 0)), *(values.get(n) for n in names)]
            for unit, values in result.per_unit.items()]
    if rows:
        click.echo(f"\nPer business unit ({result.champion}):")
        click.echo(format_table(["unit", "visitors", *names], rows))
    if result.pareto:
        click.echo(f"\nHit rate vs business-unit hit rate@{k} (front: no other row is better on both; "
                   f"weight: the blend's, chosen on validation = 'chosen'):")
        click.echo(format_table(
            ["candidate", "weight", f"hit_rate@{k}", f"bu_hit_rate@{k}", f"ndcg@{k}", "front", f">= {result.config.min_bu_hit_rate:g}", "chosen"],
            [[row["candidate"], "" if row["weight"] is None else row["weight"], row["hit_rate"], row["bu_hit_rate"], row["ndcg"],
              "*" if row["front"] else "", "yes" if row["meets_minimum"] else "", "chosen" if row["weight"] is not None and row["chosen"] else ""]
             for row in result.pareto]))
    if result.intra_type_similarity:
        click.echo("\nAverage intra-type similarity (cosine of interaction columns):")
        click.echo(format_table(["type", "similarity"], sorted(result.intra_type_similarity.items())))


def _protocol(config, repeats: int) -> str:
    """The protocol in words (what makes two runs' numbers comparable)."""
    split = ("leave-one-out split (each visitor's strongest asset)" if config.split == "leave-one-out"
             else f"{config.split} split, test share {config.test_fraction:g}")
    seeds = f"seed {config.seed}" if repeats == 1 else f"seeds {config.seed}..{config.seed + repeats - 1}"
    tuned = "tuned on a validation split of the training part" if config.search else "default parameters"
    return f"{split}, {seeds}, k={config.k}, {tuned}, champion floor bu_hit_rate >= {config.min_bu_hit_rate:g}"


def _summary(results, protocol: str, output: str, k: int, seed: int) -> str:
    """Each candidate's metrics over the repeats: mean and 95% interval (``ml.training.protocol``)."""
    from ml.training.protocol import estimate

    names = [f"{m}@{k}" for m in STANDARD] + [f"bu_hit_rate@{k}", f"top_hit_rate@{k}"]
    records = []
    for candidate in results[0].candidates:
        runs = [r.candidates[candidate] for r in results if candidate in r.candidates]
        if any(run.status != "ok" for run in runs):
            continue
        for name in names:
            value = estimate([run.metrics.get(name, float("nan")) for run in runs])
            interval = value.interval
            records.append({"model": candidate, "metric": name, "mean": value.mean,
                            "ci95_low": interval[0] if interval else None,
                            "ci95_high": interval[1] if interval else None,
                            "repeats": value.n, "split": results[0].config.split, "seed": seed, "k": k})
    if output != "table":
        return render_records(records, output, {"protocol": protocol})
    by_model: dict[str, dict[str, str | float]] = {}
    for record in records:
        half = None if record["ci95_low"] is None else record["mean"] - record["ci95_low"]
        by_model.setdefault(record["model"], {})[record["metric"]] = (
            record["mean"] if half is None else f"{record['mean']:.4f} ± {half:.4f}")
    rows = [[model, *(values.get(name) for name in names)] for model, values in by_model.items()]
    footer = f"\n± = half-width of the 95% Student-t interval over {len(results)} repeats." if len(results) > 1 else ""
    return f"Protocol: {protocol}\n" + format_table(["model", *names], rows) + footer


for _command in resources_cli.commands.values():
    resources_cli_alias.add_command(_command)

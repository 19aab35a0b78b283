"""``flask ml ctr-evaluate`` / ``flask ml ctr-sample``: check the click models on public click data.

``ctr-evaluate FILE`` trains logistic regression, a factorization machine and xDeepFM on a
click log in the Criteo layout (format 4 of DATA_FORMATS.md: a CSV with a header, or the
original tab-separated files) and prints test AUC and log loss of each; the file's order is
time (the last 20 % of rows are the test set). ``ctr-sample FILE`` writes a synthetic file in
that layout with planted feature interactions, to try it without downloading Criteo.
"""
from __future__ import annotations

from pathlib import Path

import click


@click.command("ctr-evaluate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--max-rows", type=click.IntRange(min=1000), default=None,
              help="Read only the first N rows (the Criteo day files hold ~45 million).")
@click.option("--budget", type=click.FloatRange(min=1), default=120.0, show_default=True,
              help="Training time budget per model, in seconds.")
@click.option("--seed", type=int, default=42, show_default=True)
def ctr_evaluate_command(path: Path, max_rows: int | None, budget: float, seed: int) -> None:
    """Train LR, FM and xDeepFM on a Criteo-layout click file; print AUC and log loss."""
    from ml.ctr import CtrTrainConfig, format_table  # torch: imported for this command only
    from ml.data import DataFormatError
    from ml.datasets.criteo import evaluate_click_file

    click.echo(f"Reading {path}{f' (first {max_rows:,} rows)' if max_rows else ''}...")
    try:
        comparison = evaluate_click_file(
            path, CtrTrainConfig(time_budget_seconds=budget, seed=seed), max_rows=max_rows,
            progress=True,
        )
    except (DataFormatError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    first = next(iter(comparison.results.values()))
    click.echo(f"{first.n_train:,} rows to train, {first.n_test:,} to test (the last 20 % of the file), "
               f"the rows between them for early stopping; click rate {100 * comparison.base_rate:.2f} %, "
               f"{comparison.encoder.n_features:,} features.\n")
    click.echo(format_table(comparison))
    verdict = "beats" if comparison.beats_lr("xdeepfm") else "does NOT beat"
    click.echo(f"\nxDeepFM {verdict} logistic regression on test AUC.")


@click.command("ctr-sample")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--rows", type=click.IntRange(min=1000), default=200_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--tsv", is_flag=True, help="The original Criteo layout: tab separated, no header.")
def ctr_sample_command(path: Path, rows: int, seed: int, tsv: bool) -> None:
    """Write a synthetic Criteo-layout click file with planted feature interactions."""
    from ml.datasets.criteo_synth import write_synthetic_criteo

    write_synthetic_criteo(path, n_rows=rows, seed=seed, header=not tsv)
    click.echo(f"Wrote {rows:,} rows to {path}. Try: flask ml ctr-evaluate {path}")

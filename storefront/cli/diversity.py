"""``flask ml evaluate-diversity``: what each diversity level of the widgets costs in NDCG@k and
buys in intra-list diversity, offline (``storefront.training.diversity``, ``ml.ranking``)."""
from __future__ import annotations

import dataclasses

import click
from flask.cli import with_appcontext

from storefront.cli.common import format_table, render_records


@click.command("evaluate-diversity")
@click.option("--model", help="A candidate at its default parameters (default: the serving champion, as tuned).")
@click.option("--split", type=click.Choice(["time", "random", "leave-one-out"]), default="time", show_default=True)
@click.option("--test-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True, help="Share held out (time and random splits).")
@click.option("--k", type=click.IntRange(min=2, max=100), default=10, show_default=True, help="Cut-off of the metrics.")
@click.option("--relevance", type=click.Choice(["rank", "score"]), default="rank", show_default=True,
              help="What MMR scales to [0, 1]: the candidate's rank (what the widgets use) or the model's score.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the split, the model and the bootstrap.")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@with_appcontext  # a plain command added to the ml group: it needs the app for the database
def evaluate_diversity_command(model, split, test_fraction, k, relevance, seed, output):
    """NDCG@k and intra-list diversity @k of each diversity level (none/low/medium/high)."""
    from storefront.training import diversity

    try:
        choice = diversity.champion_choice(model)
        if output == "table":
            click.echo(f"Evaluating {choice.name} ({choice.source}) at every diversity level...")
        report = diversity.evaluate(choice, split=split, test_fraction=test_fraction, k=k,
                                    relevance=relevance, seed=seed)
    except (diversity.NoModel, ValueError) as error:
        raise click.ClickException(str(error)) from None
    records = [level.as_record(k) for level in report.levels]
    if output != "table":
        header = {key: value for key, value in dataclasses.asdict(report).items() if key != "levels"}
        click.echo(render_records(records, output, {**header, "protocol": report.describe()}))
        return
    click.echo(render_table(report))


def _cell(value) -> str:
    return f"{value.mean:.4f} [{value.low:.4f}, {value.high:.4f}]"


def render_table(report) -> str:
    k = report.k
    rows = [[r.level, f"{r.lam:g}", _cell(r.ndcg), f"{r.ndcg_vs_none.mean:+.4f} [{r.ndcg_vs_none.low:+.4f}, "
             f"{r.ndcg_vs_none.high:+.4f}]", _cell(r.ild), f"{r.categories:.2f}"] for r in report.levels]
    users = report.levels[0].users if report.levels else 0
    return "\n".join([
        f"Protocol: {report.describe()}; {users:,} users.",
        format_table(["level", "lambda", f"NDCG@{k} [95%]", "vs none [95%]", f"ILD@{k} [95%]", f"categories@{k}"], rows),
    ])

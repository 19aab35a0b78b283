"""``flask ml evaluate-baskets``: "frequently bought together" (complements) against similar items,
also-bought and popularity on the shop's held-out baskets, the overlap of the product page's two
rows, and whether planted complement pairs are found (``storefront.training.baskets``)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from flask.cli import with_appcontext

from storefront.cli.common import format_table, render_records


@click.command("evaluate-baskets")
@click.option("--test-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True, help="Share of the events after the time cut-off; baskets started after it are the test.")
@click.option("--k", type=click.IntRange(min=1, max=100), default=10, show_default=True, help="Length of each row scored.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the bootstrap over test baskets.")
@click.option("--resamples", type=click.IntRange(min=10, max=100_000), default=1000, show_default=True,
              help="Bootstrap resamples of the test baskets for the 95%% intervals.")
@click.option("--planted", default="auto", show_default=True,
              help="Known complement pairs: auto (the demo seed's, when this is that demo shop), none, "
                   "or a CSV with sku,complement_sku.")
@click.option("--demo-seed", type=int, default=42, show_default=True, help="The seed the demo shop was seeded with.")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@with_appcontext  # a plain command added to the ml group: it needs the app for the database
def evaluate_baskets_command(test_fraction, k, seed, resamples, planted, demo_seed, output):
    """Hit rate and recall@k of each item-to-item row on held-out baskets (time split), nothing published."""
    from ml.training.basket_protocol import BasketProtocol
    from storefront.training import baskets

    try:
        protocol = BasketProtocol(test_fraction=test_fraction, k=k, seed=seed, resamples=resamples)
        if planted == "none":
            pairs = baskets.PlantedPairs(None, "none (--planted none)")
        elif planted == baskets.AUTO:
            pairs = baskets.demo_pairs(demo_seed)
        else:
            path = Path(planted)
            if not path.is_file():
                raise click.BadParameter(f"{planted!r} is neither auto, none nor a CSV file", param_hint="--planted")
            pairs = baskets.csv_pairs(path)
        if output == "table":
            click.echo(f"Protocol: {protocol.describe()}.\nPlanted pairs: {pairs.source}.")
        result = baskets.evaluate_shop_baskets(protocol, pairs)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error)) from None
    if output != "table":
        header = {"protocol": dataclasses.asdict(protocol), "description": protocol.describe(),
                  "planted_source": pairs.source, "data": result.data}
        click.echo(render_records(result.records(), output, header))
        return
    click.echo(render_table(result))


def _cell(value) -> str:
    return f"{value.mean:.4f} [{value.low:.4f}, {value.high:.4f}]"


def render_table(result) -> str:
    k, data = result.protocol.k, result.data
    rows = [[row, _cell(m[f"hit_rate@{k}"]), _cell(m[f"recall@{k}"])] for row, m in result.metrics.items()]
    lines = [f"{data['test_baskets']:,} test baskets, {data['anchors']:,} anchors; fitted on {data['train_events']:,} "
             f"of {data['events']:,} events.",
             format_table(["row", f"hit_rate@{k} [95%]", f"recall@{k} [95%]"], rows), ""]
    lines += [f"{pair}: {value.mean:+.4f} [{value.low:+.4f}, {value.high:+.4f}] hit_rate@{k}"
              for pair, value in result.versus.items()]
    size = result.protocol.row_size
    lines.append(f"Overlap of the top {size} rows over the catalogue (models on all events): complements/similar "
                 f"{result.overlap['complements/similar']:.4f} ({data['overlap_items']:,} items), also_bought/similar "
                 f"{result.overlap['also_bought/similar']:.4f} ({data['overlap_items_also_bought']:,} items).")
    if result.planted:
        n = result.protocol.planted_k
        planted_rows = [[row, f[f"top{n}"], f[f"served_top{n}"], f[f"supported_top{n}"], f["anchors"],
                         f["supported_anchors"]] for row, f in result.planted.items()]
        lines += ["", f"Planted complement in the anchor's top {n} (served: sold-out and inactive items left out, "
                      "over the anchors whose complement is on sale; supported: anchors in at least one basket):",
                  format_table(["row", f"top{n}", f"served top{n}", f"supported top{n}", "anchors", "supported"],
                               planted_rows)]
    return "\n".join(lines)

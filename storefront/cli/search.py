"""``flask search ...``: the full-text index (``storefront.search``).

``reindex`` rebuilds it from the products table in one transaction: after restoring a dump,
after a bulk load with the triggers dropped, or after changing the tokenizer or the weights.
``query`` shows what the shop's search returns for a query (ranking, corrections).
``evaluate-rerank`` measures the personal re-rank of the first results offline
(``storefront.search.evaluation``: a time split of the purchases, a held-out model).
"""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from storefront.cli.common import format_table

from storefront.extensions import db
from storefront.search.index import rebuild_index  # also hooks the index onto create_all (tests)

search_cli = AppGroup("search", help="The product search index: rebuild it, try a query.")


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the search index (and create it, with its triggers, if it is missing)."""
    try:
        report = rebuild_index()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(f"Search index rebuilt ({report.engine}): {report.products:,} active products, "
               f"{report.words:,} words in {report.seconds:.2f} s.")


@search_cli.command("query")
@click.argument("text")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
def query_command(text, limit):
    """Print the results of a search, best first."""
    from storefront.models import Product
    from storefront.search import find

    found = find(text, limit=limit)
    click.echo(f"{found.total:,} results for {' '.join(found.terms)!r}"
               + (f" (did you mean {found.did_you_mean!r}?)" if found.did_you_mean else "")
               + (" from the corrected query" if found.corrected else ""))
    for position, product_id in enumerate(found.product_ids, start=1):
        product = db.session.get(Product, product_id)
        click.echo(f"{position:>3}. #{product_id} {product.name} ({product.brand})")


@search_cli.command("evaluate-rerank")
@click.option("--test-fraction", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=0.2,
              show_default=True, help="Share of the purchases, the latest, held out as the test.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the model and the bootstrap.")
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True,
              help="Cut-off of the metrics (20 is reported too).")
@click.option("--model", default="als", show_default=True,
              help="The recommender fitted on the events before the split (a training candidate).")
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True)
def evaluate_rerank_command(test_fraction, seed, k, model, output):
    """Measure the personal re-rank of search results offline: category-name queries for the
    latest purchases, ranked with and without a model fitted on the events before them."""
    from storefront.search.evaluation import RerankProtocol, evaluate_rerank

    protocol = RerankProtocol(test_fraction=test_fraction, seed=seed, k=k, model=model)
    try:
        result = evaluate_rerank(protocol)
    except ValueError as error:  # NotEnoughPurchases, an unknown model
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(result.as_dict(), indent=2) if output == "json" else render_rerank(result))


def render_rerank(result) -> str:
    """The protocol, the counts and one row per order, the difference with its interval."""
    names = list(result.differences)
    unchanged = result.no_history + result.no_scores
    lines = [
        f"Protocol: {result.protocol.describe()}.",
        f"Split at {result.split_at:%Y-%m-%d %H:%M} UTC: {result.train_events:,} training events before it, "
        f"{result.test_purchases:,} test purchases.",
        f"Measured: {result.measured:,} test purchases whose shopper has personal scores "
        f"({result.out_of_reach:,} of them with the product outside the first results the re-rank reads: "
        "a miss in both orders).",
        f"Left out, the re-rank leaves their order unchanged: {result.no_history:,} without history "
        f"before the split, {result.no_scores:,} with history but no scores.",
        "",
        format_table(["order", *map(_label, names)], [
            ["engine", *(result.metrics["engine"][n] for n in names)],
            ["personal re-rank", *(result.metrics["reranked"][n] for n in names)],
            ["difference [95% CI]", *(result.differences[n].describe() for n in names)],
        ]),
    ]
    if unchanged:
        lines.append(f"Left out ({unchanged:,}), engine order: "
                     + ", ".join(f"{_label(n)} {result.unchanged[n]:.4f}" for n in names) + ".")
    return "\n".join(lines)


def _label(metric: str) -> str:
    return metric.replace("hit_rate", "hit").replace("mrr", "MRR")

"""``flask search ...``: the full-text index (``storefront.search``).

``reindex`` rebuilds it from the products table in one transaction: after restoring a dump,
after a bulk load with the triggers dropped, or after changing the tokenizer or the weights.
``query`` shows what the shop's search returns for a query (ranking, corrections).
"""
from __future__ import annotations

import click
from flask.cli import AppGroup

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

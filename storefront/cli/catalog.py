"""``flask catalog ...``: the shop's own catalogue from a merchant feed, and its pictures.

``import`` is one transaction (commit on success; a bad row, or any error, rolls everything back
and the report names every bad row); pictures are fetched afterwards, committing one by one, so
a slow or absent network never holds the import's transaction nor undoes it.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from storefront.cli.common import run_import
from storefront.extensions import db

catalog_cli = AppGroup("catalog", help="Import your own catalogue (a CSV or a Google Merchant Center feed).")

_TIMEOUT = click.option("--image-timeout", "timeout", type=click.FloatRange(min=0.5, max=120), default=10.0,
                        show_default=True, help="Seconds allowed for each picture's download.")
_BUDGET = click.option("--fetch-time-limit", "budget", type=click.FloatRange(min=1), default=600.0,
                       show_default=True, help="Seconds for all the downloads of this run; the rest waits for the next.")


def _fetch(timeout: float, budget: float, limit: int | None) -> None:
    from storefront.imports.image_fetch import fetch_pending, pending_ids

    total = len(pending_ids())
    if not total:
        click.echo("No pictures to fetch: every picture URL is stored.")
        return
    stored = failed = 0
    try:
        for outcome in fetch_pending(timeout=timeout, time_budget=budget, limit=limit):
            db.session.commit()  # one picture at a time: an interrupted run keeps what it fetched
            if outcome.error is None:
                stored += 1
            else:
                failed += 1
                click.echo(f"product {outcome.product_id}: {outcome.url[:120]}: {outcome.error}", err=True)
    except BaseException:
        db.session.rollback()
        raise
    left = total - stored - failed
    click.echo(f"Pictures: {stored:,} stored, {failed:,} failed (kept as URLs, tried again next run)"
               + (f", {left:,} not tried yet (time or --limit): run `flask catalog fetch-images` again." if left else "."))


@catalog_cli.command("import")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--currency", default=None, metavar="CODE",
              help="The shop's currency (ISO 4217); a price in another is an error. Default: SHOP_CURRENCY or USD.")
@click.option("--in-stock-quantity", type=click.IntRange(min=1, max=1_000_000), default=100, show_default=True,
              help="Stock given to an in_stock product without a quantity when it has none in the shop.")
@click.option("--deactivate-missing", is_flag=True,
              help="Switch off products of earlier feeds that this feed no longer lists (a full feed).")
@click.option("--force", is_flag=True, help="Apply a file that was already imported (same content) again.")
@click.option("--fetch-images", is_flag=True, help="After the import, download the pictures not stored yet.")
@_TIMEOUT
@_BUDGET
def import_command(feed: Path, currency: str | None, in_stock_quantity: int, deactivate_missing: bool, force: bool,
                   fetch_images: bool, timeout: float, budget: float):
    """Import FEED: a CSV or TSV with a header, or a Merchant Center RSS/XML feed. Upserts by id;
    every bad row is reported by line and nothing is written until the whole file is valid."""
    from ml.data import DataFormatError
    from storefront.catalog.images import prune_files
    from storefront.imports.catalog_feed import import_catalog

    code = (currency or current_app.config.get("SHOP_CURRENCY") or "USD").upper()
    reports = []

    def work(progress):
        report = import_catalog(feed, currency=code, in_stock_quantity=in_stock_quantity,
                                deactivate_missing=deactivate_missing, force=force, progress=progress)
        reports.append(report)
        return report

    run_import(work, (DataFormatError,))
    if reports and reports[0].removed_files:
        prune_files(reports[0].removed_files)  # files of pictures the feed dropped, now the rows are gone
    if fetch_images:
        _fetch(timeout, budget, None)


@catalog_cli.command("fetch-images")
@_TIMEOUT
@_BUDGET
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many pictures.")
def fetch_images_command(timeout: float, budget: float, limit: int | None):
    """Download the feed pictures not stored yet (time-limited; failures are tried again next run)."""
    _fetch(timeout, budget, limit)

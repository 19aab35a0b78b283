"""``flask data ...``: import public e-commerce logs, write synthetic ones.

Thin click wrappers over :mod:`storefront.imports.retailrocket` and
:mod:`storefront.imports.yoochoose`: the command owns the transaction (commit on success,
rollback on any error, so a bad line or a crash leaves the database as it was) and the progress
bar (tqdm, silent when the output is not a terminal). Rows without a visitor or session are
skipped and listed in the report; ``--strict`` refuses the file instead, like ``flask resources
import --strict``.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from storefront.cli.common import run_import

data_cli = AppGroup("data", help="Import public e-commerce logs (Retailrocket, YOOCHOOSE).")
import_group = AppGroup("import", help="Import a dataset: all or nothing, idempotent.")
sample_group = AppGroup("sample", help="Write synthetic files in a dataset's layout.")
data_cli.add_command(import_group)
data_cli.add_command(sample_group)

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_KEEP_INDEXES = click.option(
    "--keep-indexes", is_flag=True,
    help="Never drop the events indexes. A large file into a small shop is faster with them rebuilt at "
         "the end, but on PostgreSQL that locks the events table until the import commits: use this "
         "flag to keep a live shop serving pages during the import.")
_STRICT = click.option(
    "--strict", is_flag=True,
    help="Refuse the file when a row cannot be attributed (visitor or session id None, null, NaN or empty) "
         "instead of skipping it and listing its line in the report.")


def _run(work) -> None:
    """Run ``work(progress)`` in one transaction with a progress bar; print the summary."""
    from ml.data import DataFormatError

    run_import(work, (DataFormatError,))


@import_group.command("retailrocket")
@click.argument("events", type=_FILE)
@click.option("--properties", type=_FILE, multiple=True,
              help="item_properties_part*.csv (repeat the option, or list the files after it).")
@click.option("--categories", type=_FILE, help="category_tree.csv")
@_KEEP_INDEXES
@_STRICT
@click.argument("more_properties", nargs=-1, type=_FILE)
def import_retailrocket_command(events: Path, properties: tuple[Path, ...], categories: Path | None,
                                keep_indexes: bool, strict: bool, more_properties: tuple[Path, ...]):
    """Import the Retailrocket EVENTS.csv, with item properties and the category tree. Events
    without a visitor (visitorid None or empty) are skipped and listed by line; a malformed
    line stops the import with nothing written."""
    from storefront.imports.retailrocket import import_retailrocket

    _run(lambda progress: import_retailrocket(events, [*properties, *more_properties], categories, progress,
                                              keep_indexes=keep_indexes, strict=strict))


@import_group.command("yoochoose")
@click.argument("clicks", type=_FILE)
@click.argument("buys", type=_FILE, required=False)
@_KEEP_INDEXES
@_STRICT
def import_yoochoose_command(clicks: Path, buys: Path | None, keep_indexes: bool, strict: bool):
    """Import the RecSys Challenge 2015 CLICKS.dat and, optionally, BUYS.dat. Rows without a
    session (session_id None or empty) are skipped and listed by line; a malformed line stops
    the import with nothing written."""
    from storefront.imports.yoochoose import import_yoochoose

    _run(lambda progress: import_yoochoose(clicks, buys, progress, keep_indexes=keep_indexes, strict=strict))


@sample_group.command("retailrocket")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--events", "n_events", type=click.IntRange(min=10), default=100_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def sample_retailrocket_command(folder: Path, n_events: int, seed: int):
    """Write synthetic events.csv, item_properties_part1/2.csv and category_tree.csv."""
    from ml.datasets.retailrocket_synth import write_retailrocket

    for role, path in write_retailrocket(folder, n_events, seed).items():
        click.echo(f"{role:12} {path}")


@sample_group.command("yoochoose")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--sessions", type=click.IntRange(min=1), default=1_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
def sample_yoochoose_command(folder: Path, sessions: int, seed: int):
    """Write synthetic yoochoose-clicks.dat and yoochoose-buys.dat."""
    from ml.datasets.retailrocket_synth import write_yoochoose

    for role, path in write_yoochoose(folder, sessions, seed).items():
        click.echo(f"{role:12} {path}")

"""What the command groups share: plain-text tables, JSON/CSV records, progress bars, and the import transaction."""
from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import click
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from storefront.extensions import db


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain-text table: left-aligned text, right-aligned numbers (floats to 4 decimals)."""
    def cell(value: object) -> str:
        if value is None:
            return "-"
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    texts = [[cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(headers))]
    widths = [max([len(h), *(len(r[i]) for r in texts)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in texts)])


def candidates_table(metrics: dict[str, dict], champion: str | None, metric_names: Sequence[str],
                     statuses: dict[str, str] | None = None) -> str:
    """One row per candidate model (``*`` marks the champion): status, each metric, fit time."""
    rows = []
    for name, values in metrics.items():
        mark = "*" if name == champion else ""
        status = (statuses or {}).get(name, "ok" if values else "-")
        rows.append([f"{mark}{name}", status, *(values.get(n) for n in metric_names), values.get("fit_seconds")])
    return format_table(["candidate", "status", *metric_names, "fit s"], rows)


@contextmanager
def progress_bar() -> Iterator[Callable[[str, float], None]]:
    """A percent bar in a terminal (none when piped: ``disable=None``); log lines print above it."""
    bar = tqdm(total=100, disable=None, leave=False, bar_format="{desc:<48.48} {percentage:3.0f}%|{bar:24}| {elapsed}")

    def update(stage: str, fraction: float) -> None:
        bar.set_description_str(stage, refresh=False)
        bar.update(max(0, round(100 * fraction) - bar.n))

    with logging_redirect_tqdm():
        try:
            yield update
        finally:
            bar.close()


def run_import(work: Callable, format_errors: tuple[type[Exception], ...]) -> None:
    """Run ``work(progress)`` in one transaction with a row counter; print its report.

    All or nothing: commit on success; on a malformed file (``format_errors``, whose message
    names the lines) or any other error, roll back so the database is as it was.
    """
    started = time.perf_counter()
    bar = tqdm(unit=" rows", unit_scale=True, desc="importing", disable=None, leave=False)

    def progress(stage: str, rows: int) -> None:
        bar.set_description_str(stage, refresh=False)
        bar.update(rows)

    try:
        report = work(progress)
        db.session.commit()
    except format_errors as error:
        db.session.rollback()
        bar.close()
        click.echo(str(error), err=True)
        raise click.ClickException("Nothing was imported: fix the lines above and run the import again.")
    except BaseException:
        db.session.rollback()
        raise
    finally:
        bar.close()
    if getattr(report, "already_imported", False):
        click.echo(f"Already imported, nothing to do: {report.summary()}")
        return
    source = getattr(report, "file", None)
    click.echo(f"Imported{' ' + source if source else ''} in {time.perf_counter() - started:.1f} s: {report.summary()}")


def render_records(records: list[dict], output: str, header: dict) -> str:
    """Evaluation records (one per model and metric) as JSON (``header`` plus ``results``) or CSV."""
    if output == "json":
        return json.dumps({**header, "results": records}, indent=2)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]) if records else ["model", "metric", "mean"])
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue().rstrip("\n")

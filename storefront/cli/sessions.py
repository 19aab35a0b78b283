"""``flask ml evaluate-sessions``: the session models against popularity, item-kNN on the last
item and the shop's champion with fold-in, under the session-rec protocol
(:mod:`ml.sessions.protocol`), on the shop's browsing sessions or a file. Nothing is published."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import click
from flask.cli import with_appcontext

from storefront.cli.common import format_table, progress_bar, render_records

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("evaluate-sessions")
@click.option("--interactions", type=_FILE,
              help="A CSV with item_id, timestamp and session_id or user_id (users cut at 30 idle minutes).")
@click.option("--yoochoose", type=_FILE, help="A YOOCHOOSE clicks file (session_id,timestamp,item_id,category).")
@click.option("--retailrocket", type=_FILE, help="A Retailrocket events.csv (views, cut per visitor at 30 idle minutes).")
@click.option("--test-days", type=click.FloatRange(min=0.0, min_open=True), default=1.0, show_default=True,
              help="Sessions that start in the last DAYS days are the test.")
@click.option("--k", "cutoffs", type=click.IntRange(min=1, max=1000), multiple=True, default=(10, 20),
              show_default=True, help="Cut-offs of HR and MRR (repeat the option for several).")
@click.option("--models", help="Comma-separated session models (default: the baselines and every available "
                               "session model), e.g. last_item_knn,stan,gru4rec.")
@click.option("--champion", default="als", show_default=True,
              help="The shop model champion_fold_in wraps (a name of ml.models, e.g. als, ease, item_knn).")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True,
              help="Sliding windows, each TEST_DAYS earlier: 95%% Student-t intervals over them "
                   "(one: a bootstrap over the test sessions).")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the models, the sample and the bootstrap.")
@click.option("--max-test-sessions", type=click.IntRange(min=1), default=None,
              help="Score at most this many test sessions (a seeded sample) per window.")
@click.option("--min-item-support", type=click.IntRange(min=1), default=5, show_default=True,
              help="Items with fewer events are dropped before the split.")
@click.option("--new-items-only", is_flag=True,
              help="Predict only next items the session does not hold yet, as the shop's widget offers them "
                   "(default: every next item, revisits included, as session-rec counts them).")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@with_appcontext  # a plain command added to the ml group: the default source is the database
def evaluate_sessions_command(interactions, yoochoose, retailrocket, test_days, cutoffs, models, champion, repeats,
                              seed, max_test_sessions, min_item_support, new_items_only, output):
    """Next-item HR and MRR of each session model on time-split sessions (session-rec protocol)."""
    from ml.data import DataFormatError
    from ml.sessions.protocol import SessionProtocol, evaluate_sessions

    given = [path for path in (interactions, yoochoose, retailrocket) if path is not None]
    if len(given) > 1:
        raise click.UsageError("give at most one of --interactions, --yoochoose and --retailrocket")
    names = [name.strip() for name in models.split(",") if name.strip()] if models else None
    try:
        protocol = SessionProtocol(test_days=test_days, cutoffs=tuple(cutoffs), repeats=repeats, seed=seed,
                                   max_test_sessions=max_test_sessions, min_item_support=min_item_support,
                                   new_items_only=new_items_only)
        source = _load(interactions, yoochoose, retailrocket)
        if output == "table":
            click.echo(f"Sessions from {source.summary()}.\nProtocol: {protocol.describe()}.")
        with progress_bar() as update:
            result = evaluate_sessions(source.data, protocol, names,
                                       params={"champion_fold_in": {"model": champion}}, progress=update)
    except (DataFormatError, ValueError, OSError, UnicodeDecodeError) as error:
        raise click.ClickException(str(error)) from None
    if output != "table":
        header = {"source": source.source, "protocol": dataclasses.asdict(protocol),
                  "description": protocol.describe(), "champion": champion, "windows": result.windows,
                  "failures": result.failures, "skipped_rows": len(source.skipped)}
        click.echo(render_records(result.records(), output, header))
        return
    click.echo(render_table(result))


def _load(interactions, yoochoose, retailrocket):
    from ml.sessions import sources

    if interactions is not None:
        return sources.read_sessions_csv(interactions)
    if yoochoose is not None:
        return sources.read_yoochoose_sessions(yoochoose)
    if retailrocket is not None:
        return sources.read_retailrocket_sessions(retailrocket)
    from storefront.training import data as training_data

    events = training_data.load_events_frame()
    if events.empty:
        raise ValueError("the shop has no events yet: there are no sessions to evaluate")
    return sources.sessions_from_frame(events, event_types=sources.SESSION_EVENT_TYPES,
                                       source="the shop's product views")


def _cell(value) -> object:
    if value is None:
        return None
    if value.low is None:
        return value.mean
    return f"{value.mean:.4f} [{value.low:.4f}, {value.high:.4f}]"


def render_table(result) -> str:
    """One row per model: each metric with its 95% interval, the relative main metric against
    item-kNN on the last item, fit seconds, ms per prediction and predictions."""
    protocol = result.protocol
    names = protocol.metrics
    rows = []
    for model, metrics in result.summary.items():
        versus = result.versus.get(model)
        rows.append([model, *(_cell(metrics[n]) for n in names),
                     f"{versus.mean:+.1%}" if versus is not None else "-",
                     round(metrics["fit_seconds"].mean, 2), round(metrics["predict_ms"].mean, 3),
                     int(round(metrics["predictions"].mean))])
    lines = []
    for w in result.windows:
        lines.append(f"Window {w['window']}: {w['train_sessions']:,} training sessions ({w['train_items']:,} items), "
                     f"{w['test_sessions']:,} test sessions, {w['predictions']:,} predictions.")
    lines.append(format_table(["model", *(f"{n} [95%]" for n in names), f"{protocol.main_metric} vs {result.baseline}",
                               "fit s", "ms/pred", "predictions"], rows))
    lines += [f"{model}: {why}" for model, why in result.failures.items()]
    spread = (f"Student-t over {protocol.repeats} windows" if protocol.repeats > 1
              else f"bootstrap over test sessions, {protocol.resamples} resamples")
    lines.append(f"[95%] = {spread}; predictions: per window (mean).")
    return "\n".join(lines)

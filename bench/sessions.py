"""Session-based recommendation (issue 19): the session-rec table, training cost by size, serving latency.

Data: ``ml.synth.sessions`` planted-chain sessions (ordered chains of items that the last few
clicks in order tell apart and the last item alone does not, 10% noise clicks from a long-tailed
catalogue; about 4.1 events a session over 30 days), scaled with the events: items events / 50
(500 to 200,000), chains items / 10, chain pool 1.5 x chains. Written to a temp dir in the exact
public layouts (``write_yoochoose_clicks``: ``session_id,timestamp,item_id,category``, no
header; ``write_retailrocket_events``: ``events.csv`` views, millisecond stamps) and read back
through the importers (``read_yoochoose_sessions``; ``read_retailrocket_sessions``, which cuts
each visitor's views at 30 idle minutes). No number here comes from the real YOOCHOOSE or
Retailrocket logs.

1. The session-rec table (``evaluate_sessions``, ``SessionProtocol(test_days=1,
   max_test_sessions=...)``, bootstrap intervals) of every model (baselines, sknn, vsknn, stan,
   gru4rec under ``--gru-budget``) on (a) a YOOCHOOSE-layout file and (b) a Retailrocket-layout
   file of ``--table-events`` events (different seeds), with the rows/s of each read; (c) with
   ``--demo-db [SQLITE_URL]`` the demo shop's product views (``load_events_frame`` +
   ``sessions_from_frame``, as ``flask ml evaluate-sessions`` reads them); without a URL a demo
   shop is built with the flask CLI (``flask db upgrade``, ``flask shop seed`` defaults) in a
   temp dir.
2. At each of ``--sizes``: writing and reading both layouts (each read in a forked child: time,
   rows/s, peak memory added), then every model fitted on all the YOOCHOOSE-layout sessions in
   its own forked child (time, ``VmHWM`` minus the RSS at the fork, as ``training_scale.py``);
   GRU4Rec stops at ``--gru-budget`` seconds of training (reported as budget-bound with the
   events it trained on).
3. Serving, on the models fitted at the first size of ``--sizes`` (1M by default), saved and
   loaded back pickle-free (``SessionServer.load``): the numpy ``score`` and ``recommend(N=20)``
   calls with a 10-event session (10 consecutive clicks of the log, a different one per call) and
   ``SessionServer.next_items(ids, n=10)`` with external ids; median / p90 / p99 of ``--calls``
   calls after 20 untimed ones. Target: <= 2 ms median for the model call.

Run: ``PYTHONPATH=. .venv/bin/python bench/sessions.py [--sizes 1000000,10000000] [--demo-db]
[--record BENCHMARKS.md]``; ``--sizes 100000 --quick`` is a quick look (about 1 minute; 1.5 with ``--demo-db``); the default
run with ``--demo-db`` is expected to take 20-30 minutes on 2 idle cores (most of it the 10M size).
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without PYTHONPATH=.

import numpy as np  # noqa: E402

from bench.live_gunicorn import build_demo_shop, loadavg  # noqa: E402
from bench.recording import record  # noqa: E402
from bench.training_scale import in_child  # noqa: E402
from ml.constants import SEED  # noqa: E402
from ml.sessions import candidates  # noqa: E402
from ml.sessions.data import SessionData  # noqa: E402
from ml.sessions.protocol import SessionProtocol, evaluate_sessions  # noqa: E402
from ml.sessions.serving import SessionServer  # noqa: E402
from ml.sessions.sources import (SESSION_EVENT_TYPES, read_retailrocket_sessions,  # noqa: E402
                                 read_yoochoose_sessions, sessions_from_frame)
from ml.synth.sessions import (SessionSynthConfig, generate_sessions, write_retailrocket_events,  # noqa: E402
                               write_yoochoose_clicks)

DEFAULT_SIZES = "1000000,10000000"
EVENTS_PER_SESSION = 4.13  # measured mean of the generator's sessions (chain steps + noise)
LATENCY_TARGET_MS = 2.0
LAYOUTS = {"yoochoose": ("YOOCHOOSE-layout clicks", "clicks.dat", write_yoochoose_clicks, read_yoochoose_sessions),
           "retailrocket": ("Retailrocket-layout events.csv", "events.csv", write_retailrocket_events,
                            read_retailrocket_sessions)}


def synth_config(events: int, seed: int) -> SessionSynthConfig:
    items = int(min(200_000, max(500, events // 50)))
    chains = max(60, items // 10)
    return SessionSynthConfig(n_sessions=max(200, round(events / EVENTS_PER_SESSION)), n_items=items,
                              n_chains=chains, chain_items=max(90, chains * 3 // 2), days=30.0, seed=seed)


def write_file(layout: str, events: int, seed: int, folder: Path) -> tuple[Path, list[str]]:
    label, name, writer, _ = LAYOUTS[layout]
    config = synth_config(events, seed)
    started = time.perf_counter()
    planted = generate_sessions(config).events
    generated = time.perf_counter() - started
    path = writer(planted, folder / f"{layout}-{events}-{name}")
    written = time.perf_counter() - started - generated
    text = (f"{label} of {len(planted):,} events ({config.n_sessions:,} planted sessions, {config.n_items:,} items, "
            f"{config.n_chains:,} chains of {config.chain_length} over {config.chain_items:,} items, seed {seed}): "
            f"generated in {generated:.1f} s, written in {written:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
    del planted
    gc.collect()
    return path, [text]


def save_data(data: SessionData, path: Path) -> None:
    np.savez(path, session_ids=data.session_ids, offsets=data.offsets, items=data.items, times=data.times,
             item_ids=data.item_ids)


def load_data(path: Path) -> SessionData:
    with np.load(path, allow_pickle=False) as f:
        return SessionData(f["session_ids"], f["offsets"], f["items"], f["times"], f["item_ids"])


def read_file(layout: str, path: Path, timeout: float) -> tuple[SessionData | None, str]:
    """Read ``path`` through the importer in a forked child (time, peak memory); the sessions come
    back through an ``.npz`` (not timed)."""
    label, _, _, reader = LAYOUTS[layout]
    saved = path.with_suffix(".sessions.npz")

    def work() -> dict:
        started = time.perf_counter()
        source = reader(path)
        seconds = time.perf_counter() - started
        save_data(source.data, saved)
        return {"rows": source.rows, "seconds": seconds, "summary": source.summary().split(": ", 1)[1]}

    status, result, _, added, _ = in_child(work, timeout)
    if status != "ok":
        return None, f"`{reader.__name__}` of the {label}: {status}: {str(result).splitlines()[0][:160]}"
    seconds = result["seconds"]
    data = load_data(saved)
    saved.unlink()
    return data, (f"`{reader.__name__}` of the {label}: **{result['rows'] / seconds:,.0f} rows/s** "
                  f"({result['rows']:,} rows in {seconds:.1f} s, +{added:.0f} MiB peak): {result['summary']}")


def cell(value) -> str:
    if value.low is None:
        return f"{value.mean:.4f}"
    return f"{value.mean:.4f} [{value.low:.4f}, {value.high:.4f}]"


def session_table(data: SessionData, where: str, protocol: SessionProtocol, models: list[str],
                  gru_budget: float) -> list[str]:
    started = time.perf_counter()
    result = evaluate_sessions(data, protocol, models, params={"gru4rec": {"time_budget_seconds": gru_budget}})
    w = result.windows[0]
    lines = [f"- {where}: {w['train_sessions']:,} training sessions ({w['train_items']:,} items, "
             f"{w['train_events']:,} events), {w['test_sessions']:,} test sessions ({w['test_sessions_in_window']:,} "
             f"in the last day), {w['predictions']:,} predictions; whole evaluation {time.perf_counter() - started:.0f} s",
             "", "| model | " + " | ".join(f"{m} [95%]" for m in protocol.metrics)
             + f" | {protocol.main_metric} vs {result.baseline} | fit s | ms/prediction |",
             "| --- " * (len(protocol.metrics) + 4) + "|"]
    for model, metrics in result.summary.items():
        versus = result.versus.get(model)
        relative = f"{versus.mean:+.1%} [{versus.low:+.1%}, {versus.high:+.1%}]" if versus and versus.low is not None \
            else (f"{versus.mean:+.1%}" if versus else "-")
        lines.append(f"| {model} | " + " | ".join(cell(metrics[m]) for m in protocol.metrics)
                     + f" | {relative} | {metrics['fit_seconds'].mean:.1f} | {metrics['predict_ms'].mean:.3f} |")
    lines.append("")
    lines += [f"  - {model} failed: {why}" for model, why in result.failures.items()]
    return lines


def demo_sessions(url: str | None, folder: Path) -> tuple[SessionData, str]:
    built = ""
    if url is None:
        started = time.perf_counter()
        shop = build_demo_shop(folder / "demo", train=False)
        url, built = shop["url"], f"built with `flask db upgrade` + `flask shop seed` (defaults) in {time.perf_counter() - started:.0f} s; "
    from storefront import create_app
    from storefront.training.data import load_events_frame

    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": url,
                      "MODEL_DIR": str(folder / "demo-models"), "TRAINING_LAUNCH": False})
    with app.app_context():
        started = time.perf_counter()
        events = load_events_frame()
        source = sessions_from_frame(events, event_types=SESSION_EVENT_TYPES, source="the demo shop's product views")
        seconds = time.perf_counter() - started
    where = url.rsplit("/", 1)[-1] if url.startswith("sqlite") else "the given database"
    return source.data, (f"(c) **the demo shop's own events** ({where}; {built}`load_events_frame` + "
                         f"`sessions_from_frame`, views only, {len(events):,} events read in {seconds:.1f} s): "
                         f"{source.summary().split(': ', 1)[1]}")


def fit_work(name: str, data: SessionData, gru_budget: float, save_to: Path | None):
    def work() -> dict | None:
        params = {"time_budget_seconds": gru_budget} if name == "gru4rec" else None
        model = candidates.make_model(name, SEED, params).fit(data)
        if save_to is not None:
            model.save(save_to)
        report = getattr(model, "training_report", None)
        return None if report is None else {"stopped_by": report.stopped_by, "events_trained": report.events_trained,
                                             "epochs": report.epochs_run, "seconds": report.seconds}
    return work


def measure_size(size: int, models: list[str], folder: Path, gru_budget: float, timeout: float,
                 save_dir: Path | None) -> tuple[list[str], SessionData | None]:
    lines = [f"- **{size:,} events** (load average before {loadavg()})"]
    data = None
    for layout, seed in (("yoochoose", SEED), ("retailrocket", SEED + 1)):
        path, text = write_file(layout, size, seed, folder)
        read, read_text = read_file(layout, path, timeout)
        lines += [f"  - {text[0]}", f"  - {read_text}"]
        path.unlink()
        if layout == "yoochoose":
            data = read
        del read
        gc.collect()
        print("\n".join(lines[-2:]), file=sys.stderr, flush=True)
    if data is None:
        return lines, None
    fits = []
    for name in models:
        save_to = save_dir / f"{name}.npz" if save_dir is not None else None
        status, result, seconds, added, _ = in_child(fit_work(name, data, gru_budget, save_to), timeout)
        if status != "ok":
            fits.append(f"{name} {status}: {str(result).splitlines()[0][:120]}")
        elif result is not None:
            bound = "budget-bound" if result["stopped_by"] == "time_budget" else f"stopped by {result['stopped_by']}"
            fits.append(f"{name} {seconds:.1f} s ({bound} at {gru_budget:.0f} s: {result['events_trained']:,} events "
                        f"trained in {result['epochs']} epochs; wall time includes torch import and set-up) / +{added:.0f} MiB")
        else:
            fits.append(f"{name} {seconds:.1f} s / +{added:.0f} MiB")
        print(f"    {fits[-1]}", file=sys.stderr, flush=True)
    lines.append(f"  - fit on all {data.n_events:,} events of the YOOCHOOSE-layout file ({data.n_sessions:,} sessions, "
                 f"{data.n_items:,} items), time / peak memory added: " + "; ".join(fits))
    lines.append(f"  - load average after {loadavg()}")
    return lines, data


def quantiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return f"{statistics.median(ordered):.3f} / {at(0.9):.3f} / {at(0.99):.3f}"


def latency(data: SessionData, save_dir: Path, models: list[str], calls: int, size: int) -> list[str]:
    rng = np.random.default_rng(SEED)
    starts = rng.integers(0, data.n_events - 10, calls + 20)
    sessions = [data.items[s:s + 10].astype(np.int64) for s in starts]
    visits = [data.item_ids[s].tolist() for s in sessions]
    lines = [f"- serving on the {size:,}-event fit ({data.n_items:,} items), models loaded from their pickle-free "
             f".npz files; a 10-event session = 10 consecutive clicks of the log, a different one per call; "
             f"{calls} calls after 20 untimed; milliseconds median / p90 / p99; target <= {LATENCY_TARGET_MS:g} ms "
             f"median for the model call (load average {loadavg()})", "",
             "| model | file MiB | `score` | `recommend(N=20)` | `SessionServer.next_items(ids, n=10)` | model call <= 2 ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name in models:
        path = save_dir / f"{name}.npz"
        if not path.exists():
            lines.append(f"| {name} | - | not fitted | | | |")
            continue
        server = SessionServer.load(path)
        model = server.model
        timings = {"score": [], "recommend": [], "next_items": []}
        calls_of = {"score": lambda i: model.score(sessions[i]),
                    "recommend": lambda i: model.recommend(sessions[i], N=20),
                    "next_items": lambda i: server.next_items(visits[i], n=10)}
        for kind, call in calls_of.items():
            for i in range(calls + 20):
                started = time.perf_counter()
                call(i)
                if i >= 20:
                    timings[kind].append((time.perf_counter() - started) * 1000)
        median = statistics.median(timings["recommend"])
        lines.append(f"| {name} | {path.stat().st_size / 2**20:.1f} | {quantiles(timings['score'])} | "
                     f"{quantiles(timings['recommend'])} | {quantiles(timings['next_items'])} | "
                     f"{'yes' if median <= LATENCY_TARGET_MS else '**no**'} ({median:.2f} ms) |")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated event counts for training cost (part 2)")
    parser.add_argument("--table-events", type=int, help="events of each session-rec table file (default 1,000,000)")
    parser.add_argument("--test-sessions", type=int, help="test sessions scored per table (a seeded sample; default 2,000)")
    parser.add_argument("--gru-budget", type=float, help="GRU4Rec training budget in seconds (default 60)")
    parser.add_argument("--calls", type=int, help="timed serving calls per model (default 500)")
    parser.add_argument("--models", default=",".join(candidates.model_names()), help="comma-separated session models")
    parser.add_argument("--demo-db", nargs="?", const="build", metavar="SQLITE_URL",
                        help="also the table on a demo shop's events (no URL: build one in a temp dir)")
    parser.add_argument("--skip-table", action="store_true", help="skip part 1 (the session-rec tables)")
    parser.add_argument("--quick", action="store_true",
                        help="small defaults: 100,000 table events, 500 test sessions, 10 s GRU budget, 100 calls")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per read or fit child")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    quick = args.quick
    table_events = args.table_events or (100_000 if quick else 1_000_000)
    test_sessions = args.test_sessions or (500 if quick else 2_000)
    gru_budget = args.gru_budget if args.gru_budget is not None else (10.0 if quick else 60.0)
    calls = args.calls or (100 if quick else 500)
    try:
        models = candidates.model_names([n.strip() for n in args.models.split(",") if n.strip()])
    except ValueError as error:
        parser.error(str(error))
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    protocol = SessionProtocol(test_days=1.0, max_test_sessions=test_sessions, seed=SEED)
    # session-rec's plain protocol (every next item) and the widget's task (the next new item), on
    # the same data: the neighbourhood models vote for the session's own items, which only the first counts
    protocols = [protocol, dataclasses.replace(protocol, new_items_only=True)]
    began = time.perf_counter()
    lines = [f"- cores {os.cpu_count()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}; "
             f"models {', '.join(models)}; GRU4Rec budget {gru_budget:g} s; load average {loadavg()}",
             "- data: **synthetic** planted-chain sessions (`ml.synth.sessions`) written in the public layouts "
             "and read back through the importers; the demo shop's table, when present, is its own seeded events; "
             "none of these numbers comes from the real YOOCHOOSE or Retailrocket logs"]
    table, scale, serving = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        folder = Path(tmp)
        # Parts 2 and 3 first: their fits run in forked children, and a child forked after the
        # parent has run torch or ALS (their thread pools) can hang; the tables (part 1) train in
        # the parent, so they come last (and are printed first).
        scale += ["", "### Training time and memory by size (synthetic, fits on the YOOCHOOSE-layout sessions)", ""]
        save_dir = folder / "models"
        save_dir.mkdir()
        for i, size in enumerate(sizes):
            size_lines, data = measure_size(size, models, folder, gru_budget, args.timeout, save_dir if i == 0 else None)
            scale += size_lines
            if i == 0 and data is not None:
                serving = ["", "### Serving latency per request (numpy)", ""]
                serving += latency(data, save_dir, models, calls, size)
                print("\n".join(serving), file=sys.stderr, flush=True)
            del data
            gc.collect()
        if not args.skip_table:
            table += ["", f"### Session-rec table ({protocol.describe()})", ""]
            tables = [("yoochoose", SEED, "(a) **synthetic YOOCHOOSE-layout clicks**"),
                      ("retailrocket", SEED + 1, "(b) **synthetic Retailrocket-layout events.csv**")]
            for layout, seed, where in tables:
                path, text = write_file(layout, table_events, seed, folder)
                data, read_text = read_file(layout, path, args.timeout)
                path.unlink()
                table += [f"- {where}: {text[0]}", f"- {read_text}"]
                if data is not None:
                    for task in protocols:
                        table += session_table(data, f"{where}, {task.describe().split('; ')[2]}", task, models, gru_budget)
                print("\n".join(table[-12:]), file=sys.stderr, flush=True)
                del data
                gc.collect()
            if args.demo_db:
                data, where = demo_sessions(None if args.demo_db == "build" else args.demo_db, folder)
                table += [f"- {where}"]
                for task in protocols:
                    table += session_table(data, f"(c) the demo shop, {task.describe().split('; ')[2]}", task, models,
                                           gru_budget)
    lines += table + scale + serving
    lines.append(f"- whole run {time.perf_counter() - began:.0f} s; load average after {loadavg()}")
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Session-based recommendation: session-rec table, training, serving", lines)


if __name__ == "__main__":
    main()

"""Training time and peak memory per model at 100k / 1M / 3M events (synthetic shop, no database).

For each size the demo-shop simulator (``ml.synth.shop``) generates a shop scaled with the events
(about 100 events per shopper, half registered; products ~3,000 x sqrt(events / 1M), between
1,000 and 5,000, 5,000 being EASE's item budget), and its events become the frame
``ml.training`` gets from the shop (user, item, event, UTC time, basket = order, session). Then:

- every candidate of ``ml.training.candidates.CANDIDATES``, at its default parameters with the
  shop's training settings (threads: all cores; torch budget TRAINING_TORCH_BUDGET_SECONDS per
  model), fitted once on all events (the interaction matrix is built beforehand and not timed);
  candidates that ``CandidateSpec.skip_reason`` rules out at that size are listed as skipped;
- the whole ``ml.training.train(events, <the shop's default TrainingConfig>)``: split, search
  (TRAINING_TIME_BUDGET_SECONDS), evaluation of every candidate, refit of the champion, helper
  models. Not included: loading events from the database and the shop's extras (segments,
  click model, assets), which ``flask ml train`` adds.

Memory: each fit runs in a forked child process; the child resets its peak-RSS counter
(``/proc/self/clear_refs``) right after the fork and reports ``VmHWM - VmRSS at start``, i.e. the
resident memory the fit added on top of the already-built events and matrix (Python objects,
numpy/scipy/torch buffers, native libraries it imported: torch itself accounts for ~300 MB of
the torch models' figure). ``VmHWM`` alone is also given for the whole run.

Run: ``PYTHONPATH=. .venv/bin/python bench/training_scale.py [--sizes 100000,1000000,3000000]
[--no-train] [--record BENCHMARKS.md]``; ``--sizes 100000`` is a quick look (about 2 minutes).
"""
from __future__ import annotations

import argparse
import gc
import math
import multiprocessing
import os
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without PYTHONPATH=.

import pandas as pd  # noqa: E402

from bench.live_gunicorn import loadavg  # noqa: E402
from bench.recording import record  # noqa: E402
from ml.synth.shop import SynthConfig, generate_shop  # noqa: E402
from ml.training import CANDIDATES, TrainingConfig, train  # noqa: E402
from ml.training.candidates import InteractionCache  # noqa: E402
from ml.training.pipeline import prepare_events  # noqa: E402
from storefront.config import Config  # noqa: E402  (plain class attributes, no Flask app)

DEFAULT_SIZES = "100000,1000000,3000000"


def synth_config(target_events: int) -> SynthConfig:
    products = int(min(5000, max(1000, round(3000 * math.sqrt(target_events / 1_000_000)))))
    shoppers = max(200, target_events // 100)
    return SynthConfig(target_events=target_events, n_products=products, n_customers=shoppers // 2,
                       n_anonymous=shoppers - shoppers // 2)


def events_frame(target_events: int) -> tuple[pd.DataFrame, SynthConfig, float]:
    """The synthetic shop's events as ``ml.training`` gets them from the shop."""
    config = synth_config(target_events)
    started = time.perf_counter()
    shop = generate_shop(config)
    ev = shop.events
    frame = pd.DataFrame({
        "user_id": ev["shopper_key"].astype(object), "item_id": ev["sku"].astype(object),
        "event": ev["type"].astype(object), "timestamp": pd.to_datetime(ev["occurred_at"]).dt.tz_localize("UTC"),
        "basket_id": ev["order_key"], "session_id": ev["session_key"].astype(object),
    })
    seconds = time.perf_counter() - started
    del shop, ev
    gc.collect()
    return prepare_events(frame), config, seconds


def shop_training_config() -> TrainingConfig:
    """What ``storefront.training.job.training_config`` builds from the default settings."""
    return TrainingConfig(
        search_budget_seconds=float(Config.TRAINING_TIME_BUDGET_SECONDS),
        num_threads=int(os.environ.get("TRAINING_THREADS", 0)),
        deep_models=bool(Config.TRAINING_DEEP_MODELS),
        torch_time_budget_seconds=float(Config.TRAINING_TORCH_BUDGET_SECONDS),
    )


def _status_kib() -> dict[str, int]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def in_child(work, timeout: float):
    """Run ``work()`` in a forked child; returns (its result, seconds, MiB added at peak, peak MiB)."""
    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)

    def child() -> None:
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        except OSError:
            pass
        before = _status_kib()["VmRSS"]
        started = time.perf_counter()
        try:
            result = work()
            seconds = time.perf_counter() - started
            after = _status_kib()
            writer.send(("ok", result, seconds, (after["VmHWM"] - before) / 1024, after["VmHWM"] / 1024))
        except BaseException as error:  # noqa: BLE001 - reported by the parent
            writer.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=3)}", 0, 0, 0))

    process = context.Process(target=child)
    process.start()
    writer.close()
    if not reader.poll(timeout):
        process.kill()
        process.join()
        return ("timeout", f"over {timeout:.0f} s", timeout, 0, 0)
    outcome = reader.recv()
    process.join()
    return outcome


def measure_size(target: int, model_names: list[str], whole: bool, timeout: float) -> list[str]:
    load_before = loadavg()
    events, synth, gen_seconds = events_frame(target)
    config = shop_training_config()
    cache = InteractionCache(events)
    data = cache.fit_data(config.event_weights)
    n_users, n_items = cache.id_map.n_users, cache.id_map.n_items
    counts = events["event"].value_counts()
    lines = [f"- **{len(events):,} events** (target {target:,}; {synth.n_products:,} products, "
             f"{synth.n_customers:,} customers + {synth.n_anonymous:,} anonymous): {n_users:,} users x "
             f"{n_items:,} items, {data.matrix.nnz:,} interactions, {counts.get('transaction', 0):,} purchases; "
             f"generated in {gen_seconds:.0f} s; load average before {load_before}"]
    fits, skipped = [], []
    for name in model_names:
        spec = CANDIDATES[name]
        reason = spec.skip_reason(events, n_items, config)
        if reason is not None:
            skipped.append(f"{name} ({reason})")
            continue
        params = spec.resolved_params(config)
        status, result, seconds, added, _ = in_child(lambda: (spec.train(params, data), None)[1], timeout)
        if status == "ok":
            budget = (f" (torch budget {config.torch_time_budget_seconds:.0f} s of training; wall time includes torch import and set-up)"
                      if spec.deep and seconds >= config.torch_time_budget_seconds * 0.95 else "")
            fits.append(f"{name} {seconds:.1f} s{budget} / +{added:.0f} MiB")
        else:
            fits.append(f"{name} {status}: {str(result).splitlines()[0][:120]}")
    lines.append("  - fit on all events at default parameters, time / peak memory added: " + "; ".join(fits))
    if skipped:
        lines.append("  - skipped at this size: " + "; ".join(skipped))
    if whole:
        def run_train() -> dict:
            result = train(events, config)
            return {
                "timings": result.timings, "champion": result.champion,
                "skipped": [n for n, c in result.candidates.items() if c.status == "skipped"],
                "failed": [n for n, c in result.candidates.items() if c.status == "failed"],
                "trials": len(result.search or []),
            }
        status, result, seconds, added, peak = in_child(run_train, timeout * 4)
        if status == "ok":
            stages = ", ".join(f"{k} {v:.0f} s" for k, v in result["timings"].items() if k != "total")
            lines.append(
                f"  - whole `ml.training.train` with the shop's defaults (search budget "
                f"{config.search_budget_seconds:.0f} s, torch {config.torch_time_budget_seconds:.0f} s/model, "
                f"deep models {'on' if config.deep_models else 'off'}): **{seconds:.0f} s** ({stages}; "
                f"{result['trials']} search trials), champion `{result['champion']}`, peak RSS {peak:.0f} MiB "
                f"(+{added:.0f} MiB over the loaded events); skipped: {', '.join(result['skipped']) or 'none'}"
                f"{'; failed: ' + ', '.join(result['failed']) if result['failed'] else ''}")
        else:
            lines.append(f"  - whole `ml.training.train`: {status}: {str(result).splitlines()[0][:200]}")
    lines.append(f"  - load average after {loadavg()}")
    del events, cache, data
    gc.collect()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated target event counts")
    parser.add_argument("--models", default=",".join(CANDIDATES), help="comma-separated candidate names")
    parser.add_argument("--no-train", action="store_true", help="skip the whole ml.training.train run")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per model fit (x4 for the whole run)")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = sorted(set(names) - set(CANDIDATES))
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)} (known: {', '.join(CANDIDATES)})")
    lines = [f"- cores {os.cpu_count()}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
             f"TRAINING_THREADS={os.environ.get('TRAINING_THREADS', '0')} (0 = all cores); memory: VmHWM of a "
             f"forked child minus its RSS at the fork"]
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        size_lines = measure_size(size, names, not args.no_train, args.timeout)
        print("\n".join(size_lines), file=sys.stderr, flush=True)  # progress; the full list follows
        lines += size_lines
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Training time and memory by data size", lines)


if __name__ == "__main__":
    main()

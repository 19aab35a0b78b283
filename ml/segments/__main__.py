"""Run the segments job on the synthetic demo shop and write its report as JSON to stdout.

For measuring and tuning without the web app, e.g.::

    python -m ml.segments --end 2026-11-01                 # the default demo shop
    python -m ml.segments --end 2026-11-01 --no-category-tokens --n-neighbours 20
    python -m ml.segments --end 2026-11-01 --shop-seeds 0 1 2 3 4   # mean over five shops

The report holds the timings, RFM segment sizes, both silhouettes and the comparison.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from ml.segments.customer2vec import Customer2VecParams
from ml.segments.frames import frames_from_synth
from ml.segments.pipeline import SegmentsConfig, train_segments
from ml.synth.shop import SynthConfig, generate_shop

log = logging.getLogger("ml.segments")


def _parser() -> argparse.ArgumentParser:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m ml.segments", description=summary)
    parser.add_argument("--end", default="2026-11-01", help="end of the synthetic window (UTC)")
    parser.add_argument("--shop-seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--n-neighbours", type=int, default=SegmentsConfig.n_neighbours)
    parser.add_argument("--projection", choices=("pca", "tsne"), default="pca")
    defaults = Customer2VecParams()
    for name in ("vector_size", "window", "epochs", "min_count", "dm", "dbow_words", "negative"):
        flag = f"--{name.replace('_', '-')}"
        parser.add_argument(flag, type=int, default=getattr(defaults, name))
    parser.add_argument("--no-category-tokens", action="store_true")
    return parser


def _run(args: argparse.Namespace, shop_seed: int) -> dict[str, Any]:
    end = datetime.fromisoformat(args.end)
    frames = frames_from_synth(generate_shop(SynthConfig(seed=shop_seed, end=end)))
    params = replace(
        Customer2VecParams(), vector_size=args.vector_size, window=args.window,
        epochs=args.epochs, min_count=args.min_count, dm=args.dm, dbow_words=args.dbow_words,
        negative=args.negative, category_tokens=not args.no_category_tokens,
    )
    config = SegmentsConfig(customer2vec=params, n_neighbours=args.n_neighbours,
                            projection=args.projection)
    started, cpu = time.perf_counter(), time.process_time()
    result = train_segments(*frames, reference_time=end, config=config)
    report = result.summary()
    report["orders"] = len(frames[0])
    report["wall_seconds"] = time.perf_counter() - started
    report["cpu_seconds"] = time.process_time() - cpu
    return report


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("gensim").setLevel(logging.WARNING)
    args = _parser().parse_args(argv)
    reports = {str(seed): _run(args, seed) for seed in args.shop_seeds}
    if len(reports) > 1:
        methods = next(iter(reports.values()))["comparison"]["methods"]
        reports["mean"] = {
            name: float(np.mean([r["comparison"]["methods"][name]["hit_rate@10"]
                                 for r in reports.values()]))
            for name in methods
        }
        log.info("mean hit_rate@10 over shops %s: %s", args.shop_seeds, reports["mean"])
    json.dump(reports, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Latency of click-through-rate scoring with numpy: 100 candidates, encode + predict.

Trains LR, FM and xDeepFM briefly (one epoch each) on a synthetic Criteo-layout file (39
categorical fields), then times, in-process and without torch on the scoring path:
- encoding 100 feature rows (a pandas DataFrame, and the same rows as a dict of lists);
- the numpy forward pass of each model on the 100 encoded rows;
- both together through the saved ``CtrRanker`` (what a web worker runs).
Run: ``.venv/bin/python bench/ctr_scoring.py [--rounds 1000] [--rows 20000] [--record FILE]``.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable without PYTHONPATH=.

from bench.recording import latency_stats, record, time_calls  # noqa: E402
from ml.ctr import CtrTrainConfig, compare_ctr_models, load_ranker  # noqa: E402
from ml.datasets.criteo import LABEL, criteo_feature_frame, read_criteo  # noqa: E402
from ml.datasets.criteo_synth import write_synthetic_criteo  # noqa: E402

CANDIDATES = 100


def measure(rows: int, rounds: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = write_synthetic_criteo(Path(folder) / "clicks.csv", n_rows=rows, seed=7)
        frame = read_criteo(path)
        features, columns = criteo_feature_frame(frame)
        features[LABEL] = frame[LABEL].to_numpy()
        config = CtrTrainConfig(epochs=1, time_budget_seconds=60.0)
        comparison = compare_ctr_models(features, columns, config=config)
        rankers = {}
        for kind in comparison.results:
            files = comparison.save(Path(folder) / kind, kind=kind)
            rankers[kind] = load_ranker(Path(folder) / kind, files)
    encoder = comparison.encoder
    candidates = features[columns].iloc[-CANDIDATES:].reset_index(drop=True)
    as_lists = {name: candidates[name].tolist() for name in columns}
    x = encoder.transform(candidates)
    lines = [
        f"- {len(columns)} categorical fields, {encoder.n_features:,} features, "
        f"{CANDIDATES} candidates, {rounds} calls each (numpy, 1 BLAS thread)",
        f"- encode (DataFrame): {latency_stats(time_calls(lambda: encoder.transform(candidates), rounds, warmup=20))}",
        f"- encode (dict of lists): {latency_stats(time_calls(lambda: encoder.transform(as_lists), rounds, warmup=20))}",
    ]
    for kind, ranker in rankers.items():
        predict = time_calls(lambda: ranker.scorer.predict(x), rounds, warmup=20)
        total = time_calls(lambda: ranker.score(candidates), rounds, warmup=20)
        lines.append(f"- {kind}: predict {latency_stats(predict)}; encode + predict **{latency_stats(total)}**")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=20_000, help="synthetic training rows")
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    lines = measure(args.rows, args.rounds)
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "CTR scoring latency", lines)


if __name__ == "__main__":
    main()

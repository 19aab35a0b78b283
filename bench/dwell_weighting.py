"""Does weighing views by dwell time help the recommenders? NDCG@10 with and without it.

Protocol: the synthetic shop of ``ml.synth`` (seeds 1-5, 60,000 events each), a view's dwell is
the time to the next event of its session (what the beacon of ``static/js/dwell.js`` measures;
a session's last view has no report and keeps the weight 1), the **time split** (the last 20% of
each shop's timeline held out), k = 10, binary gain, every candidate at its default parameters
(``evaluate_frame``: no search), without deep models. The champion metric is the best candidate's
NDCG@10 per seed; the table reports the mean over seeds with a 95% t-interval of the paired
difference against no weighting.

Note what the synthetic dwell is: the generator draws it independently of taste (lognormal,
median 35 s), so a gain here would be an artefact; real dwell correlates with interest, which
only a live shop's own log can show. Run this on an exported log for the decision that counts.

``PYTHONPATH=. .venv/bin/python bench/dwell_weighting.py [--seeds 5] [--record BENCHMARKS.md]``
"""
from __future__ import annotations

import argparse
import logging
import statistics
from pathlib import Path

import numpy as np
import pandas as pd

from bench.recording import record
from ml.constants import WEIGHT_COL
from ml.data.dwell import DwellCurve
from ml.synth.shop import SynthConfig, generate_shop
from ml.training import TrainingConfig, evaluate_frame

CURVES = ("floor=0.5,ceiling=2,tau=30", "floor=0.8,ceiling=1.5,tau=60", "floor=0.25,ceiling=3,tau=20")
T_95 = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 8: 2.36, 10: 2.26}


def events_with_dwell(seed: int) -> pd.DataFrame:
    shop = generate_shop(SynthConfig(seed=seed, n_products=600, n_customers=800, n_anonymous=500, days=90,
                                     target_events=60_000))
    raw = shop.events.sort_values(["session_key", "occurred_at"], kind="stable").reset_index(drop=True)
    nxt = raw.groupby("session_key")["occurred_at"].shift(-1)
    dwell_ms = (pd.to_datetime(nxt) - pd.to_datetime(raw["occurred_at"])).dt.total_seconds() * 1000
    dwell_ms[raw["type"] != "view"] = np.nan
    frame = pd.DataFrame({"user_id": raw["shopper_key"].astype(str), "item_id": raw["sku"].astype(str),
                          "event": raw["type"], "timestamp": pd.to_datetime(raw["occurred_at"]),
                          "session_id": raw["session_key"], "dwell_ms": dwell_ms})
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def best_ndcg(frame: pd.DataFrame) -> tuple[float, str]:
    table = evaluate_frame(frame.drop(columns=["dwell_ms"]), split="time", k=10,
                           config=TrainingConfig(search=False, deep_models=False))
    ok = table[table["status"] == "ok"]
    model = str(ok["ndcg@10"].idxmax())
    return float(ok.loc[model, "ndcg@10"]), model


def main() -> None:
    logging.disable(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--record", metavar="FILE")
    args = parser.parse_args()
    results: dict[str, list[float]] = {"none": []}
    champions: dict[str, list[str]] = {"none": []}
    for seed in range(1, args.seeds + 1):
        frame = events_with_dwell(seed)
        score, model = best_ndcg(frame)
        results["none"].append(score)
        champions["none"].append(model)
        for curve in CURVES:
            weighted = frame.assign(**{WEIGHT_COL: DwellCurve.parse(curve).multiplier(frame["dwell_ms"].to_numpy())})
            score, model = best_ndcg(weighted)
            results.setdefault(curve, []).append(score)
            champions.setdefault(curve, []).append(model)
        print(f"seed {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in results.items()), flush=True)
    lines = ["| dwell weighting | best NDCG@10 (mean over seeds) | difference vs none, 95% CI | champions |",
             "|---|---|---|---|"]
    for curve, scores in results.items():
        diffs = [a - b for a, b in zip(scores, results["none"])]
        half = T_95.get(len(diffs), 2.0) * statistics.stdev(diffs) / len(diffs) ** 0.5 if len(diffs) > 1 else 0.0
        mean_diff = statistics.mean(diffs)
        interval = "—" if curve == "none" else f"{mean_diff:+.4f} [{mean_diff - half:+.4f}, {mean_diff + half:+.4f}]"
        lines.append(f"| {curve} | {statistics.mean(scores):.4f} | {interval} | {', '.join(sorted(set(champions[curve])))} |")
    lines.append("")
    lines.append(f"Protocol: ml.synth seeds 1-{args.seeds} (60k events, 90 days), time split (last 20%), k=10, binary "
                 "gain, default parameters, no deep models; synthetic dwell is independent of taste.")
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Dwell-time weighting, offline (time split)", lines)


if __name__ == "__main__":
    main()

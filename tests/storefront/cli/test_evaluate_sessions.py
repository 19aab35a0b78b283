"""``flask ml evaluate-sessions`` on small session files (generic CSV, YOOCHOOSE, Retailrocket
layouts of the planted-chain generator) and on bad input: a message naming the line, never a
traceback."""
from __future__ import annotations

import csv
import io
import json

import pytest

from ml.synth.sessions import SessionSynthConfig, generate_sessions, write_retailrocket_events, write_yoochoose_clicks

BASELINES = "session_popularity,last_item_knn,champion_fold_in"


@pytest.fixture(scope="module")
def planted():
    return generate_sessions(SessionSynthConfig(n_sessions=800, days=10, seed=3)).events


def _invoke(runner, *args):
    return runner.invoke(args=["ml", "evaluate-sessions", *args])


def test_a_session_csv_gives_the_table_and_json(runner, tmp_path, planted):
    path = tmp_path / "sessions.csv"
    planted[["session_id", "item_id", "timestamp"]].to_csv(path, index=False)
    table = _invoke(runner, "--interactions", str(path), "--test-days", "2", "--models", BASELINES,
                    "--champion", "item_knn")
    assert table.exit_code == 0, table.output
    assert "session-rec protocol" in table.output and "Window 0:" in table.output
    for name in ("session_popularity", "last_item_knn", "champion_fold_in", "mrr@20 vs last_item_knn"):
        assert name in table.output
    result = _invoke(runner, "--interactions", str(path), "--test-days", "2", "--models", "last_item_knn",
                     "--k", "5", "--k", "20", "--repeats", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["protocol"]["cutoffs"] == [5, 20] and len(report["windows"]) == 2
    values = {(r["model"], r["metric"]): r for r in report["results"]}
    assert 0 < values[("last_item_knn", "mrr@20")]["mean"] <= values[("last_item_knn", "hr@20")]["mean"] <= 1
    assert values[("last_item_knn", "hr@5")]["n"] == 2


def test_yoochoose_and_retailrocket_layouts_agree(runner, tmp_path, planted):
    clicks = write_yoochoose_clicks(planted, tmp_path / "clicks.dat")
    events = write_retailrocket_events(planted, tmp_path / "events.csv")
    outputs = []
    for option, path in (("--yoochoose", clicks), ("--retailrocket", events)):
        result = _invoke(runner, option, str(path), "--test-days", "2", "--models", "last_item_knn", "--format", "csv")
        assert result.exit_code == 0, result.output
        outputs.append({(r["model"], r["metric"]): r["mean"] for r in csv.DictReader(io.StringIO(result.stdout))
                        if r["metric"] not in ("fit_seconds", "predict_ms")})  # timings differ
    # the visitors' 30-minute cut gives back the generated sessions (the bootstrap draws differ: the
    # sessions are named, and so ordered, differently)
    assert outputs[0] == outputs[1] and outputs[0][("last_item_knn", "predictions")] != "0"


def test_bad_input_is_a_message_with_the_line(runner, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("session_id,item_id,timestamp\n1,a,0\n1,b,not-a-time\n")
    result = _invoke(runner, "--interactions", str(bad))
    assert result.exit_code == 1 and "bad.csv:3: timestamp" in result.output
    clicks = tmp_path / "clicks.dat"
    clicks.write_text("1,2014-04-07T10:51:09.277Z,214536502,0\n1,2014-04-07,214536500,0\n")
    result_yc = _invoke(runner, "--yoochoose", str(clicks))
    assert result_yc.exit_code == 1 and "clicks.dat:2" in result_yc.output
    unknown = _invoke(runner, "--interactions", str(bad), "--models", "nope")
    both = _invoke(runner, "--interactions", str(bad), "--yoochoose", str(clicks))
    assert both.exit_code == 2 and "at most one" in both.output
    empty_shop = _invoke(runner)
    assert empty_shop.exit_code == 1 and "no events" in empty_shop.output
    assert _invoke(runner, "--k", "0").exit_code == 2
    for output in (result.output, result_yc.output, unknown.output, both.output, empty_shop.output):
        assert "Traceback" not in output


def test_unknown_model_and_too_short_data_are_messages(runner, tmp_path, planted):
    path = tmp_path / "sessions.csv"
    planted[["session_id", "item_id", "timestamp"]].to_csv(path, index=False)
    unknown = _invoke(runner, "--interactions", str(path), "--models", "nope")
    assert unknown.exit_code == 1 and "unknown session model(s): nope" in unknown.output
    too_long = _invoke(runner, "--interactions", str(path), "--test-days", "400", "--models", "last_item_knn")
    assert too_long.exit_code == 1 and "no session started before the test window" in too_long.output

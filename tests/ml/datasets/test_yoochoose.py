"""The YOOCHOOSE reader: no header, ISO times with Z, categories kept as text, bad lines by number."""
from __future__ import annotations

import pandas as pd
import pytest

from ml.data import DataFormatError
from ml.datasets.retailrocket_synth import write_yoochoose
from ml.datasets.yoochoose import iter_buys, iter_clicks

CLICKS = (
    "1,2014-04-07T10:51:09.277Z,214536502,0\n"
    "1,2014-04-07T10:54:09.868Z,214536500,S\n"
    "2,2014-04-07T13:56:37.614Z,214662742,2053977461\n"
    "2,2014-04-07T13:57:19.373Z,214536502,12\n"
)
BUYS = "420374,2014-04-06T18:44:58.314Z,214537888,12462,1\n420374,2014-04-06T18:44:58.325Z,214537850,0,0\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_clicks_are_typed(tmp_path):
    frame = pd.concat(list(iter_clicks(_write(tmp_path, "clicks.dat", CLICKS))), ignore_index=True)
    assert frame["session_id"].tolist() == [1, 1, 2, 2]
    assert frame["category"].tolist() == ["0", "S", "2053977461", "12"]
    assert str(frame["timestamp"].iloc[0]) == "2014-04-07 10:51:09.277000"


def test_buys_keep_zero_price_and_quantity(tmp_path):
    frame = pd.concat(list(iter_buys(_write(tmp_path, "buys.dat", BUYS))), ignore_index=True)
    assert frame["price"].tolist() == [12462.0, 0.0] and frame["quantity"].tolist() == [1, 0]


def test_tab_separated_clicks_are_accepted(tmp_path):
    frame = pd.concat(list(iter_clicks(_write(tmp_path, "clicks.tsv", CLICKS.replace(",", "\t")))))
    assert len(frame) == 4


def test_bad_clicks_and_buys_are_reported_by_line(tmp_path):
    clicks = CLICKS + "3,2014-04-07 10:51:09,214536502,0\n" + "3,2014-04-07T10:51:09.277Z,214536502,13\n" + "x,2014-04-07T10:51:09.277Z,1,0\n" + "3,2014-04-07T10:51:09.277Z,1\n"
    with pytest.raises(DataFormatError) as caught:
        list(iter_clicks(_write(tmp_path, "clicks.dat", clicks), chunk_rows=2))
    assert [line for line, _ in caught.value.problems] == [5, 6, 7, 8]
    assert "clicks.dat:6: category is not 0, 1-12, S or an 8-10 digit brand id: '13'" in str(caught.value)
    assert "clicks.dat:8: expected 4 fields, found 3" in str(caught.value)
    with pytest.raises(DataFormatError, match=r"buys.dat:3: price is not a non-negative number"):
        list(iter_buys(_write(tmp_path, "buys.dat", BUYS + "1,2014-04-06T18:44:58.314Z,2,-5,1\n")))



@pytest.mark.parametrize("chunk_rows", [1, 3, 100])
def test_rows_without_a_session_are_skipped_by_line_when_asked(tmp_path, chunk_rows):
    from ml.datasets.tables import SkippedRows

    clicks = ("None,2014-04-07T10:51:09.277Z,214536502,0\n"  # line 1: no session (the first line too)
              + CLICKS  # 2-5
              + ",2014-04-07T10:51:09.277Z,214536502,0\n"  # 6: empty
              + "NaN,not-a-time,1,99\n")  # 7: no session, so not checked further
    path = tmp_path / "clicks.dat"
    path.write_bytes(("\ufeff" + clicks.replace("\n", "\r\n")).encode())
    skipped = SkippedRows()
    frame = pd.concat(list(iter_clicks(path, chunk_rows, skipped=skipped)), ignore_index=True)
    assert frame["session_id"].tolist() == [1, 1, 2, 2]
    assert skipped.describe() == "3 rows skipped, session_id unknown (the session was not identified): lines 1, 6, 7"
    with pytest.raises(DataFormatError) as caught:
        list(iter_clicks(path, chunk_rows))
    assert [line for line, _ in caught.value.problems] == [1, 6, 7]
    assert "clicks.dat:1: session_id is unknown ('None'): the row cannot be attributed to a session" in str(caught.value)
    buys = tmp_path / "buys.dat"
    buys.write_text(BUYS + "null,2014-04-06T18:44:58.314Z,214537888,12462,1\n")
    listed: list[tuple[int, str]] = []
    assert sum(len(chunk) for chunk in iter_buys(buys, skipped=listed)) == 2
    assert listed == [(3, "session_id unknown (the session was not identified)")]

def test_synthetic_yoochoose_files_read_back_and_are_deterministic(tmp_path):
    first = write_yoochoose(tmp_path / "a", n_sessions=300, seed=4)
    second = write_yoochoose(tmp_path / "b", n_sessions=300, seed=4)
    assert first["clicks"].read_bytes() == second["clicks"].read_bytes()
    clicks = pd.concat(list(iter_clicks(first["clicks"])))
    buys = pd.concat(list(iter_buys(first["buys"])))
    assert clicks["session_id"].nunique() == 300
    assert set(buys["session_id"]) <= set(clicks["session_id"])
    assert {"0", "S"} <= set(clicks["category"])

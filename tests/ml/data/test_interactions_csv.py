"""The generic interactions CSV reader: valid files and line-numbered error reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data import DataFormatError, build_interactions, read_interactions_csv


def write(tmp_path: Path, text: str, name: str = "events.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_reads_minimal_file_with_string_ids(tmp_path):
    path = write(tmp_path, "user_id,item_id\n007,42\n20239734541707312813871963623233721188,x\n")
    frame = read_interactions_csv(path)
    assert list(frame.columns) == ["user_id", "item_id"]
    assert list(frame["user_id"]) == ["007", "20239734541707312813871963623233721188"]
    assert list(frame["item_id"]) == ["42", "x"]


def test_reads_all_columns_in_any_order(tmp_path):
    path = write(
        tmp_path,
        "\ufeffevent, timestamp ,item_id,weight,user_id\n"  # BOM and padded header names
        "view,1700000000,a,1.5,u1\n"
        "\n"  # blank lines are skipped
        "transaction,2023-11-14T22:13:21Z,b,2, u2 \n"
        "addtocart,2023-11-14 22:13:22,a,0,u1\n",  # naive ISO -> UTC
    )
    frame = read_interactions_csv(path)
    assert list(frame.columns) == ["user_id", "item_id", "event", "timestamp", "weight"]
    assert list(frame["user_id"]) == ["u1", "u2", "u1"]
    assert frame["weight"].dtype == np.float64 and list(frame["weight"]) == [1.5, 2.0, 0.0]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    seconds = (frame["timestamp"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
    assert list(seconds) == [1_700_000_000, 1_700_000_001, 1_700_000_002]
    matrix, _ = build_interactions(frame, time_decay_half_life_days=1.0)
    assert matrix.shape == (2, 2)


def test_header_only_gives_an_empty_frame(tmp_path):
    frame = read_interactions_csv(write(tmp_path, "user_id,item_id,weight\n"))
    assert frame.empty and list(frame.columns) == ["user_id", "item_id", "weight"]


def test_bad_rows_are_reported_with_file_and_line(tmp_path):
    path = write(
        tmp_path,
        "user_id,item_id,weight,timestamp\n"
        "u1,a,1,1700000000\n"
        ",a,1,1700000000\n"  # line 3: empty user_id
        "u2,b,heavy,1700000000\n"  # line 4: weight not a number
        "u3,c,1\n"  # line 5: too few fields
        "u4,d,-1,yesterday\n"  # line 6: negative weight and bad timestamp
        "u5,e,1,1433221332117\n"  # line 7: milliseconds
        "u6,f,1,nan\n",  # line 8: not a finite number
        name="shop.csv",
    )
    with pytest.raises(DataFormatError) as caught:
        read_interactions_csv(path)
    error = caught.value
    message = str(error)
    assert error.path == str(path)
    assert [line for line, _ in error.problems] == [3, 4, 5, 6, 6, 7, 8]
    assert "shop.csv:3: user_id is empty" in message
    assert "shop.csv:4: weight is not a number: 'heavy'" in message
    assert "shop.csv:5: expected 4 fields, found 3" in message
    assert "shop.csv:6: weight must be a finite number >= 0" in message
    assert "shop.csv:6: timestamp is neither Unix seconds nor ISO 8601: 'yesterday'" in message
    assert "shop.csv:7: timestamp is out of range" in message and "milliseconds" in message
    assert "shop.csv:8: timestamp is not a finite number: 'nan'" in message
    assert isinstance(error, ValueError)


def test_quoted_newlines_keep_line_numbers_right(tmp_path):
    path = write(tmp_path, 'user_id,item_id\n"multi\nline",a\nu2,\n')
    with pytest.raises(DataFormatError) as caught:
        read_interactions_csv(path)
    assert caught.value.problems == [(4, "item_id is empty")]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("user_id,weight", "missing required column(s): item_id"),
        ("user_id,item_id,timestmp", "unknown column(s): timestmp"),
        ("user_id,item_id,user_id", "duplicated column(s): user_id"),
    ],
)
def test_bad_headers_are_reported_on_line_one(tmp_path, header, expected):
    path = write(tmp_path, header + "\nu,1,2\n")
    with pytest.raises(DataFormatError, match="events.csv:1: ") as caught:
        read_interactions_csv(path)
    assert expected in str(caught.value)


def test_empty_and_non_utf8_files(tmp_path):
    with pytest.raises(DataFormatError, match="empty"):
        read_interactions_csv(write(tmp_path, ""))
    latin = write(tmp_path, "user_id,item_id\nJosé,a\n", name="latin.csv", encoding="latin-1")
    with pytest.raises(DataFormatError, match="UTF-8"):
        read_interactions_csv(latin)


def test_many_problems_are_summarised(tmp_path):
    body = "".join(f"u{i},\n" for i in range(25))
    with pytest.raises(DataFormatError) as caught:
        read_interactions_csv(write(tmp_path, "user_id,item_id\n" + body))
    assert len(caught.value.problems) == 25
    assert "events.csv:26: item_id is empty" not in str(caught.value)  # only 20 listed
    assert "... and 5 more problem(s)" in str(caught.value)

"""Session sources: the shop's frame, the generic CSV, Retailrocket and YOOCHOOSE files, with the
quirks of real files (BOM, CRLF, quoted fields, 38-digit ids, the literal None, unknown visitors)."""
from __future__ import annotations

import pandas as pd
import pytest

from ml.data import DataFormatError
from ml.sessions.sources import (
    read_retailrocket_sessions, read_sessions_csv, read_yoochoose_sessions, sessions_from_frame,
)

COOKIE = "20239734541707312813871963623233721188"  # 38 digits: beyond 64 bits


def _sessions(source) -> dict[str, list[str]]:
    data = source.data
    return {str(data.session_ids[s]): [str(data.item_ids[i]) for i in data.session(s)] for s in range(data.n_sessions)}


def test_frame_sessions_and_visitor_fallback():
    frame = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u2", "u2", None],
        "item_id": ["a", "b", "c", "d", "e", "f"],
        "event": ["view"] * 6,
        "timestamp": pd.to_datetime([0, 60, 0, 120, 120 + 31 * 60, 5], unit="s", utc=True),
        "session_id": ["s1", "s1", None, "None", "", None],
    })
    source = sessions_from_frame(frame, event_types=("view",))
    got = _sessions(source)
    assert got["s1"] == ["a", "b"]
    # u2's session-less rows are cut at 30 idle minutes: c,d then e
    assert got["visitor u2:0"] == ["c", "d"] and got["visitor u2:1"] == ["e"]
    assert source.from_visitors == 3 and len(source.skipped) == 1
    assert "line 6" in source.skipped.describe() and "cannot be attributed" in source.skipped.describe()


def test_frame_event_filter_keeps_views_only():
    frame = pd.DataFrame({"session_id": ["s"] * 3, "item_id": ["a", "b", "b"], "event": ["view", "view", "addtocart"],
                          "timestamp": [1.0, 2.0, 3.0]})
    assert _sessions(sessions_from_frame(frame, event_types=("view",))) == {"s": ["a", "b"]}
    assert _sessions(sessions_from_frame(frame)) == {"s": ["a", "b", "b"]}


def test_csv_with_bom_crlf_quotes_long_ids_and_none(tmp_path):
    path = tmp_path / "clicks.csv"
    text = ("session_id,user_id,item_id,timestamp\r\n"
            f'"{COOKIE}",x,"item, one",2024-01-01T10:00:00Z\r\n'
            f"{COOKIE},x,item2,2024-01-01T10:01:00Z\r\n"
            "None,v7,item3,1704103200\r\n"
            "\r\n"
            "None,v7,item2,1704103260\r\n"
            "None,None,item2,1704103260\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    source = read_sessions_csv(path)
    got = _sessions(source)
    assert got[COOKIE] == ["item, one", "item2"]  # every digit kept, the quoted comma kept
    assert got["visitor v7:0"] == ["item3", "item2"]
    assert source.from_visitors == 2
    assert len(source.skipped) == 1 and "line 7" in source.skipped.describe()


def test_csv_user_column_only_is_sessionised(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("user_id,item_id,timestamp,event,weight\n"
                    "a,i1,0,view,1\na,i2,100,view,1\na,i3,5000,view,1\n")
    got = _sessions(read_sessions_csv(path))
    assert got == {"visitor a:0": ["i1", "i2"], "visitor a:1": ["i3"]}


def test_csv_session_only_none_is_skipped_and_listed(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("session_id,item_id,timestamp\n1,a,0\nNone,b,1\n1,b,2\n")
    source = read_sessions_csv(path)
    assert _sessions(source) == {"1": ["a", "b"]}
    assert "line 3" in source.skipped.describe() and "session_id unknown" in source.skipped.describe()


@pytest.mark.parametrize("text, message", [
    ("item_id,timestamp\na,0\n", "session_id or user_id"),
    ("session_id,item_id,timestamp,colour\n1,a,0,red\n", "unknown column(s): colour"),
    ("session_id,item_id,timestamp\n1,a,0\n1,,5\n1,b,yesterday\n1,c\n", "s.csv:3: item_id is empty"),
])
def test_csv_errors_name_the_line(tmp_path, text, message):
    path = tmp_path / "s.csv"
    path.write_text(text)
    with pytest.raises(DataFormatError) as raised:
        read_sessions_csv(path)
    assert message in str(raised.value)
    if "yesterday" in text:
        assert "s.csv:4: timestamp" in str(raised.value) and "s.csv:5: expected 3 fields" in str(raised.value)


def test_retailrocket_views_sessionised_and_unknown_visitors_skipped(tmp_path):
    path = tmp_path / "events.csv"
    path.write_bytes(("\ufefftimestamp,visitorid,event,itemid,transactionid\r\n"
                      "1433221332117,257597,view,355908,\r\n"
                      "1433221392117,257597,view,248676,\r\n"
                      "1433221400000,257597,addtocart,248676,\r\n"
                      "1433231332117,257597,view,355908,\r\n"
                      "1433221332117,None,view,1,\r\n").encode())
    source = read_retailrocket_sessions(path)
    assert _sessions(source) == {"257597:0": ["355908", "248676"], "257597:1": ["355908"]}
    assert len(source.skipped) == 1 and "line 6" in source.skipped.describe()
    broken = tmp_path / "broken.csv"
    broken.write_text("timestamp,visitorid,event,itemid,transactionid\n1433221332117,x,view,1,\n")
    with pytest.raises(DataFormatError, match="broken.csv:2"):
        read_retailrocket_sessions(broken)


def test_yoochoose_sessions_as_they_are(tmp_path):
    path = tmp_path / "clicks.dat"
    path.write_text("1,2014-04-07T10:51:09.277Z,214536502,0\n"
                    "1,2014-04-07T10:54:09.868Z,214536500,0\n"
                    "2,2014-04-07T13:56:37.614Z,214662742,S\n"
                    "None,2014-04-07T13:57:37.614Z,214662742,S\n"
                    "2,2014-04-07T13:57:19.373Z,214662742,2058094683\n")
    source = read_yoochoose_sessions(path)
    assert _sessions(source) == {"1": ["214536502", "214536500"], "2": ["214662742", "214662742"]}
    assert source.data.times[0] == pytest.approx(1396867869.277)
    assert len(source.skipped) == 1 and "line 4" in source.skipped.describe()
    path.write_text("1,yesterday,214536502,0\n")
    with pytest.raises(DataFormatError, match="clicks.dat:1"):
        read_yoochoose_sessions(path)

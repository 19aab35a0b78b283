"""The Retailrocket reader: exact layouts in, typed chunks out, every bad line by number."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data import DataFormatError
from ml.datasets.retailrocket import (
    NO_TRANSACTION, item_snapshots, iter_events, iter_properties, latest_state, read_category_tree,
)
from ml.datasets.retailrocket_synth import SHARES, synthetic_events, write_retailrocket

EVENTS = (
    "timestamp,visitorid,event,itemid,transactionid\n"
    "1433221332117,257597,view,355908,\n"
    "1433224214164,992329,view,248676,\n"
    "1433227005006,992329,addtocart,248676,\n"
    "1433227005007,992329,transaction,248676,9744\n"
)


def _write(tmp_path, text: str, name: str = "events.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _all(path, **kwargs) -> pd.DataFrame:
    return pd.concat(list(iter_events(path, **kwargs)), ignore_index=True)


def test_events_are_typed_and_transaction_ids_kept(tmp_path):
    frame = _all(_write(tmp_path, EVENTS))
    assert frame["visitorid"].tolist() == [257597, 992329, 992329, 992329]
    assert frame["event"].tolist() == ["view", "view", "addtocart", "transaction"]
    assert frame["transactionid"].tolist() == [NO_TRANSACTION] * 3 + [9744]
    assert frame["timestamp"].dtype == np.int64
    when = pd.to_datetime(frame["timestamp"].iloc[0], unit="ms")
    assert str(when) == "2015-06-02 05:02:12.117000"


def test_chunks_stream_in_file_order(tmp_path):
    chunks = list(iter_events(_write(tmp_path, EVENTS), chunk_rows=1))
    assert [len(c) for c in chunks] == [1, 1, 1, 1]


def test_tab_separated_crlf_bom_and_blank_lines_are_accepted(tmp_path):
    text = "\ufeff" + EVENTS.replace(",", "\t").replace("\n", "\r\n") + "\r\n"
    frame = _all(_write(tmp_path, text))
    assert len(frame) == 4 and frame["itemid"].iloc[-1] == 248676


def test_every_bad_line_is_reported_by_number_and_nothing_is_yielded(tmp_path):
    text = (
        EVENTS
        + "\n"  # line 6: blank, skipped but counted
        + "1433227005008,1,click,2,\n"  # 7: unknown event
        + "14332270,1,view,2,\n"  # 8: not milliseconds
        + "1433227005009,abc,view,2,\n"  # 9: non-integer id
        + "1433227005010,1,transaction,2,\n"  # 10: transaction without id
        + "1433227005011,1,view,2\n"  # 11: wrong column count
        + "1433227005012,1,view,2,77\n"  # 12: transactionid on a view
    )
    path = _write(tmp_path, text)
    yielded = []
    with pytest.raises(DataFormatError) as caught:
        for chunk in iter_events(path, chunk_rows=3):
            yielded.append(chunk)
    lines = [line for line, _ in caught.value.problems]
    assert lines == [7, 8, 9, 10, 11, 12]
    message = str(caught.value)
    assert "events.csv:7: event is not one of" in message
    assert "events.csv:8: timestamp is not Unix milliseconds" in message
    assert "events.csv:9: visitorid is not a non-negative integer: 'abc'" in message
    assert "events.csv:10: transaction without transactionid" in message
    assert "events.csv:11: expected 5 fields, found 4" in message
    assert "events.csv:12: transactionid on a view event" in message
    assert sum(len(c) for c in yielded) <= 4  # only the valid chunks before the first bad line


def test_wrong_header_is_line_one(tmp_path):
    with pytest.raises(DataFormatError, match=r"events.csv:1: expected the header"):
        _all(_write(tmp_path, "ts,visitor,event,item,tx\n1,2,view,3,\n"))


PROPERTIES = (
    "timestamp,itemid,property,value\n"
    "1435460400000,460429,categoryid,1338\n"
    "1441508400000,206783,888,1116713 960601 n277.200\n"
    "1439089200000,460429,790,n552.000\n"
    "1431226800000,460429,available,1\n"
    "1433041200000,460429,790,n600.000\n"
    "1442113200000,460429,available,0\n"
    "1436065200000,460429,categoryid,1277\n"
)


def test_properties_keep_the_shop_ones_and_the_latest_snapshot_wins(tmp_path):
    snapshots = item_snapshots([_write(tmp_path, PROPERTIES, "p1.csv")])
    assert set(snapshots["property"]) == {"categoryid", "available", "790"}
    state = latest_state(snapshots)
    assert state.loc[460429, "790"] == 552.0
    assert state.loc[460429, "categoryid"] == 1277
    assert state.loc[460429, "available"] == 0
    assert 206783 not in state.index


def test_bad_property_values_are_reported(tmp_path):
    text = PROPERTIES + "1442113200000,460429,790,552\n" + "1442113200000,460429,available,yes\n"
    with pytest.raises(DataFormatError) as caught:
        list(iter_properties(_write(tmp_path, text, "p2.csv")))
    assert [line for line, _ in caught.value.problems] == [9, 10]


def test_category_tree_roots_have_no_parent(tmp_path):
    tree = read_category_tree(_write(tmp_path, "categoryid,parentid\n1016,213\n809,169\n213,\n", "tree.csv"))
    assert tree["categoryid"].tolist() == [1016, 809, 213]
    assert tree["parentid"].isna().tolist() == [False, False, True]


def test_synthetic_events_have_the_real_shares_and_are_deterministic():
    frame = synthetic_events(40_000, seed=3)
    assert len(frame) == 40_000
    shares = frame["event"].value_counts(normalize=True)
    for kind, share in SHARES.items():
        assert shares[kind] == pytest.approx(share, abs=0.002)
    tx = frame[frame["event"] == "transaction"]
    assert tx["transactionid"].notna().all() and frame.loc[frame["event"] != "transaction", "transactionid"].isna().all()
    assert tx.groupby("transactionid")["visitorid"].nunique().max() == 1  # one visitor per order
    assert 1.1 < len(tx) / tx["transactionid"].nunique() < 1.6
    per_visitor = frame["visitorid"].value_counts()
    assert per_visitor.iloc[0] > 10 * per_visitor.median()  # long tail
    pd.testing.assert_frame_equal(frame, synthetic_events(40_000, seed=3))


def test_synthetic_files_read_back(tmp_path):
    paths = write_retailrocket(tmp_path, 5_000, seed=2)
    assert sum(len(chunk) for chunk in iter_events(paths["events"])) == 5_000
    state = latest_state(item_snapshots([paths["properties1"], paths["properties2"]]))
    assert state["790"].notna().all() and state["categoryid"].notna().all()
    tree = read_category_tree(paths["categories"])
    assert set(state["categoryid"].astype(int)) <= set(tree["categoryid"])
    assert paths["events"].read_text().splitlines()[0] == "timestamp,visitorid,event,itemid,transactionid"


UNATTRIBUTABLE = (
    EVENTS
    + "1433227005008,None,view,248676,\n"  # line 6: no visitor
    + "1433227005009, ,view,248676,\n"  # 7: empty (spaces)
    + "1433227005010,null,click,x,\n"  # 8: no visitor, so not checked further
    + "1433227005011,5,view,248676,\n"  # 9
    + "1433227005012,,transaction,248676,\n"  # 10: empty
)


@pytest.mark.parametrize("chunk_rows", [1, 2, 100])
def test_events_without_a_visitor_are_skipped_by_line_when_asked(tmp_path, chunk_rows):
    from ml.datasets.tables import SkippedRows

    text = "\ufeff" + UNATTRIBUTABLE.replace("\n", "\r\n")
    path = _write(tmp_path, text)
    skipped = SkippedRows()
    frame = _all(path, chunk_rows=chunk_rows, skipped=skipped)
    assert frame["visitorid"].tolist() == [257597, 992329, 992329, 992329, 5]
    assert skipped.describe() == "4 rows skipped, visitorid unknown (the visitor was not identified): lines 6, 7, 8, 10"
    listed: list[tuple[int, str]] = []  # a plain list works too, in line order across chunks
    _all(path, chunk_rows=chunk_rows, skipped=listed)
    assert [line for line, _ in listed] == [6, 7, 8, 10]


@pytest.mark.parametrize("chunk_rows", [2, 100])
def test_events_without_a_visitor_are_errors_by_default(tmp_path, chunk_rows):
    with pytest.raises(DataFormatError) as caught:
        _all(_write(tmp_path, UNATTRIBUTABLE), chunk_rows=chunk_rows)
    assert [line for line, _ in caught.value.problems] == [6, 7, 8, 10]
    message = str(caught.value)
    assert "events.csv:6: visitorid is unknown ('None'): the row cannot be attributed to a visitor" in message
    assert "events.csv:7: visitorid is empty: the row cannot be attributed to a visitor" in message


def test_skipping_still_refuses_malformed_lines(tmp_path):
    text = UNATTRIBUTABLE + "1433227005013,7,click,248676,\n" + "1433227005014,None,view\n"
    skipped: list[tuple[int, str]] = []
    with pytest.raises(DataFormatError) as caught:
        _all(_write(tmp_path, text), skipped=skipped)
    assert caught.value.problems == [(11, "event is not one of view, addtocart, transaction: 'click'"),
                                     (12, "expected 5 fields, found 3")]


def test_a_short_line_hidden_by_a_long_one_is_reported_not_a_crash(tmp_path):
    # Equal delimiter totals over the chunk: each line's own count must still be checked.
    text = EVENTS + "1433227005013,7,view,2\n" + "1433227005014,7,view,2,,\n"
    for skipped in (None, []):
        with pytest.raises(DataFormatError) as caught:
            _all(_write(tmp_path, text), skipped=skipped)
        assert caught.value.problems == [(6, "expected 5 fields, found 4"), (7, "expected 5 fields, found 6")]


def test_skipped_rows_keep_the_first_lines_of_each_reason_and_count_the_rest():
    from ml.datasets.tables import SkippedRows

    rows = SkippedRows(shown=3)
    rows.extend((line, "a") for line in range(10, 60))
    rows.append((70, "b"))
    assert len(rows) == 51 and rows.lines == {"a": [10, 11, 12], "b": [70]}
    assert rows.describe() == "50 rows skipped, a: lines 10, 11, 12 and 47 more; 1 row skipped, b: line 70"
    assert not SkippedRows() and SkippedRows().describe() == ""

"""``flask data import``: rows that cannot be attributed to anyone (visitor or session id ``None``
or empty) are skipped and listed by line, or, with ``--strict``, fail the import; malformed rows
still stop it. Files as they arrive: UTF-8 byte-order mark, CRLF line ends."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ml.data import DataFormatError
from storefront.cli.data import data_cli
from storefront.extensions import db
from storefront.imports.retailrocket import import_retailrocket
from storefront.imports.yoochoose import import_yoochoose
from storefront.models import Category, DataImport, Event, Order, OrderLine, Product, Visitor

RR_REASON = "visitorid unknown (the visitor was not identified)"
YC_REASON = "session_id unknown (the session was not identified)"

EVENTS = [
    "timestamp,visitorid,event,itemid,transactionid",
    "1433221332117,257597,view,355908,",
    "1433224214164,None,view,248676,",  # line 3: nobody to attribute it to
    "1433227005006,992329,addtocart,248676,",
    "1433227005007,,transaction,248676,9744",  # line 5: empty visitor
    "1433227005008,992329,transaction,248676,9745",
    "1433227005009,992329,view,355908,",
]
CLICKS = [
    "1,2014-04-07T10:51:09.277Z,214536502,0",
    "None,2014-04-07T10:54:09.868Z,214536500,3",  # line 2
    "2,2014-04-07T13:56:37.614Z,214662742,2053977461",
    ",2014-04-07T13:57:19.373Z,214536502,0",  # line 4
    "2,2014-04-07T13:58:19.373Z,214536500,3",
]
BUYS = [
    "1,2014-04-07T10:58:09.000Z,214536500,1046,2",
    "null,2014-04-07T10:58:09.001Z,214536506,0,0",  # line 2
]


def _write(path, lines: list[str]):
    """As exported on Windows: a UTF-8 byte-order mark and CRLF line ends."""
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def _counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m))
                for m in (Visitor, Product, Category, Event, Order, OrderLine, DataImport)}


def _tokens(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(Visitor.token)))


def test_retailrocket_skips_events_without_a_visitor_across_chunks(app, tmp_path):
    events = _write(tmp_path / "events.csv", EVENTS)
    with app.app_context():
        report = import_retailrocket(events, chunk_rows=2)  # lines 2-3, 4-5, 6-7: numbers stay absolute
        db.session.commit()
    assert report.rows == 4 and report.events == 4
    assert f"events.csv: 2 rows skipped, {RR_REASON}: lines 3, 5." in report.summary()
    assert _tokens(app) == {"rr:257597", "rr:992329"}
    counts = _counts(app)
    assert (counts["events"], counts["orders"], counts["data_imports"]) == (4, 1, 1)  # order 9744 had no visitor


def test_retailrocket_lists_the_first_twenty_lines_and_counts_the_rest(app, tmp_path):
    events = _write(tmp_path / "events.csv", EVENTS[:2] + [f"14332213321{n:02d},None,view,1," for n in range(25)])
    with app.app_context():
        report = import_retailrocket(events, chunk_rows=7)
        db.session.commit()
    lines = ", ".join(str(n) for n in range(3, 23))
    assert f"25 rows skipped, {RR_REASON}: lines {lines} and 5 more." in report.summary()
    assert report.events == 1


def test_retailrocket_cli_reports_the_skipped_lines(app, runner, tmp_path):
    events = _write(tmp_path / "events.csv", EVENTS)
    result = runner.invoke(data_cli, ["import", "retailrocket", str(events)])
    assert result.exit_code == 0, result.output
    assert f"events.csv: 2 rows skipped, {RR_REASON}: lines 3, 5." in result.output
    assert _counts(app)["events"] == 4


def test_retailrocket_strict_refuses_the_file_and_writes_nothing(app, runner, tmp_path):
    events = _write(tmp_path / "events.csv", EVENTS)
    result = runner.invoke(data_cli, ["import", "retailrocket", "--strict", str(events)])
    assert result.exit_code == 1
    assert "events.csv:3: visitorid is unknown ('None'): the row cannot be attributed to a visitor" in result.output
    assert "events.csv:5: visitorid is empty: the row cannot be attributed to a visitor" in result.output
    assert "Nothing was imported" in result.output
    assert all(n == 0 for n in _counts(app).values())
    with app.app_context():
        with pytest.raises(DataFormatError) as caught:
            import_retailrocket(events, chunk_rows=2, strict=True)
        db.session.rollback()
    assert [line for line, _ in caught.value.problems] == [3, 5]
    assert all(n == 0 for n in _counts(app).values())


def test_retailrocket_malformed_rows_still_stop_an_import_that_skips(app, runner, tmp_path):
    events = _write(tmp_path / "events.csv", EVENTS + ["1433227005010,5,click,1,"])
    result = runner.invoke(data_cli, ["import", "retailrocket", str(events)])
    assert result.exit_code == 1
    assert "events.csv:8: event is not one of" in result.output
    assert "events.csv:3" not in result.output  # skipped rows are not errors
    assert all(n == 0 for n in _counts(app).values())


def test_yoochoose_skips_rows_without_a_session_in_each_file(app, runner, tmp_path):
    clicks = _write(tmp_path / "yoochoose-clicks.dat", CLICKS)
    buys = _write(tmp_path / "yoochoose-buys.dat", BUYS)
    result = runner.invoke(data_cli, ["import", "yoochoose", str(clicks), str(buys)])
    assert result.exit_code == 0, result.output
    assert f"yoochoose-clicks.dat: 2 rows skipped, {YC_REASON}: lines 2, 4." in result.output
    assert f"yoochoose-buys.dat: 1 row skipped, {YC_REASON}: line 2." in result.output
    assert _tokens(app) == {"yc:1", "yc:2"}
    counts = _counts(app)
    assert (counts["events"], counts["orders"], counts["order_lines"]) == (4, 1, 1)


def test_yoochoose_skips_across_chunks(app, tmp_path):
    clicks = _write(tmp_path / "yoochoose-clicks.dat", CLICKS)
    with app.app_context():
        report = import_yoochoose(clicks, chunk_rows=1)
        db.session.commit()
    assert report.rows == 3 and f"yoochoose-clicks.dat: 2 rows skipped, {YC_REASON}: lines 2, 4." in report.summary()


def test_yoochoose_strict_refuses_the_file_and_writes_nothing(app, runner, tmp_path):
    clicks = _write(tmp_path / "yoochoose-clicks.dat", CLICKS)
    buys = _write(tmp_path / "yoochoose-buys.dat", BUYS)
    result = runner.invoke(data_cli, ["import", "yoochoose", "--strict", str(clicks), str(buys)])
    assert result.exit_code == 1
    assert ("yoochoose-clicks.dat:2: session_id is unknown ('None'): the row cannot be attributed to a session"
            in result.output)
    assert "yoochoose-clicks.dat:4: session_id is empty" in result.output
    assert all(n == 0 for n in _counts(app).values())
    # Clean clicks, a buys file without a session on line 2: the clicks are rolled back too.
    good = _write(tmp_path / "clean-clicks.dat", [CLICKS[0], CLICKS[2]])
    result = runner.invoke(data_cli, ["import", "yoochoose", "--strict", str(good), str(buys)])
    assert result.exit_code == 1
    assert "yoochoose-buys.dat:2: session_id is unknown ('null')" in result.output
    assert all(n == 0 for n in _counts(app).values())

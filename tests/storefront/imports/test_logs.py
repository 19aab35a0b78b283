"""``flask data import``: Retailrocket and YOOCHOOSE files into the shop, all or nothing, once."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from ml.data import DataFormatError
from storefront.cli.data import data_cli
from storefront.extensions import db
from storefront.models import Category, DataImport, Event, Order, OrderLine, Product, Visitor
from storefront.imports import bulk as data_import_bulk
from storefront.imports.retailrocket import import_retailrocket
from storefront.training.data import load_events_frame

EVENTS = (
    "timestamp,visitorid,event,itemid,transactionid\n"
    "1433221332117,257597,view,355908,\n"
    "1433224214164,992329,view,248676,\n"
    "1433227005006,992329,addtocart,248676,\n"
    "1433227005007,992329,transaction,248676,9744\n"
    "1433227005007,992329,transaction,355908,9744\n"
    "1433230000000,111,view,777,\n"
    "1433240000000,111,transaction,777,9800\n"
)
PROPERTIES_1 = (
    "timestamp,itemid,property,value\n"
    "1431226800000,248676,790,n552.000\n"
    "1433300000000,248676,790,n600.000\n"  # after the purchase: the order keeps 552
    "1431226800000,248676,categoryid,1016\n"
    "1431226800000,248676,6,1116713 960601 n277.200\n"
)
PROPERTIES_2 = (
    "timestamp,itemid,property,value\n"
    "1431226800000,355908,790,n120.500\n"
    "1431226800000,355908,available,1\n"
    "1433300000000,355908,available,0\n"
    "1431226800000,355908,categoryid,213\n"
)
TREE = "categoryid,parentid\n1016,213\n213,\n809,169\n"


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, content in (("events.csv", EVENTS), ("p1.csv", PROPERTIES_1), ("p2.csv", PROPERTIES_2), ("tree.csv", TREE)):
        paths[name] = tmp_path / name
        paths[name].write_text(content)
    return paths


def _import(runner, files, events=None):
    return runner.invoke(data_cli, ["import", "retailrocket", str(events or files["events.csv"]),
                                    "--properties", str(files["p1.csv"]), str(files["p2.csv"]),
                                    "--categories", str(files["tree.csv"])])


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _counts() -> dict[str, int]:
    return {m.__tablename__: _count(m) for m in (Visitor, Product, Category, Event, Order, OrderLine, DataImport)}


def test_retailrocket_import_builds_the_shop(app, runner, files):
    result = _import(runner, files)
    assert result.exit_code == 0, result.output
    assert "7 rows" in result.output and "3 new visitors" in result.output
    with app.app_context():
        tokens = set(db.session.scalars(select(Visitor.token)))
        assert tokens == {"rr:257597", "rr:992329", "rr:111"}
        assert _count(Event) == 7 and _count(Order) == 2 and _count(OrderLine) == 3
        sold = db.session.scalar(select(Product).where(Product.sku == "rr-248676"))
        assert sold.name == "Item 248676" and sold.price == Decimal("600.00") and sold.stock > 0
        assert sold.category.name == "Category 1016" and sold.category.parent.name == "Category 213"
        gone = db.session.scalar(select(Product).where(Product.sku == "rr-355908"))
        assert gone.price == Decimal("120.50") and gone.stock == 0  # latest "available" is 0
        unknown = db.session.scalar(select(Product).where(Product.sku == "rr-777"))
        assert unknown.category.name == "Imported" and unknown.price == 0 and unknown.stock == 0
        assert db.session.scalar(select(Category).where(Category.slug == "rr-category-169")).parent_id is None
        order = db.session.scalar(select(Order).where(Order.reference == "RR9744"))
        prices = {line.product.sku: line.unit_price for line in order.lines}
        assert prices == {"rr-248676": Decimal("552.00"), "rr-355908": Decimal("120.50")}  # price that held
        assert order.total == Decimal("672.50")
        assert str(order.created_at) == "2015-06-02 06:36:45.007000"
        buy = db.session.scalar(select(Event).where(Event.type == "transaction", Event.product_id == sold.id))
        assert buy.order_id == order.id and buy.visitor_id == order.visitor_id
        assert db.session.scalar(select(func.max(Product.popularity))) > 0  # listings can sort
        frame = load_events_frame()  # what `flask ml train` reads
        assert len(frame) == 7 and set(frame["event"]) == {"view", "addtocart", "transaction"}
        assert frame["basket_id"].notna().sum() == 3


def test_the_same_file_again_imports_nothing(app, runner, files, tmp_path):
    assert _import(runner, files).exit_code == 0
    with app.app_context():
        before = _counts()
    renamed = tmp_path / "copy-of-events.csv"
    renamed.write_bytes(files["events.csv"].read_bytes())
    again = _import(runner, files, renamed)
    assert again.exit_code == 0 and "Already imported, nothing to do" in again.output
    with app.app_context():
        assert _counts() == before


def test_an_overlapping_file_adds_only_new_events(app, runner, files, tmp_path):
    assert _import(runner, files).exit_code == 0
    longer = tmp_path / "events-longer.csv"
    longer.write_text(EVENTS + "1433250000000,111,view,248676,\n1433260000000,5,view,777,\n")
    result = _import(runner, files, longer)
    assert result.exit_code == 0, result.output
    assert "7 already present" in result.output
    with app.app_context():
        assert _count(Event) == 9 and _count(Visitor) == 4 and _count(Order) == 2 and _count(OrderLine) == 3


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(app, runner, files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(EVENTS + "1433227005008,1,click,2,\n1433227005010,1,transaction,2,\n1433227005011,x,view,2\n")
    result = _import(runner, files, bad)
    assert result.exit_code == 1
    assert "bad.csv:9: event is not one of" in result.output
    assert "bad.csv:10: transaction without transactionid" in result.output
    assert "bad.csv:11: expected 5 fields, found 4" in result.output
    assert "Nothing was imported" in result.output
    with app.app_context():
        assert all(n == 0 for n in _counts().values())


def test_a_failure_mid_file_leaves_the_database_as_it_was(app, files, tmp_path, monkeypatch):
    # Small chunks and a low threshold: visitors, products and events of the first chunks are
    # written and the events indexes dropped (SQLite) before the bad line near the end is read.
    # On PostgreSQL the events foreign keys are dropped too: they must come back as well.
    monkeypatch.setattr(data_import_bulk, "REBUILD_INDEXES_MIN_ROWS", 0)
    bad = tmp_path / "late.csv"
    bad.write_text(EVENTS + "1433227005009,5,view,6,\n" * 6 + "1433227005010,5,view,notanumber,\n")
    with app.app_context():
        schema = _events_schema()
        assert len(schema["indexes"]) >= 9 and len(schema["foreign_keys"]) == 6
        assert any("customer_id IS NOT NULL" in str(options) for _, _, options in schema["indexes"])
        with pytest.raises(DataFormatError, match=r"late.csv:15: itemid"):
            import_retailrocket(bad, [files["p1.csv"]], files["tree.csv"], chunk_rows=2)
        db.session.rollback()
        assert all(n == 0 for n in _counts().values())
        assert _events_schema() == schema
        report = import_retailrocket(files["events.csv"], chunk_rows=3)  # and a good import still works
        db.session.commit()
        assert report.events == 7 and _count(Event) == 7
        assert _events_schema() == schema


def _events_schema() -> dict:
    """Indexes (with their partial predicates) and foreign keys of the events table."""
    inspector = inspect(db.engine)
    indexes = sorted((ix["name"], tuple(ix["column_names"]),
                      sorted((key, str(value)) for key, value in ix.get("dialect_options", {}).items()))
                     for ix in inspector.get_indexes("events"))
    keys = sorted((fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"])
                  for fk in inspector.get_foreign_keys("events"))
    return {"indexes": indexes, "foreign_keys": keys}


def _postgres_only(app, why: str) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip(f"PostgreSQL only: {why}")


def _statements_during(work) -> list[str]:
    """The SQL statements the engine ran while ``work()`` ran."""
    seen: list[str] = []

    def remember(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001 - event signature
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    return seen


@pytest.mark.parametrize("keep", [False, True])
def test_keep_indexes_never_drops_them(app, runner, files, monkeypatch, keep):
    # Without the flag a large import into a small table rebuilds the indexes; with it (a live
    # PostgreSQL shop keeps serving pages) no index or foreign key is ever dropped.
    monkeypatch.setattr(data_import_bulk, "REBUILD_INDEXES_MIN_ROWS", 0)
    with app.app_context():
        schema = _events_schema()
        options = ["--keep-indexes"] if keep else []
        statements = _statements_during(lambda: runner.invoke(
            data_cli, ["import", "retailrocket", str(files["events.csv"]), *options]))
        drops = [s for s in statements if s.lstrip().upper().startswith(("DROP INDEX", "ALTER TABLE EVENTS DROP"))]
        assert bool(drops) is not keep
        assert _count(Event) == 7 and _events_schema() == schema


def test_foreign_keys_are_enforced_again_after_an_import(app, files, monkeypatch):
    # The import skips the per-row checks (SQLite: PRAGMA off; PostgreSQL: constraints dropped
    # and added back) and every reference it wrote is valid; afterwards the shop's own writes
    # are checked again.
    monkeypatch.setattr(data_import_bulk, "REBUILD_INDEXES_MIN_ROWS", 0)
    with app.app_context():
        import_retailrocket(files["events.csv"], [files["p1.csv"], files["p2.csv"]], files["tree.csv"])
        db.session.commit()
        if db.engine.dialect.name == "sqlite":
            assert db.session.connection().exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert db.session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        visitor = db.session.scalar(select(Visitor.id))
        db.session.add(Event(visitor_id=visitor, product_id=10**9, type="view"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_postgres_sequence_draws_are_unique_and_fresh(app):
    _postgres_only(app, "SQLite assigns max(id)+1 under its write lock")
    with app.app_context():
        writer = data_import_bulk.BulkWriter(db.session.connection())
        first = writer.allocate("visitors", 1000)
        # A web request draws from the same sequence between two imports' draws
        db.session.add(Visitor(token="web-visitor"))
        db.session.flush()
        web = db.session.scalar(select(Visitor.id).where(Visitor.token == "web-visitor"))
        second = writer.allocate("visitors", 500)
        drawn = np.concatenate([first, second])
        assert len(set(drawn.tolist())) == 1500 and web not in set(drawn.tolist())
        assert list(first) == list(range(int(first[0]), int(first[0]) + 1000))
        db.session.rollback()


CLICKS = (
    "1,2014-04-07T10:51:09.277Z,214536502,0\n"
    "1,2014-04-07T10:54:09.868Z,214536500,3\n"
    "1,2014-04-07T10:54:46.998Z,214536506,S\n"
    "2,2014-04-07T13:56:37.614Z,214662742,2053977461\n"
    "2,2014-04-07T13:57:19.373Z,214536502,0\n"
)
BUYS = (
    "1,2014-04-07T10:58:09.000Z,214536500,1046,2\n"
    "1,2014-04-07T10:58:09.001Z,214536506,0,0\n"
    "3,2014-04-08T09:00:00.000Z,214600000,400,1\n"
)


def test_yoochoose_clicks_and_buys(app, runner, tmp_path):
    clicks, buys = tmp_path / "yoochoose-clicks.dat", tmp_path / "yoochoose-buys.dat"
    clicks.write_text(CLICKS)
    buys.write_text(BUYS)
    result = runner.invoke(data_cli, ["import", "yoochoose", str(clicks), str(buys)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert set(db.session.scalars(select(Visitor.token))) == {"yc:1", "yc:2", "yc:3"}
        kinds = dict(db.session.execute(select(Event.type, func.count()).group_by(Event.type)).all())
        assert kinds == {"view": 5, "transaction": 3}
        product = db.session.scalar(select(Product).where(Product.sku == "yc-214536500"))
        assert product.category.name == "YOOCHOOSE 3" and product.price == Decimal("1046.00") and product.stock > 0
        special = db.session.scalar(select(Product).where(Product.sku == "yc-214536506"))
        assert special.category.name == "Special offers" and special.price == 0 and special.stock == 0
        assert db.session.scalar(select(Product.brand).where(Product.sku == "yc-214662742")) == "2053977461"
        order = db.session.scalar(select(Order).where(Order.reference == "YC1"))
        assert {(l.product.sku, l.unit_price, l.quantity) for l in order.lines} == {
            ("yc-214536500", Decimal("1046.00"), 2), ("yc-214536506", Decimal("0.00"), 1)}
        assert order.total == Decimal("2092.00")
        assert db.session.scalar(select(Event.session_id).where(Event.type == "transaction").limit(1)) in {"1", "3"}
    again = runner.invoke(data_cli, ["import", "yoochoose", str(clicks), str(buys)])
    assert "Already imported" in again.output
    with app.app_context():
        assert _count(Event) == 8


def test_yoochoose_bad_line_imports_nothing(app, runner, tmp_path):
    clicks = tmp_path / "clicks.dat"
    clicks.write_text(CLICKS + "3,2014-04-07 13:57:19,214536502,0\n3,2014-04-07T13:57:19.373Z,214536502,X\n")
    result = runner.invoke(data_cli, ["import", "yoochoose", str(clicks)])
    assert result.exit_code == 1
    assert "clicks.dat:6: timestamp is not ISO 8601" in result.output
    assert "clicks.dat:7: category is not 0, 1-12, S" in result.output
    with app.app_context():
        assert _count(Event) == 0 and _count(Visitor) == 0


def test_sample_writes_an_importable_file_set(app, runner, tmp_path):
    folder = tmp_path / "rr"
    assert runner.invoke(data_cli, ["sample", "retailrocket", str(folder), "--events", "3000"]).exit_code == 0
    result = runner.invoke(data_cli, ["import", "retailrocket", str(folder / "events.csv"), "--properties",
                                      str(folder / "item_properties_part1.csv"), str(folder / "item_properties_part2.csv"),
                                      "--categories", str(folder / "category_tree.csv")])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _count(Event) == 3000
        assert db.session.scalar(select(func.count()).select_from(Product).where(Product.stock > 0)) > 0


def test_postgres_statistics_are_refreshed_after_an_import(app, files):
    # Without ANALYZE the planner takes a freshly loaded events table for empty and picks plans
    # that read every view of the shop for one visitor (storefront.database.refresh_statistics).
    _postgres_only(app, "SQLite keeps its planner heuristics")
    with app.app_context():
        def stats() -> int:
            return db.session.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'events'"))

        assert stats() == 0
        import_retailrocket(files["events.csv"], keep_indexes=True)
        db.session.commit()
        assert stats() > 0

"""``flask catalog import``: a merchant feed into the shop (both layouts and a CSV), re-imports that
update and never duplicate, the ledger, bad rows with nothing written, categories from
product_type, stock and sale rules, --deactivate-missing, and the catalog version."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storefront.extensions import db
from storefront.imports.catalog_feed import import_catalog
from storefront.models import CatalogState, Category, DataImport, Product
from storefront.models.product_details import FROM_UPLOAD, ProductFeedEntry, ProductImage
from tests import factories
from tests.storefront.support.shop import ctx

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
HEADER = "id\ttitle\tdescription\tprice\tsale_price\tavailability\tbrand\tproduct_type\timage_link\tadditional_image_link"


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "PRODUCT_IMAGE_DIR": str(tmp_path / "pictures")}


def feed(tmp_path: Path, rows: list[str], name: str = "feed.tsv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def version(session) -> int:
    return session.get(CatalogState, 1).version


def products(session) -> dict[str, Product]:
    return {p.sku: p for p in session.scalars(select(Product))}


def path_of(session, category_id: int) -> list[str]:
    names = []
    node = session.get(Category, category_id)
    while node is not None:
        names.insert(0, node.name)
        node = node.parent
    return names


@pytest.mark.parametrize("example", ["feed.tsv", "feed.xml"])
def test_the_example_feed_imports_twenty_products_with_their_tree_stock_sales_and_picture_urls(app, runner, example):
    with ctx(app) as session:
        before = version(session)
    result = runner.invoke(args=["catalog", "import", str(EXAMPLES / example)])
    assert result.exit_code == 0, result.output
    assert "20 products: 20 new, 0 updated, 0 unchanged; 17 new categories; 31 picture URLs added" in result.output
    with ctx(app) as session:
        found = products(session)
        assert len(found) == 20 and version(session) > before  # the workers' snapshots refresh
        skillet, saucepan, pan, block = found["CK-100"], found["CK-101"], found["CK-102"], found["KT-202"]
        assert path_of(session, skillet.category_id) == ["Home", "Kitchen", "Cookware"]
        assert path_of(session, found["0042"].category_id) == ["Imported"]  # no product_type: "Imported"
        assert (skillet.price, skillet.stock, skillet.brand, skillet.active) == (Decimal("39.00"), 100, "Ironhold", True)
        assert (saucepan.price, session.get(ProductFeedEntry, saucepan.id).regular_price) == (Decimal("35.00"),
                                                                                             Decimal("45.00"))
        assert (pan.stock, block.stock) == (0, 0)  # out of stock; preorder is not sold
        entry = session.get(ProductFeedEntry, skillet.id)
        assert (entry.gtin, entry.mpn, entry.details) == ("4006381000000", "CK-100-M", {"color": "Black", "size": "26 cm"})
        urls = session.scalars(select(ProductImage.source_url).where(ProductImage.product_id == skillet.id)
                               .order_by(ProductImage.position)).all()
        assert urls == [f"https://images.example.com/ck-100/{name}.jpg" for name in ("main", "2", "3")]
        assert session.scalar(select(func.count()).select_from(ProductImage)) == 31
        ledger = session.scalars(select(DataImport)).one()
        assert (ledger.source, ledger.file_name, ledger.rows, ledger.events) == ("catalog-feed", example, 20, 20)


def test_the_same_products_as_tsv_then_xml_are_unchanged_and_the_same_file_again_is_skipped(app, runner):
    assert runner.invoke(args=["catalog", "import", str(EXAMPLES / "feed.tsv")]).exit_code == 0
    result = runner.invoke(args=["catalog", "import", str(EXAMPLES / "feed.xml")])
    assert "20 products: 0 new, 0 updated, 20 unchanged; 0 new categories; 0 picture URLs added" in result.output
    again = runner.invoke(args=["catalog", "import", str(EXAMPLES / "feed.xml")])
    assert again.exit_code == 0 and "already imported" in again.output
    with ctx(app) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 20
        assert session.scalar(select(func.count()).select_from(DataImport)) == 2


def test_a_re_import_updates_price_stock_text_and_pictures_and_never_duplicates(app, tmp_path):
    first = feed(tmp_path, [
        "A-1\tPan\tOld text\t20.00 USD\t\tin_stock\tAcme\tHome > Kitchen\thttps://i.test/a1.jpg\thttps://i.test/a2.jpg,https://i.test/a3.jpg",
        "B-2\tPot\t\t30.00 USD\t\tin_stock\tAcme\tHome > Kitchen\t\t",
        "C-3\tCup\t\t5.00 USD\t\tout_of_stock\t\tHome > Dining\t\t",
    ], "v1.tsv")
    with ctx(app):
        import_catalog(first)
        db.session.commit()
    with ctx(app) as session:
        found = products(session)
        found["A-1"].stock = 7  # the shop sold some since
        found["B-2"].stock = 0  # and sold out of another
        session.add(ProductImage(product_id=found["A-1"].id, position=1000, source=FROM_UPLOAD,
                                 file_key="f" * 64, file_ext="jpg"))
        session.commit()
        ids = {sku: p.id for sku, p in found.items()}
    second = feed(tmp_path, [
        "A-1\tPan, large\tNew text\t18.00 USD\t\tin stock\tAcme\tHome > Kitchen > Pans\thttps://i.test/a3.jpg\thttps://i.test/a1.jpg,https://i.test/a4.jpg",
        "B-2\tPot\t\t30.00 USD\t\tin_stock\tAcme\tHome > Kitchen\t\t",
        "C-3\tCup\t\t5.00 USD\t\tin_stock\t\tHome > Dining\t\t",
    ], "v2.tsv")
    with ctx(app):
        report = import_catalog(second)
        db.session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 3, 0)
    assert (report.images_added, report.images_removed) == (1, 1)
    with ctx(app) as session:
        found = products(session)
        assert {sku: p.id for sku, p in found.items()} == ids  # the same rows: nothing duplicated
        pan = found["A-1"]
        assert (pan.name, pan.description, pan.price, pan.stock) == ("Pan, large", "New text", Decimal("18.00"), 7)
        assert path_of(session, pan.category_id) == ["Home", "Kitchen", "Pans"]
        assert (found["B-2"].stock, found["C-3"].stock) == (100, 100)  # back in stock: the default quantity
        rows = session.execute(select(ProductImage.source, ProductImage.source_url).where(ProductImage.product_id == pan.id)
                               .order_by(ProductImage.position, ProductImage.id)).all()
        assert rows == [("feed", "https://i.test/a3.jpg"), ("feed", "https://i.test/a1.jpg"),
                        ("feed", "https://i.test/a4.jpg"), ("upload", None)]  # the feed's order; the upload kept
        assert session.scalar(select(func.count()).select_from(Category).where(Category.name == "Kitchen")) == 1


def test_a_bad_row_stops_the_import_with_every_line_named_and_nothing_written(app, runner, tmp_path):
    path = feed(tmp_path, [
        "A-1\tPan\t\t20.00 USD\t\tin_stock\t\tHome\t\t",
        "A-2\tPot\t\t20.00 USD\t25.00 USD\tin_stock\t\tHome\t\t",
        "\tNo id\t\t20.00 USD\t\tin_stock\t\tHome\t\t",
        "A-4\tMug\t\t20.00 EUR\t\tin_stock\t\tHome\t\t",
    ])
    with ctx(app) as session:
        before = version(session)
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code == 1
    assert "feed.tsv:3: sale_price 25.00 USD is above the price 20.00 USD" in result.output
    assert "feed.tsv:4: id is missing" in result.output
    assert "feed.tsv:5: price is in EUR, but the shop sells in USD" in result.output
    assert "Nothing was imported" in result.output
    with ctx(app) as session:
        assert session.scalar(select(func.count()).select_from(Product)) == 0
        assert session.scalar(select(func.count()).select_from(Category)) == 0
        assert session.scalar(select(func.count()).select_from(DataImport)) == 0
        assert version(session) == before
    assert runner.invoke(args=["catalog", "import", "--currency", "eur", str(path)]).exit_code == 1  # still bad


def test_a_csv_with_quantities_and_a_sale_that_starts_later(app, tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("id,title,price,sale_price,sale_price_effective_date,quantity,product_type\n"
                    "m1,Mug,10.00 USD,8.00 USD,2026-12-01T00:00Z/2026-12-31T00:00Z,3,Kitchen > Mugs\n", encoding="utf-8")
    with ctx(app):
        import_catalog(path, now=datetime(2026, 11, 1))
        db.session.commit()
    with ctx(app) as session:
        mug = products(session)["m1"]
        assert (mug.price, mug.stock) == (Decimal("10.00"), 3)  # the sale has not started
    with ctx(app):
        report = import_catalog(path, now=datetime(2026, 12, 2))
        assert report.already_imported  # the ledger: same bytes
        report = import_catalog(path, now=datetime(2026, 12, 2), force=True)
        db.session.commit()
    assert report.updated == 1
    with ctx(app) as session:
        assert products(session)["m1"].price == Decimal("8.00")
        assert session.scalar(select(func.count()).select_from(DataImport)) == 1


def test_categories_reuse_names_under_the_same_parent_and_keep_slugs_unique(app, tmp_path):
    with ctx(app):
        home = factories.category("Home")
        home_id = home.id
    path = feed(tmp_path, ["a\tA\t\t1.00 USD\t\tin_stock\t\thome > Kitchen\t\t",
                           "b\tB\t\t1.00 USD\t\tin_stock\t\tGarden > Kitchen\t\t"])
    with ctx(app):
        report = import_catalog(path)
        db.session.commit()
    assert report.categories == 3  # Kitchen under Home, Garden, Kitchen under Garden
    with ctx(app) as session:
        found = products(session)
        first = session.get(Category, found["a"].category_id)
        second = session.get(Category, found["b"].category_id)
        assert first.parent_id == home_id and first.slug == "kitchen"
        assert second.parent.name == "Garden" and second.slug == "garden-kitchen"


def test_deactivate_missing_switches_off_what_the_feed_dropped_and_back_on(app, tmp_path):
    rows = ["a\tA\t\t1.00 USD\t\tin_stock\t\tX\t\t", "b\tB\t\t1.00 USD\t\tin_stock\t\tX\t\t"]
    with ctx(app):
        factories.product(name="Demo")  # not from a feed: never switched off
        import_catalog(feed(tmp_path, rows, "1.tsv"))
        report = import_catalog(feed(tmp_path, rows[:1], "2.tsv"), deactivate_missing=True)
        db.session.commit()
    assert report.deactivated == 1
    with ctx(app) as session:
        assert {sku: p.active for sku, p in products(session).items() if sku in "ab"} == {"a": True, "b": False}
        assert session.scalar(select(func.count()).select_from(Product).where(Product.active.is_(True))) == 2
    with ctx(app):
        report = import_catalog(feed(tmp_path, rows[::-1], "3.tsv"))
        db.session.commit()
    assert report.reactivated == 1
    with ctx(app) as session:
        assert all(p.active for p in products(session).values())


def test_imported_products_are_on_sale_in_the_shop_at_once(app, client, tmp_path):
    with ctx(app):
        import_catalog(EXAMPLES / "feed.tsv")
        db.session.commit()
        skillet = db.session.scalar(select(Product).where(Product.sku == "CK-101"))
        product_id, category_slug = skillet.id, skillet.category.slug
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "Stainless Saucepan 2 L" in page and "$35.00" in page and "$45.00" in page  # the sale and the price it was
    assert "GTIN" in page and "4006381000017" in page
    assert "Stainless Saucepan 2 L" in client.get(f"/c/{category_slug}").get_data(as_text=True)

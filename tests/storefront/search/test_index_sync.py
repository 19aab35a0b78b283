"""Every write path reaches the index: the ORM, a category rename, Admin -> Products, the feed
import, the Retailrocket import and the seed through the CLI, a migrated database, and
``flask search reindex``."""
from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import text

from storefront import create_app
from storefront.extensions import db
from storefront.models import Category, Product
from storefront.search import find
from tests import factories
from tests.helpers import database_url, reset_postgres_schema
from tests.storefront.support.shop import ctx, new_category, new_product

FEED = "id\ttitle\tdescription\tprice\tsale_price\tavailability\tbrand\tproduct_type\timage_link\tadditional_image_link"


def _ids(app, query: str) -> list[int]:
    with app.app_context():
        return find(query).product_ids


def test_inserts_updates_and_deletes_through_the_orm(app):
    category_id, _slug = new_category(app, "Kettles")
    product_id = new_product(app, category_id, name="Copperleaf Whistling Kettle", brand="Copperleaf")
    assert _ids(app, "whistling") == [product_id]
    with ctx(app) as session:
        product = session.get(Product, product_id)
        product.name, product.description = "Copperleaf Electric Kettle", "Boils a litre in two minutes."
        session.commit()
    assert _ids(app, "whistling") == [] and _ids(app, "electric") == [product_id] == _ids(app, "litre")
    with ctx(app) as session:
        session.get(Product, product_id).brand = "Brightwell"
        session.commit()
    assert _ids(app, "brightwell") == [product_id] and _ids(app, "copperleaf electric") == [product_id]  # in the name
    with ctx(app) as session:
        session.get(Product, product_id).active = False
        session.commit()
    assert _ids(app, "kettle") == []
    with ctx(app) as session:
        session.get(Product, product_id).active = True
        session.commit()
    assert _ids(app, "kettle") == [product_id]
    with ctx(app) as session:
        session.delete(session.get(Product, product_id))
        session.commit()
    assert _ids(app, "kettle") == []


def test_stock_and_popularity_updates_leave_the_index_alone_and_corrections_follow_new_words(app):
    product_id = new_product(app, name="Aqualis Trail Runner", brand="Aqualis")
    with ctx(app) as session:
        session.get(Product, product_id).stock = 0
        session.get(Product, product_id).popularity = 12.0
        session.commit()
    assert _ids(app, "trail") == [product_id]
    with app.app_context():
        assert find("aqalis").did_you_mean == "aqualis"  # the vocabulary is read...
    with ctx(app) as session:
        session.get(Product, product_id).name = "Aqualis Marathon Runner"
        session.commit()
    with app.app_context():
        found = find("marathn")  # ...and read again once the catalog changed
        assert found.did_you_mean == "marathon" and found.product_ids == [product_id]


def test_a_category_rename_reaches_its_products_and_its_subcategories_products(app):
    with app.app_context():
        department = factories.category("Outdoors")
        tents = factories.category("Tents", parent=department)
        tent = factories.product(tents, name="Summitor Dome 2").id
        department_id, tents_id = department.id, tents.id
    assert _ids(app, "tents") == [tent] and _ids(app, "outdoors") == [tent]
    with ctx(app) as session:
        session.get(Category, tents_id).name = "Shelters"
        session.get(Category, department_id).name = "Camping"
        session.commit()
    assert _ids(app, "tents") == [] and _ids(app, "outdoors") == []
    assert _ids(app, "shelter") == [tent] and _ids(app, "camping") == [tent]


def test_admin_product_edits_reach_search(app, admin_client):
    product_id = new_product(app, name="Marlowe Quilted Handbag", price="80.00", stock=5)
    form = {"price": "80.00", "stock": "5", "stock_seen": "5"}  # "active" unticked: off sale
    assert admin_client.post(f"/admin/products/{product_id}", data=form).status_code == 302
    assert _ids(app, "handbag") == []
    assert admin_client.post(f"/admin/products/{product_id}", data={**form, "active": "y"}).status_code == 302
    assert _ids(app, "handbag") == [product_id]


def test_a_feed_imported_with_the_cli_is_searchable_and_a_re_import_updates_it(app, runner, tmp_path):
    path = tmp_path / "feed.tsv"
    row = "SKU-1\t{title}\tA {what}.\t12.00 USD\t\tin stock\tVoltara\tElectronics > Chargers\t\t"
    path.write_text(FEED + "\n" + row.format(title="Voltara Fast Charger", what="charger") + "\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(path)])
    assert result.exit_code == 0, result.output
    [product_id] = _ids(app, "voltara charger")
    assert _ids(app, "chargers") == [product_id]  # the category from product_type
    path.write_text(FEED + "\n" + row.format(title="Voltara Power Bank", what="power bank") + "\n", encoding="utf-8")
    assert runner.invoke(args=["catalog", "import", str(path)]).exit_code == 0
    assert _ids(app, "power bank") == [product_id] and _ids(app, "fast") == []


def test_the_seed_fills_the_index(app, runner):
    result = runner.invoke(args=["shop", "seed", "--products", "60", "--categories", "6", "--customers", "10",
                                 "--anonymous", "10", "--events", "300", "--days", "10", "--b2b-visitors", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        active = db.session.scalar(text("SELECT count(*) FROM products WHERE active"))
        name = db.session.scalar(text("SELECT name FROM products WHERE active ORDER BY id LIMIT 1"))
        assert find(name).product_ids[0] == db.session.scalar(
            text("SELECT id FROM products WHERE active ORDER BY id LIMIT 1"))
        everything = find(" ".join(n for n in ["electronics", "fashion"]), limit=5000)  # both: nothing
        assert everything.total == 0 or everything.corrected
        assert sum(find(c.name, limit=5000).total > 0 for c in db.session.query(Category)) == \
            db.session.query(Category).count()
        assert active > 0


def test_reindex_rebuilds_an_index_emptied_behind_the_shop_s_back(app, runner):
    product_id = new_product(app, name="Inkwell Fantasy Novel", brand="Inkwell Press")
    with ctx(app) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("TRUNCATE search_documents, search_words"))
        else:
            session.execute(text("DELETE FROM search_index"))
            session.execute(text("DELETE FROM search_words"))
        session.commit()
    assert _ids(app, "novel") == []
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "1 active products" in result.output
    assert _ids(app, "novel") == [product_id]
    result = runner.invoke(args=["search", "query", "novle"])
    assert "did you mean 'novel'" in result.output and "Inkwell Fantasy Novel" in result.output


def test_a_migrated_database_has_the_index_and_its_triggers(tmp_path):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
                      "MODEL_DIR": str(tmp_path / "models")})
    with app.app_context():
        reset_postgres_schema()
        upgrade()
        try:
            audio = Category(name="Headphones", slug="headphones")
            db.session.add(Product(sku="S1", name="Zentek Wireless Headphones", brand="Zentek", price=10, stock=1,
                                   category=audio, description=""))
            db.session.commit()
            found = find("headphnes")
            assert found.total == 1 and found.did_you_mean == "headphones"
        finally:
            db.session.remove()
            reset_postgres_schema()
            db.engine.dispose()


def test_products_of_a_retailrocket_import_are_searchable(app, runner, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("timestamp,visitorid,event,itemid,transactionid\n"
                      "1433221332117,257597,view,355908,\n"
                      "1433224214164,992329,view,248676,\n", encoding="utf-8")
    result = runner.invoke(args=["data", "import", "retailrocket", str(events)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        [product_id] = find("item 355908").product_ids  # imported products are named "Item <itemid>"
        assert db.session.get(Product, product_id).sku == "rr-355908"
        assert find("items").total == 2


def test_a_bulk_insert_of_products_is_indexed_in_one_pass_and_the_trigger_comes_back(app):
    from sqlalchemy import insert

    from storefront.search.index import products_in_bulk

    with app.app_context():
        shelves = factories.category("Shelves")
        connection = db.session.connection()
        with products_in_bulk(connection):
            connection.execute(insert(Product), [
                {"sku": f"B{n}", "name": f"Oakline Wall Shelf {n}", "brand": "Oakline", "description": "",
                 "price": 10, "stock": 1, "active": n % 2 == 0, "category_id": shelves.id} for n in range(1, 41)])
        db.session.commit()
        assert find("oakline shelf", limit=100).total == 20  # the active half
        factories.product(shelves, name="Oakline Corner Shelf")  # one at a time again: the trigger
        assert find("oakline corner").total == 1

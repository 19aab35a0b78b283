"""Downloading the feed's picture URLs: optional (``--fetch-images`` or ``flask catalog
fetch-images``), after the import's commit, each download time- and size-limited, failures kept on
the row and tried again; only a local server on 127.0.0.1 is contacted."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from storefront.extensions import db
from storefront.imports.catalog_feed import import_catalog
from storefront.imports.image_fetch import FetchFailed, download, fetch_pending
from storefront.models import Product
from storefront.models.product_details import ProductImage
from tests.storefront.support.images import picture, picture_server
from tests.storefront.support.shop import ctx

HEADER = "id\ttitle\tprice\tavailability\timage_link\tadditional_image_link"


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "PRODUCT_IMAGE_DIR": str(tmp_path / "pictures"), "PRODUCT_IMAGE_MAX_BYTES": 300_000}


def _feed(tmp_path, base: str):
    path = tmp_path / "feed.tsv"
    path.write_text(HEADER + "\n"
                    f"P1\tPan\t10.00 USD\tin_stock\t{base}/pan.jpg\t{base}/pan-2.png,{base}/missing.jpg\n"
                    f"P2\tPot\t12.00 USD\tin_stock\t{base}/not-a-picture.jpg\t\n", encoding="utf-8")
    return path


def _states(app) -> dict[str, tuple[bool, str | None]]:
    with ctx(app) as session:
        rows = session.scalars(select(ProductImage)).all()
        return {row.source_url.rsplit("/", 1)[1]: (row.is_stored, row.fetch_error) for row in rows}


def test_import_with_fetch_images_stores_what_it_can_and_keeps_the_rest_as_urls(app, runner, admin_client, tmp_path):
    routes = {"/pan.jpg": (200, picture(800, 600), 0), "/pan-2.png": (200, picture(300, 300, "PNG", alpha=True), 0),
              "/not-a-picture.jpg": (200, b"<html>login page</html>", 0)}
    with picture_server(routes) as base:
        result = runner.invoke(args=["catalog", "import", "--fetch-images", "--image-timeout", "5", str(_feed(tmp_path, base))])
        assert result.exit_code == 0, result.output
        assert "Pictures: 2 stored, 2 failed" in result.output and "HTTP 404" in result.output
        states = _states(app)
        assert states["pan.jpg"] == (True, None) and states["pan-2.png"] == (True, None)
        assert states["missing.jpg"] == (False, "HTTP 404 Not Found")
        assert states["not-a-picture.jpg"][0] is False and "not a picture" in states["not-a-picture.jpg"][1]
        with ctx(app) as session:
            pan_id = session.scalar(select(Product.id).where(Product.sku == "P1"))
        page = admin_client.get(f"/products/{pan_id}").get_data(as_text=True)
        assert page.count('class="gallery-slide"') == 2
        admin = admin_client.get(f"/admin/products/{pan_id}/images").get_data(as_text=True)
        assert "Not downloaded yet" in admin and "Last try: HTTP 404 Not Found" in admin and f"{base}/missing.jpg" in admin
        routes["/missing.jpg"] = (200, picture(), 0)  # it appeared since: the next run tries the failures again
        again = runner.invoke(args=["catalog", "fetch-images", "--limit", "1"])
        assert "1 stored, 0 failed" in again.output and "1 not tried yet" in again.output
        assert _states(app)["missing.jpg"] == (True, None)
        assert "0 stored, 1 failed" in runner.invoke(args=["catalog", "fetch-images"]).output


def test_a_download_is_cut_off_at_its_time_limit_and_its_size_limit(app):
    with picture_server({"/slow.jpg": (200, b"", 30.0), "/big.jpg": (200, b"x" * 5000, 0)}) as base:
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="took longer than 1 s|download failed"):
            download(f"{base}/slow.jpg", timeout=1.0, limit=10**7)
        assert time.monotonic() - started < 5
        with pytest.raises(FetchFailed, match="at most 1,000"):
            download(f"{base}/big.jpg", timeout=5, limit=1000)
    with pytest.raises(FetchFailed, match="not an http"):
        download("file:///etc/passwd", timeout=1, limit=1000)


def test_no_network_leaves_urls_and_a_time_budget_stops_the_run(app, tmp_path):
    with picture_server({}) as base:
        port = base.rsplit(":", 1)[1]
    dead = f"http://127.0.0.1:{port}"  # the server is gone: connections are refused
    with ctx(app) as session:
        import_catalog(_feed(tmp_path, dead))
        session.commit()
        outcomes = []
        for outcome in fetch_pending(timeout=1, time_budget=60):
            session.commit()
            outcomes.append(outcome)
        assert len(outcomes) == 4 and all(o.error and "cannot connect" in o.error for o in outcomes)
        assert list(fetch_pending(timeout=1, time_budget=0)) == []  # no time left: nothing tried
    assert all(stored is False for stored, _ in _states(app).values())
    with ctx(app):
        db.session.remove()

"""Admin -> Products -> Images: admins only, CSRF on every button, uploads checked (a rejected one
re-renders with the reason, 422, nothing saved), larger than the shop's 1 MB body limit, delete
and show first."""
from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from storefront import create_app
from storefront.extensions import db
from storefront.models.product_details import ProductImage
from tests import factories
from tests.helpers import BROWSER_UA
from tests.storefront.support.images import picture
from tests.storefront.support.shop import ctx

TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "PRODUCT_IMAGE_DIR": str(tmp_path / "pictures")}


@pytest.fixture
def product_id(app) -> int:
    with app.app_context():
        return factories.product(name="Skillet").id


def _rows(app, product_id: int) -> list[tuple[int, str, int]]:
    with ctx(app) as session:
        return session.execute(select(ProductImage.id, ProductImage.source, ProductImage.position)
                               .where(ProductImage.product_id == product_id)
                               .order_by(ProductImage.position, ProductImage.id)).all()


def _upload(client, product_id: int, *files: tuple[bytes, str], **extra):
    data = {"images": [(io.BytesIO(content), name) for content, name in files], **extra}
    return client.post(f"/admin/products/{product_id}/images", data=data, content_type="multipart/form-data")


def test_only_admins_see_or_change_pictures(app, client, product_id):
    response = client.get(f"/admin/products/{product_id}/images")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    assert _upload(client, product_id, (picture(), "a.jpg")).status_code == 302
    with app.app_context():
        email = factories.customer().email
    factories.login(client, email)
    assert client.get(f"/admin/products/{product_id}/images").status_code == 403
    assert _upload(client, product_id, (picture(), "a.jpg")).status_code == 403
    assert _rows(app, product_id) == []


def test_an_upload_of_several_pictures_over_a_megabyte_is_stored_in_order(app, admin_client, product_id):
    big = picture(3000, 2000, "PNG", color=(10, 120, 200))  # a PNG of flat colour is small...
    noisy = io.BytesIO()
    Image.effect_noise((1400, 1000), 80).convert("RGB").save(noisy, "PNG")  # ...noise is not
    assert len(noisy.getvalue()) > 1024 * 1024  # over MAX_CONTENT_LENGTH: the route raises its own limit
    response = _upload(admin_client, product_id, (noisy.getvalue(), "noise.png"), (big, "blue.png"))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    rows = _rows(app, product_id)
    assert [(source, position) for _, source, position in rows] == [("upload", 0), ("upload", 1)]
    page = admin_client.get(f"/admin/products/{product_id}/images").get_data(as_text=True)
    assert "2 pictures added." in page and page.count("/media/products/") >= 4
    shop_page = admin_client.get(f"/products/{product_id}").get_data(as_text=True)
    assert "Manage pictures" in shop_page and "gallery-thumbs" in shop_page


def test_a_rejected_upload_re_renders_with_the_reason_and_saves_nothing(app, admin_client, product_id, tmp_path):
    response = _upload(admin_client, product_id, (picture(), "good.jpg"), (b"%PDF-1.4 hello", "cv.pdf"))
    assert response.status_code == 422
    assert "cv.pdf: the file is not a picture" in response.get_data(as_text=True)
    assert _rows(app, product_id) == [] and not (tmp_path / "pictures").exists()  # checked before any write
    response = _upload(admin_client, product_id)
    assert response.status_code == 422 and "Choose at least one picture." in response.get_data(as_text=True)
    too_big = admin_client.post(f"/admin/products/{product_id}/images/1/delete", data={"x": "y" * (2 * 1024 * 1024)})
    assert too_big.status_code == 413  # other routes keep the small body limit
    assert admin_client.get("/admin/products/999999/images").status_code == 404


def test_delete_and_show_first(app, admin_client, product_id):
    assert _upload(admin_client, product_id, (picture(color=(1, 2, 3)), "a.jpg"), (picture(color=(200, 2, 3)), "b.jpg"),
                   (picture(color=(3, 200, 3)), "c.jpg")).status_code == 302
    first, second, third = (row[0] for row in _rows(app, product_id))
    assert admin_client.post(f"/admin/products/{product_id}/images/{third}/first", data={"confirm": "1"}).status_code == 302
    assert [row[0] for row in _rows(app, product_id)] == [third, first, second]
    assert admin_client.post(f"/admin/products/{product_id}/images/{first}/delete", data={"confirm": "1"}).status_code == 302
    assert [row[0] for row in _rows(app, product_id)] == [third, second]
    assert admin_client.post(f"/admin/products/{product_id}/images/{first}/delete", data={"confirm": "1"}).status_code == 404
    with app.app_context():
        other = factories.product().id
    assert admin_client.post(f"/admin/products/{other}/images/{second}/first", data={"confirm": "1"}).status_code == 404


def test_every_button_needs_a_csrf_token(app, app_config, product_id):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with strict.app_context():
        factories.customer("boss@example.com", admin=True)
    client = strict.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    token = TOKEN_INPUT.search(client.get("/account/login").get_data(as_text=True)).group(1)
    assert client.post("/account/login", data={"email": "boss@example.com", "password": factories.PASSWORD,
                                                "csrf_token": token}).status_code == 302
    assert _upload(client, product_id, (picture(), "a.jpg")).status_code == 400
    assert _rows(strict, product_id) == []
    token = TOKEN_INPUT.search(client.get(f"/admin/products/{product_id}/images").get_data(as_text=True)).group(1)
    assert _upload(client, product_id, (picture(), "a.jpg"), csrf_token=token).status_code == 302
    ((image_id, _, _),) = _rows(strict, product_id)
    assert client.post(f"/admin/products/{product_id}/images/{image_id}/delete").status_code == 400
    assert client.post(f"/admin/products/{product_id}/images/{image_id}/delete",
                       data={"csrf_token": token, "confirm": "1"}).status_code == 302
    with strict.app_context():
        db.session.remove()
        db.engine.dispose()

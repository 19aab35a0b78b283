"""Product pictures: Pillow checks and cleaning (type, size, pixels, EXIF stripped, orientation,
transparency), three sizes made once and stored by content, served with a year of caching; the
product page's gallery, the card picture, and the drawn placeholder when there is none."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from storefront.catalog import images
from storefront.catalog.image_files import ImageRejected, file_path, image_folder, process_image, write_files
from storefront.models import CatalogState, Product
from storefront.models.product_details import FROM_FEED, ProductImage
from tests import factories
from tests.storefront.support.images import GPS_TAG, MAKE_TAG, picture
from tests.storefront.support.shop import ctx


@pytest.fixture
def app_config(app_config, tmp_path):
    return {**app_config, "PRODUCT_IMAGE_DIR": str(tmp_path / "pictures"), "PRODUCT_IMAGE_MAX_BYTES": 200_000}


def test_a_picture_is_cleaned_of_its_exif_turned_upright_and_made_in_three_sizes(app):
    data = picture(1600, 800, exif=True, orientation=6)  # a phone photo held upright
    assert b"SpyCam" in data
    with app.app_context():
        image = process_image(data)
    assert (image.ext, image.width, image.height) == ("jpg", 600, 1200)  # turned: now portrait, never enlarged
    for variant, side in {"large": 1200, "card": 400, "thumb": 160}.items():
        stored = Image.open(io.BytesIO(image.files[variant]))
        assert stored.format == "JPEG" and max(stored.size) == side
        assert not stored.getexif() and b"SpyCam" not in image.files[variant]
        assert GPS_TAG not in stored.getexif() and MAKE_TAG not in stored.getexif()
    small = process_image(picture(300, 200), 10**6)
    assert (small.width, small.height) == (300, 200)  # smaller than "large": kept as it is


def test_transparency_keeps_a_png_and_an_unused_alpha_channel_becomes_a_jpeg(app):
    with app.app_context():
        assert process_image(picture(100, 100, "PNG", alpha=True)).ext == "png"
        assert process_image(picture(100, 100, "PNG")).ext == "jpg"
        assert process_image(picture(100, 100, "WEBP")).ext == "jpg"
        assert process_image(picture(100, 100, "GIF")).ext == "jpg"


@pytest.mark.parametrize("data, reason", [
    (b"", "the file is empty"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a picture"),
    (b"%PDF-1.4 not a picture at all", "not a picture"),
    (picture(100, 100, "BMP"), "the picture is BMP; JPEG, PNG, WebP or GIF only"),
    (picture(2000, 2000, "PNG", color=(1, 2, 3)) + b"x" * 200_000, "at most 0.2 MB"),
    (picture(8, 100), "at least 16 on each side"),
    (picture(400, 400)[:600], "damaged or truncated"),
])
def test_what_is_not_a_picture_the_shop_takes_is_rejected_with_the_reason(app, data, reason):
    with app.app_context(), pytest.raises(ImageRejected, match=reason):
        process_image(data)


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(app):
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, "PNG")  # 64 megapixels in a few kilobytes
    with app.app_context(), pytest.raises(ImageRejected, match="pixels"):
        process_image(buffer.getvalue(), 10**7)


def _stored_product(app, count: int = 2) -> tuple[int, list[ProductImage]]:
    with ctx(app) as session:
        product = factories.product(name="Cast Iron Skillet")
        rows = images.add_uploads(product.id, [(f"{n}.jpg", picture(500 + n, 300, color=(n * 40, 90, 90)))
                                               for n in range(count)])
        session.commit()
        return product.id, [(row.id, row.file_name("large"), row.file_name("thumb"), row.file_name("card"))
                            for row in rows]


def test_files_are_stored_once_by_content_and_served_with_a_year_of_caching(app, client, tmp_path):
    product_id, rows = _stored_product(app, 1)
    _, large, thumb, card = rows[0]
    folder = tmp_path / "pictures"
    assert all(file_path(folder, name).is_file() for name in (large, thumb, card))
    with app.app_context():
        assert image_folder() == folder
        before = file_path(folder, large).stat().st_mtime_ns
        write_files(process_image(picture(500, 300, color=(0, 90, 90))))  # the same bytes: nothing rewritten
        assert file_path(folder, large).stat().st_mtime_ns == before
    response = client.get(f"/media/products/{large}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"].replace(" ", "").split(",") == ["public", "max-age=31536000", "immutable"]
    assert Image.open(io.BytesIO(response.data)).size == (500, 300)
    for bad in ("../../etc/passwd", "x" * 64 + "-large.jpg", large.replace("large", "huge"), "a" * 64 + "-large.jpg"):
        assert client.get(f"/media/products/{bad}").status_code == 404


def test_the_product_page_shows_the_gallery_and_cards_the_first_picture(app, client):
    product_id, rows = _stored_product(app, 3)
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    for _, large, thumb, _ in rows:
        assert f"/media/products/{large}" in page and f"/media/products/{thumb}" in page
    assert "picture 1 of 3" in page and 'href="#picture-2"' in page
    with ctx(app) as session:
        slug = session.get(Product, product_id).category.slug
    listing = client.get(f"/c/{slug}").get_data(as_text=True)
    assert f"/media/products/{rows[0][3]}" in listing  # the card: the first picture, not the drawn one
    with ctx(app) as session:
        assert images.move_first(product_id, rows[2][0])
        session.commit()
    listing = client.get(f"/c/{slug}").get_data(as_text=True)
    assert f"/media/products/{rows[2][3]}" in listing  # the catalog version moved: the card follows at once


def test_without_a_stored_picture_the_drawn_placeholder_stays(app, client):
    with ctx(app) as session:
        product = factories.product(name="Plain")
        session.add(ProductImage(product_id=product.id, position=0, source=FROM_FEED, source_url="https://i.test/x.jpg"))
        session.commit()
        product_id, slug = product.id, product.category.slug
    page = client.get(f"/products/{product_id}").get_data(as_text=True)
    assert f"/img/category/{slug}.svg" in page and "/media/products/" not in page and "gallery-track" not in page


def test_picture_changes_move_the_catalog_version_and_removed_files_go_when_unused(app, tmp_path):
    product_id, rows = _stored_product(app, 1)
    image_id, large, _, _ = rows[0]
    with ctx(app) as session:
        before = session.get(CatalogState, 1).version
        other = factories.product(name="Twin")
        (twin,) = images.add_uploads(other.id, [("same.jpg", picture(500, 300, color=(0, 90, 90)))])
        session.commit()
        assert twin.file_name("large") == large  # the same picture: the same files
        key = images.remove(product_id, image_id)
        session.commit()
        assert session.get(CatalogState, 1).version > before
        assert images.prune_files([key]) == 0  # the twin still shows them
        assert file_path(tmp_path / "pictures", large).exists()
        key = images.remove(other.id, twin.id)
        session.commit()
        assert images.prune_files([key]) == 1
        assert not file_path(tmp_path / "pictures", large).exists()
        assert images.remove(other.id, twin.id) is False
        assert session.scalars(select(ProductImage)).all() == []

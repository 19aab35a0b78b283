"""Admin -> Products -> Images: a product's pictures, upload more, delete one, show one first.

Admin -> Products links here (endpoint ``admin.product_images``). Every write is a POST with
CSRF; a rejected upload re-renders the page with the reasons (422) and saves nothing. Files are
checked, cleaned and resized by ``storefront.catalog.image_files`` before any row is written; a
deleted picture's files go only after the commit, and only when no other row names them.
Routes join the admin blueprint, so its ``require_admin`` covers them.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField
from wtforms.validators import DataRequired

from storefront.admin import bp
from storefront.catalog import images
from storefront.catalog.image_files import max_bytes
from storefront.extensions import db
from storefront.models import Product
from storefront.web.uploads import accepts_files

MAX_FILES_PER_UPLOAD = 10


class ImageUploadForm(FlaskForm):
    images = MultipleFileField("Pictures (JPEG, PNG, WebP or GIF)")

    def chosen(self) -> list:
        """The files actually chosen (a browser sends one empty part when none is)."""
        return [item for item in (self.images.data or []) if getattr(item, "filename", "")]


class ImageActionForm(FlaskForm):
    """Delete or show first: only the CSRF token and the picture's id (from the URL) matter."""

    confirm = HiddenField(default="1", validators=[DataRequired()])


def _product(product_id: int) -> Product:
    return db.session.get(Product, product_id) or abort(404)


def _page(product: Product, form: ImageUploadForm | None = None, status: int = 200):
    return render_template(
        "admin/product_images.html", product=product, images=images.all_images(product.id),
        form=form or ImageUploadForm(), action_form=ImageActionForm(), max_mb=max_bytes() // (1024 * 1024),
        max_files=MAX_FILES_PER_UPLOAD, max_images=images.MAX_IMAGES_PER_PRODUCT,
        products_page="admin.product_edit" in current_app.view_functions,  # Admin -> Products, where it exists
    ), status


@bp.get("/products/<id:product_id>/images")
def product_images(product_id: int):
    return _page(_product(product_id))


@bp.post("/products/<id:product_id>/images")
@accepts_files(max_bytes, MAX_FILES_PER_UPLOAD)
def product_images_upload(product_id: int):
    product = _product(product_id)
    form = ImageUploadForm()
    if not form.validate_on_submit():
        return _page(product, form, 422)
    chosen = form.chosen()
    if not chosen:
        form.images.errors.append("Choose at least one picture.")
        return _page(product, form, 422)
    if len(chosen) > MAX_FILES_PER_UPLOAD:
        form.images.errors.append(f"At most {MAX_FILES_PER_UPLOAD} pictures at a time.")
        return _page(product, form, 422)
    limit = max_bytes()
    try:
        # one byte past the limit is enough to say "too large" without reading a huge file
        added = images.add_uploads(product.id, [(item.filename, item.read(limit + 1)) for item in chosen])
    except ValueError as error:
        db.session.rollback()
        form.images.errors.append(str(error))
        return _page(product, form, 422)
    db.session.commit()
    flash(f"{len(added)} picture{'s' if len(added) != 1 else ''} added.", "success")
    return redirect(url_for("admin.product_images", product_id=product.id))


@bp.post("/products/<id:product_id>/images/<id:image_id>/delete")
def product_image_delete(product_id: int, image_id: int):
    product = _product(product_id)
    if not ImageActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    removed = images.remove(product.id, image_id)
    if removed is False:
        abort(404)
    db.session.commit()
    images.prune_files([removed] if removed else [])
    flash("Picture deleted. A picture from the feed comes back with the next import unless the feed drops it.",
          "success")
    return redirect(url_for("admin.product_images", product_id=product.id))


@bp.post("/products/<id:product_id>/images/<id:image_id>/first")
def product_image_first(product_id: int, image_id: int):
    product = _product(product_id)
    if not ImageActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    if not images.move_first(product.id, image_id):
        abort(404)
    db.session.commit()
    flash("Picture shown first.", "success")
    return redirect(url_for("admin.product_images", product_id=product.id))

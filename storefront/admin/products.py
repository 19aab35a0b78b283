"""Admin -> Products: the list (search, category, on sale, in/out of stock) and a product's page,
where its price, stock and activity are edited (one POST with CSRF; every change logged with who,
when, old -> new, and shown under the form). Thin views over ``storefront.catalog.management``;
the admin blueprint's ``require_admin`` guards them."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.shop_forms import ANY_CATEGORY, ProductEditForm, ProductFilterForm
from storefront.catalog import management as products_admin
from storefront.extensions import db
from storefront.models import Product

PER_PAGE = 50
IMAGES_ENDPOINT = "admin.product_images"  # Admin -> Products -> Images, where that page exists


def _filters(form: ProductFilterForm) -> products_admin.ProductFilters:
    """The filters of a validated form; a field that did not validate (a forged category, an
    unknown choice) is left out, with its message shown, rather than failing the page."""
    def good(field):
        return field.data if not field.errors else None

    category = good(form.category)
    active = good(form.active)
    return products_admin.ProductFilters(
        q=(good(form.q) or "").strip(),
        category_id=category if category not in (None, ANY_CATEGORY) else None,
        active={"yes": True, "no": False}.get(active or ""),
        stock=good(form.stock) or None,
    )


@bp.get("/products")
def products():
    form = ProductFilterForm(formdata=request.args)
    form.set_categories(products_admin.category_choices())
    form.validate()
    page = request.args.get("page", 1, type=int)
    results = products_admin.product_page(_filters(form), max(page, 1), PER_PAGE)
    return render_template("admin/products.html", form=form, results=results,
                           has_images=IMAGES_ENDPOINT in current_app.view_functions)


def _edit_page(product: Product, form: ProductEditForm, status: int = 200):
    return render_template(
        "admin/product_edit.html", product=product, form=form, changes=products_admin.history(product.id),
        has_images=IMAGES_ENDPOINT in current_app.view_functions,
    ), status


@bp.get("/products/<id:product_id>")
def product_edit(product_id: int):
    product = db.get_or_404(Product, product_id)
    form = ProductEditForm(obj=product)
    form.stock_seen.data = product.stock
    return _edit_page(product, form)


@bp.post("/products/<id:product_id>")
def product_save(product_id: int):
    """A rejected form comes back with its messages and what was typed (422); nothing is saved."""
    product = db.get_or_404(Product, product_id)
    form = ProductEditForm()
    if form.validate_on_submit():
        edit = products_admin.ProductEdit(price=form.price.data, stock=form.stock.data, active=bool(form.active.data),
                                          stock_seen=form.stock_seen.data)
        try:
            changes = products_admin.update_product(product, edit, current_user.email)
        except products_admin.ProductError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
            if error.field == "stock":  # show the stock as it is now, so a second save can succeed
                now = db.session.get(Product, product_id).stock
                form.stock_seen.data, form.stock_seen.raw_data = now, [str(now)]
        else:
            db.session.commit()
            flash(f"“{product.name}” saved: " + ", ".join(f"{c.field} {c.old_value} → {c.new_value}" for c in changes)
                  if changes else "Nothing changed.", "success")
            return redirect(url_for("admin.product_edit", product_id=product.id))
    return _edit_page(db.session.get(Product, product_id), form, 422)

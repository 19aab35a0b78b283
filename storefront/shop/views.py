"""Shop pages: thin views that parse the request, call a service and render."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from storefront.catalog import listings as catalog
from storefront.catalog import snapshot
from storefront.catalog.placeholders import category_svg
from storefront.extensions import csrf, db
from storefront.orders import accounts, checkout
from storefront.orders import cart as cart_service
from storefront.recommendations import registry
from storefront.recommendations import widgets as widgets
from storefront.resources import suggestions as resource_suggestions
from storefront.search import analytics as search_analytics
from storefront.search import facets
from storefront.search import pages as search_pages
from storefront.shop import bp
from storefront.orders import profile
from storefront.shop.home import home_page
from storefront.tracking import events as tracking
from storefront.tracking import dwell, impressions
from storefront.tracking.visitors import visitor_of
from storefront.web.requests import request_context
from storefront.web.responses import commit_then_render
from storefront.web.templating import page_product_details
from storefront.shop.forms import AddToCartForm, CheckoutForm, RemoveFromCartForm, UpdateCartForm, fresh_add_to_cart_fields


MAX_PAGE = 10_000  # deeper pages are empty anyway; a huge offset would overflow the database


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/")
def home():
    ctx = request_context()
    page = home_page(ctx)
    return commit_then_render(
        "shop/home.html", banner=page.banner, widget=page.widget, newest=page.newest, more=page.more,
        resources_shelf=resource_suggestions.suggested_next(ctx, require_history=True),
    )


@bp.get("/c/<slug>")
def category(slug: str):
    ctx = request_context()
    node = snapshot.current(ctx.memo).category_by_slug(slug) or abort(404)
    sort = facets.parse_sort(request.args.get("sort"), facets.LISTING_SORTS)
    shown = search_pages.category_page(ctx, node, facets.parse_filters(request.args), sort, _page(),
                                       current_app.config["PRODUCTS_PER_PAGE"])
    page = shown.listing
    # a shelf atop the listing's unfiltered first page, not repeating its first row
    first_row = page.ids[:int(current_app.config.get("GRID_ROW", 4))]
    widget = widgets.category_page(ctx, node, first_row) if page.page == 1 and not shown.filters.active else None
    return commit_then_render(
        "shop/category.html", category=node, page=page, sort=sort, sorts=facets.LISTING_SORTS, widget=widget,
        filters=shown.filters, links=search_pages.FacetLinks(request.path, request.args.items(multi=True)),
    )


def _render_product(product, form: AddToCartForm, status: int = 200):
    """The product page again, with a form's error (nothing tracked: the view was)."""
    ctx = request_context()
    return _product_page(ctx, product, form, widgets.product_page(ctx, product), status)


def _product_page(ctx, product, form: AddToCartForm | None, shelves, status: int = 200):
    """``form``: the add-to-cart form that failed validation, or None for an untouched one."""
    # The gallery and feed facts, and the picture shown without a gallery (kept per catalog
    # version), read now in the page's transaction: read by the template after the commit, a
    # product new to this worker opened a second one (on PostgreSQL a BEGIN, the reads, a
    # ROLLBACK and psycopg's DEALLOCATE ALL).
    page_product_details(product)
    snapshot.current(ctx.memo).card_images([product.id])
    return commit_then_render(
        "shop/product.html", status, product=product, form=form, widgets=shelves,
        fresh_fields=None if form is not None else fresh_add_to_cart_fields(),
        category=snapshot.current(ctx.memo).categories.get(product.category_id) or product.category,
        dwell_token=dwell.view_token(ctx, product.id),
    )


# The dwell beacon (static/js/dwell.js) posts with navigator.sendBeacon, which cannot carry a CSRF
# token; the signed view token, valid only with this browser's visitor cookie, is the proof
# instead, and the only thing the request can do is set one view's dwell time once.
@bp.post("/t/dwell")
@csrf.exempt
def dwell_beacon():
    try:
        dwell.record_dwell(request_context(), request.form.get("token"), request.form.get("ms"))
    except dwell.DwellError as error:
        return Response(str(error), status=400, mimetype="text/plain")
    db.session.commit()
    return Response(status=204)


@bp.get("/products/<id:product_id>")
def product(product_id: int):
    item = catalog.active_product(product_id) or abort(404)
    ctx = request_context()
    shelves = widgets.fill_shelves(ctx, registry.PRODUCT, product=item)  # reads first, writes last
    tracking.track_view(ctx, item)
    # ?ri=<impression>&rp=<position>: the shopper came from a recommendation widget.
    impressions.record_click(ctx, item, request.args.get("ri"), request.args.get("rp"))
    # ?sq=<search event>&sp=<position>: the shopper came from a search result (the view above is
    # the feedback; the click is measured: storefront.search.analytics).
    search_analytics.record_click(ctx, item, request.args.get("sq"), request.args.get("sp"))
    widgets.record_all(ctx, shelves)
    return _product_page(ctx, item, None, shelves)


@bp.get("/search")
def search():
    query = request.args.get("q", "").strip()[:facets.MAX_QUERY_LENGTH]
    sort = facets.parse_sort(request.args.get("sort"), facets.SEARCH_SORTS)
    shown = search_pages.search_page(request_context(), query, facets.parse_filters(request.args), sort, _page(),
                                     current_app.config["PRODUCTS_PER_PAGE"])
    return commit_then_render(
        "shop/search.html", query=query, result=shown, page=shown.listing, sorts=facets.SEARCH_SORTS,
        links=search_pages.FacetLinks(request.path, request.args.items(multi=True)),
    )


def _render_cart(status: int = 200):
    return commit_then_render("shop/cart.html", status, summary=cart_service.page_summary(request_context()),
                              shelves=widgets.cart(request_context()))


@bp.get("/cart")
def cart():
    return _render_cart()


def _cart_page_with_error(message: str):
    flash(message, "error")
    return _render_cart(422)


@bp.post("/cart/add/<id:product_id>")
def add_to_cart(product_id: int):
    item = catalog.active_product(product_id) or abort(404)
    form = AddToCartForm()
    if not form.validate_on_submit():
        return _render_product(item, form, 422)
    try:
        cart_service.add(request_context(), item, form.quantity.data)
    except cart_service.CartError as error:
        db.session.rollback()
        flash(str(error), "error")  # the form itself is hidden when the product is out of stock
        form.quantity.errors = [str(error)]
        return _render_product(catalog.active_product(product_id) or abort(404), form, 422)
    name = item.name  # read before the commit expires it (a reload would be one more statement)
    db.session.commit()
    flash(f"Added {name} to your cart.", "success")
    return redirect(url_for("shop.cart"))


@bp.post("/cart/update/<id:product_id>")
def update_cart(product_id: int):
    form = UpdateCartForm()
    if not form.validate_on_submit():
        return _cart_page_with_error(next(iter(form.errors.values()))[0])
    try:
        cart_service.set_quantity(request_context(), product_id, form.quantity.data)
    except cart_service.CartError as error:
        db.session.rollback()
        return _cart_page_with_error(str(error))
    db.session.commit()
    return redirect(url_for("shop.cart"))


@bp.post("/cart/remove/<id:product_id>")
def remove_from_cart(product_id: int):
    RemoveFromCartForm().validate_on_submit()  # CSRF is checked globally; nothing else to read
    try:
        cart_service.remove(request_context(), product_id)
    except cart_service.CartError as error:
        db.session.rollback()
        return _cart_page_with_error(str(error))
    db.session.commit()
    flash("Removed from your cart.", "success")
    return redirect(url_for("shop.cart"))


def _checkout_form() -> CheckoutForm:
    form = CheckoutForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data, form.email.data = current_user.name, current_user.email
        saved = profile.saved_address(current_user.id)  # Account -> Settings
        if saved is not None:
            form.name.data, form.address_line.data, form.city.data = saved.name, saved.address_line, saved.city
            form.postcode.data, form.country.data = saved.postcode, saved.country
    return form


def _expiry_in_past(expiry: str) -> bool:
    digits = "".join(ch for ch in expiry if ch.isdigit())  # "MM/YY", "MMYY" or "MM / YY"
    month, year = int(digits[:2]), int(digits[2:])
    now = datetime.now(UTC)
    return (2000 + year, month) < (now.year, now.month)


def _shown_total(form: CheckoutForm) -> Decimal | None:
    """The total the checkout page showed (None when absent or not an amount: nothing to compare)."""
    try:
        shown = Decimal((form.expected_total.data or "").strip())
    except InvalidOperation:
        return None
    return shown if shown.is_finite() else None


def _checkout(form: CheckoutForm, summary, status: int = 200):
    """The checkout page; its hidden total is the one it shows, which the next POST must pay."""
    form.expected_total.data = str(summary.total)
    return render_template("shop/checkout.html", form=form, summary=summary), status


@bp.route("/checkout", methods=["GET", "POST"])
def checkout_page():
    summary = cart_service.summary(request_context())
    if not summary.items and request.method == "GET":
        flash("Your cart is empty.", "info")
        return redirect(url_for("shop.cart"))
    form = _checkout_form()
    if form.validate_on_submit():
        if _expiry_in_past(form.expiry.data):
            form.expiry.errors = ["This card has expired."]
        else:
            details = checkout.ShippingDetails(
                name=form.name.data.strip(), email=form.email.data.strip(),
                address_line=form.address_line.data.strip(), city=form.city.data.strip(),
                postcode=form.postcode.data.strip(), country=form.country.data.strip(),
            )
            try:
                order = checkout.place_order(request_context(), details, form.card_number.data, _shown_total(form))
            except checkout.CheckoutError as error:
                db.session.rollback()
                if error.field:  # a card problem shows under the card number, focused: a phone scrolls to it
                    field = getattr(form, error.field)
                    field.errors = [*field.errors, str(error)]
                    field.render_kw = {**(field.render_kw or {}), "autofocus": True}
                else:
                    flash(str(error), "error")
                return _checkout(form, cart_service.summary(request_context()), 422)
            db.session.commit()
            return redirect(url_for("shop.order_confirmation", reference=order.reference))
    return _checkout(form, summary, 422 if request.method == "POST" else 200)


@bp.get("/orders/<reference>")
def order_confirmation(reference: str):
    visitor = visitor_of(request_context(), create=False)
    customer = current_user if current_user.is_authenticated else None
    order = accounts.order_for(customer, visitor.id if visitor else None, reference)
    if order is None:
        abort(404)
    return render_template("shop/order.html", order=order)


@bp.get("/img/category/<slug>.svg")
def category_image(slug: str):
    node = snapshot.current().category_by_slug(slug) or abort(404)
    response = Response(category_svg(node.name, node.slug), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response

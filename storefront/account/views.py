"""Account pages: register, log in/out, order history (with "Customers like you also bought")."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from storefront.account import bp
from storefront.account.forms import LoginForm, LogoutForm, RegisterForm
from storefront.extensions import db
from storefront.web.rate_limits import Blocked, hit_auth_limit
from storefront.orders import accounts
from storefront.recommendations import widgets as widgets
from storefront.web.auth import sign_in, sign_out
from storefront.web.requests import request_context


def _safe_next(default: str) -> str:
    """Only follow a ``next`` that stays on this site (no open redirect) and could be a header
    (no CR/LF or other control character: the request guard refuses those already)."""
    target = request.args.get("next", "")
    parts = urlsplit(target)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target) or "\\" in target:
        return default
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme:
        return target
    return default


def _too_many(template: str, form, field, blocked: Blocked, what: str):
    """The form again, with the limit's message on ``field`` and the password left out: 429."""
    field.errors = [blocked.message(what)]
    response = current_app.make_response((render_template(template, form=form), 429))
    response.headers["Retry-After"] = str(blocked.retry_after)
    return response


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("account.orders"))
    form = RegisterForm()
    if request.method == "POST" and (blocked := hit_auth_limit("register", form.email.data)):
        return _too_many("account/register.html", form, form.email, blocked, "registration")
    if form.validate_on_submit():
        try:
            customer = accounts.register(form.email.data, form.password.data, form.name.data)
        except accounts.AccountError as error:
            db.session.rollback()
            form.email.errors = [str(error)]
        else:
            sign_in(customer)
            db.session.commit()
            flash(f"Welcome, {customer.name}! Your account is ready.", "success")
            return redirect(_safe_next(url_for("shop.home")))
    status = 422 if request.method == "POST" else 200
    return render_template("account/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("account.orders"))
    form = LoginForm()
    if request.method == "POST" and (blocked := hit_auth_limit("login", form.email.data)):
        return _too_many("account/login.html", form, form.password, blocked, "login")
    if form.validate_on_submit():
        try:
            customer = accounts.authenticate(form.email.data, form.password.data)
        except accounts.AccountError as error:
            form.password.errors = [str(error)]
        else:
            sign_in(customer, remember_browser=form.remember.data)
            db.session.commit()
            flash(f"Welcome back, {customer.name}.", "success")
            return redirect(_safe_next(url_for("shop.home")))
    status = 422 if request.method == "POST" else 200
    return render_template("account/login.html", form=form), status


@bp.post("/logout")
def logout():
    LogoutForm().validate_on_submit()  # CSRF is checked globally; nothing else to read
    sign_out()
    db.session.commit()  # the revoked session token
    flash("You are logged out.", "info")
    return redirect(url_for("shop.home"))


@bp.get("/orders")
@login_required
def orders():
    html = render_template(
        "account/orders.html", orders=accounts.orders_of(current_user), widget=widgets.account_page(request_context())
    )
    db.session.commit()  # the widget's impression; after rendering, like the shop's pages
    return html


@bp.get("/orders/<reference>")
@login_required
def order(reference: str):
    found = accounts.order_for(current_user, None, reference)
    if found is None:
        abort(404)
    return render_template("shop/order.html", order=found)

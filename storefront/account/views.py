"""Account pages: register, log in/out, reset a password, order history (with "Customers like
you also bought").

Registering and asking for a password reset each answer with one page whatever the address
(the mail sent differs: storefront.orders.account_links), so neither tells anyone which
addresses have accounts. A registration is finished behind the emailed link, which also proves
the address belongs to whoever registers it.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from storefront.account import bp
from storefront.account.forms import (
    AddressForm, ChangeEmailForm, ChangePasswordForm, EmailForm, FinishRegistrationForm, LoginForm, LogoutForm, NameForm,
    NewPasswordForm,
)
from storefront.extensions import db
from storefront.web.rate_limits import Blocked, hit_auth_limit
from storefront.orders import account_links, accounts, profile
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
    return _mail_a_link("account/register.html", "register", "registration", account_links.start_registration,
                        "We have sent a message to this address. Open the link in it to finish creating your "
                        "account. If the address already has an account, the message says how to log in instead.")


@bp.route("/register/<token>", methods=["GET", "POST"])
def finish_registration(token: str):
    try:
        email = account_links.email_for_registration(token)
    except account_links.LinkError as error:
        return _bad_link(error, "account.register", "Start again")
    form = FinishRegistrationForm()
    if form.validate_on_submit():
        try:
            customer = account_links.complete_registration(token, form.name.data, form.password.data)
        except account_links.LinkError as error:  # finished meanwhile, in another tab
            db.session.rollback()
            return _bad_link(error, "account.register", "Start again")
        except accounts.AccountError as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            sign_in(customer)
            attached = profile.attach_guest_orders(customer)  # the link proved the address
            db.session.commit()
            flash(f"Welcome, {customer.name}! Your account is ready.{_attached(attached)}", "success")
            return redirect(_safe_next(url_for("shop.home")))
    status = 422 if request.method == "POST" else 200
    return _private(render_template("account/finish_registration.html", form=form, email=email), status)


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


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    return _mail_a_link("account/forgot_password.html", "reset", "password reset", account_links.send_reset_link,
                        "If an account exists for that address, we have sent a link to reset its password.")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        customer = account_links.customer_for_reset(token)
    except account_links.LinkError as error:
        return _bad_link(error, "account.forgot_password", "Ask for a new link")
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            account_links.reset_password(token, form.password.data)
        except accounts.AccountError as error:
            db.session.rollback()
            form.password.errors = [str(error)]
        else:
            sign_in(customer)  # a new session; every other one ended with the old password
            attached = profile.attach_guest_orders(customer)  # the link proved the address
            db.session.commit()
            flash(f"Your password is changed, and you are logged out everywhere else.{_attached(attached)}", "success")
            return redirect(url_for("shop.home"))
    status = 422 if request.method == "POST" else 200
    return _private(render_template("account/reset_password.html", form=form, email=customer.email), status)


def _attached(count: int) -> str:
    if not count:
        return ""
    return (" Your earlier order placed with this address is now in your account." if count == 1
            else f" Your {count} earlier orders placed with this address are now in your account.")


def _links() -> account_links.Links:
    """Absolute URLs for the messages; a registration's link keeps the page's safe ``next``."""
    next_page = _safe_next("") or None
    return account_links.Links(
        login=url_for("account.login", _external=True),
        forgot=url_for("account.forgot_password", _external=True),
        register=url_for("account.register", _external=True),
        reset=lambda token: url_for("account.reset_password", token=token, _external=True),
        confirm=lambda token: url_for("account.finish_registration", token=token, next=next_page, _external=True),
    )


def _mail_a_link(template: str, scope: str, what: str, send, answer: str):
    """A form of one address that mails a link there (registration, forgotten password): every
    POST counts against the ``scope`` limits (per address and email), and whoever the address
    belongs to, the answer is the same page with the same ``answer`` (``send`` decides what the
    message says)."""
    form = EmailForm()
    if request.method == "POST" and (blocked := hit_auth_limit(scope, form.email.data)):
        return _too_many(template, form, form.email, blocked, what)
    if form.validate_on_submit():
        try:
            send(form.email.data, _links())
        except accounts.AccountError as error:  # an unusable address, whoever owns it
            form.email.errors = [str(error)]
        else:
            return render_template("account/link_sent.html", email=form.email.data, message=answer)
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form), status


def _bad_link(error: account_links.LinkError, retry: str, retry_label: str):
    """An expired, used or broken link: say so and offer a new one (a 400, never a 500)."""
    html = render_template("account/link_invalid.html", message=str(error), retry_url=url_for(retry),
                           retry_label=retry_label)
    return _private(html, 400)


def _private(html: str, status: int):
    """A page whose URL carries a token: no cache along the way keeps it."""
    response = current_app.make_response((html, status))
    response.headers["Cache-Control"] = "no-store"
    return response


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
        "account/orders.html", orders=accounts.orders_of(current_user), shelves=widgets.account_page(request_context())
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


# --- the account's own settings -------------------------------------------------------------------

_SETTINGS_FORMS = {"name": NameForm, "email": ChangeEmailForm, "password": ChangePasswordForm, "address": AddressForm}


def _settings_page(status: int = 200, **bound):
    """Every settings form (the one just posted with its errors, the others filled from the account)."""
    saved = profile.saved_address(current_user.id)
    forms = {
        "name": bound.get("name") or NameForm(formdata=None, prefix="name", name=current_user.name),
        "email": bound.get("email") or ChangeEmailForm(formdata=None, prefix="email"),
        "password": bound.get("password") or ChangePasswordForm(formdata=None, prefix="password"),
        "address": bound.get("address") or AddressForm(formdata=None, prefix="address", obj=saved),
    }
    html = render_template("account/settings.html", forms=forms, saved=saved)
    return _private(html, status)


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/<section>")
@login_required
def update_settings(section: str):
    form_class = _SETTINGS_FORMS.get(section) or abort(404)
    form = form_class(prefix=section)  # one page holds the four forms: prefixed ids never clash
    if not form.validate_on_submit():
        return _settings_page(422, **{section: form})
    try:
        if section == "name":
            profile.change_name(current_user, form.name.data)
            message = "Your name is saved."
        elif section == "email":
            profile.change_email(current_user, form.email.data, form.current_password.data)
            message = "Your email address is changed; we told the old one."
        elif section == "password":
            profile.change_password(current_user, form.current_password.data, form.password.data)
            sign_in(current_user)  # this browser stays logged in; every other session ended
            message = "Your password is changed, and you are logged out everywhere else."
        else:
            profile.save_address(current_user, profile.Address(
                form.name.data, form.address_line.data, form.city.data, form.postcode.data, form.country.data))
            message = "Your address is saved: checkout fills it in."
    except accounts.AccountError as error:
        db.session.rollback()
        field = form.current_password if "current password" in str(error) else (
            form.email if section == "email" else form.password)
        field.errors = [str(error)]
        return _settings_page(422, **{section: form})
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("account.settings"))

"""Customer accounts: registration, authentication, admins."""
from __future__ import annotations

import hmac
import secrets
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from storefront.extensions import db
from storefront.models import ROLE_ADMIN, ROLE_CUSTOMER, Customer, Order, RememberToken
from storefront.orders import cart as cart_service
from storefront.tracking import events as tracking
from storefront.tracking.visitors import RequestContext
from storefront.tracking.visitors import visitor_of

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """Registration or login problem; the message is shown on the form."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def load_customer(user_id: str) -> Customer | None:
    """Flask-Login's user loader: ``<id>:<session token>`` from the session or the remember-me
    cookie; a token that was revoked (logout, ``revoke-sessions``) or an old-style id loads
    nobody, so that cookie is logged out."""
    customer_id, _, token = (user_id or "").partition(":")
    try:
        customer = db.session.get(Customer, int(customer_id))
    except (TypeError, ValueError):
        return None
    if customer is None or not token or not customer.session_token:
        return None
    if not hmac.compare_digest(customer.session_token.encode(), token.encode()):
        return None
    return customer


def revoke_sessions(customer: Customer) -> None:
    """End every session and remember-me cookie of the customer, on every device (flushes):
    logout, ``flask shop revoke-sessions``, a password reset and a stolen remember-me cookie."""
    customer.revoke_sessions()
    db.session.execute(delete(RememberToken).where(RememberToken.customer_id == customer.id))
    db.session.flush()


def change_password(customer: Customer, password: str) -> None:
    """Set a new password under the same policy as registration, and end every session and
    remember-me token of the customer: whoever knew the old password (or held a cookie) is out
    (flushes)."""
    check_password(password, customer.email)
    customer.password_hash = hash_password(password)
    revoke_sessions(customer)


def find_by_email(email: str) -> Customer | None:
    return db.session.scalar(select(Customer).where(Customer.email == normalise_email(email)))


def check_email(email: str) -> str:
    """The normalised address, or ``AccountError`` if it could never log in through the form."""
    try:
        validate_email(email or "", check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(f"{email!r} is not a usable email address: {error}") from None
    return normalise_email(email)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked-password corpora, as zxcvbn ships them (all
    lower case): the first ones an attacker tries."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password(password: str, email: str = "") -> None:
    """The minimum policy: long enough, not a common password, not the email address itself."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
    lowered = password.lower()
    if lowered in _common_passwords() or lowered in {email.lower(), email.split("@")[0].lower()}:
        raise AccountError("This password is among the most commonly used ones (or is your email address), "
                           "so it is the first one anyone would guess. Please choose another.")


def register(email: str, password: str, name: str, role: str = ROLE_CUSTOMER) -> Customer:
    email = check_email(email)
    check_password(password, email)
    if find_by_email(email) is not None:
        raise AccountError("An account with this email already exists. Log in instead?")
    customer = Customer(
        email=normalise_email(email), password_hash=hash_password(password), name=name.strip(), role=role
    )
    db.session.add(customer)
    db.session.flush()
    return customer


def _dummy_hash() -> str:
    """A hash with the app's method, to spend the same time on unknown emails."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    return _DUMMY_HASHES[method]


_DUMMY_HASHES: dict[str, str] = {}


def authenticate(email: str, password: str) -> Customer:
    customer = find_by_email(email)
    # Same message and the same hashing work whether the email or the password is wrong, so
    # neither the page nor its response time tells which emails have accounts.
    stored = customer.password_hash if customer is not None else _dummy_hash()
    if not check_password_hash(stored, password or "") or customer is None:
        raise AccountError("Wrong email or password.")
    return customer


def adopt_browser(ctx: RequestContext, customer: Customer) -> None:
    """On login: give the customer this browser's history and cart (the web boundary then
    renews the session and logs them in, ``storefront.web.auth``)."""
    visitor = visitor_of(ctx, create=True)
    cart_service.merge_visitor_cart(visitor, customer)
    tracking.attach_visitor(visitor, customer)


def orders_of(customer: Customer) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order).where(Order.customer_id == customer.id).order_by(Order.created_at.desc())
        )
    )


def order_for(customer: Customer | None, visitor_id: int | None, reference: str) -> Order | None:
    """An order by reference, only if it belongs to this customer or (guest) this browser."""
    order = db.session.scalar(select(Order).where(Order.reference == reference))
    if order is None:
        return None
    if customer is not None and order.customer_id == customer.id:
        return order
    if order.customer_id is None and visitor_id is not None and order.visitor_id == visitor_id:
        return order
    return None


def create_admin(email: str, password: str | None = None) -> tuple[Customer, str | None]:
    """Create an admin, or promote an existing customer; returns a generated password if any."""
    generated = None
    customer = find_by_email(email)
    if customer is not None:
        customer.role = ROLE_ADMIN
        if password:
            check_password(password, email)
            customer.password_hash = hash_password(password)
        db.session.flush()
        return customer, None
    if not password:
        generated = password = secrets.token_urlsafe(12)
    customer = register(email, password, name="Administrator", role=ROLE_ADMIN)
    return customer, generated


def admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.role == ROLE_ADMIN))

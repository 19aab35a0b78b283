"""Links sent by email: a password reset, and the confirmation of a new account.

Both are signed, expiring tokens (itsdangerous' ``URLSafeTimedSerializer`` with the app's
``SECRET_KEY`` and a salt for each kind, so one kind never passes for the other), and nothing
about them is stored:

- a reset link carries the customer id and a fingerprint of the password hash and the session
  token. Setting the new password (or any revocation of the sessions) changes the fingerprint,
  so the link works once; it expires after ``PASSWORD_RESET_MAX_AGE_SECONDS``.
- a confirmation link carries the address; once an account exists for it the link is used. It
  expires after ``REGISTRATION_LINK_MAX_AGE_SECONDS``.

Neither asking for a reset nor registering tells whether an address has an account: every
request that passes the form sends exactly one message to the address typed in (what the
message says differs, the page and the work done do not), and the page says the same thing
either way. The web boundary builds the absolute URLs (``url_for(_external=True)``) and hands
them in as :class:`Links`.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.models import Customer
from storefront.orders import accounts, mail

RESET_SALT = "storefront.password-reset"
REGISTRATION_SALT = "storefront.registration"
MAX_TOKEN_LENGTH = 512  # ours are about 100 characters; longer is not worth decoding

EXPIRED = "This link has expired."
USED = "This link has already been used, or it is not a link we sent."


class LinkError(ValueError):
    """A link that cannot be used (expired, used, tampered with); the message is for the page."""


@dataclass(frozen=True)
class Links:
    """Absolute URLs of the account pages, for the messages."""

    login: str
    forgot: str
    register: str
    reset: Callable[[str], str]  # token -> URL of the reset page
    confirm: Callable[[str], str]  # token -> URL of the page that finishes a registration


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _load(salt: str, token: str, max_age: int) -> object:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkError(USED)
    try:
        return _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError(EXPIRED) from None
    except BadSignature:  # tampered, truncated, another kind of token, another SECRET_KEY
        raise LinkError(USED) from None


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


# --- password reset ----------------------------------------------------------------------------


def _fingerprint(customer: Customer) -> str:
    """Changes whenever the password or the session token does: what makes a link single-use."""
    material = f"{customer.password_hash}\0{customer.session_token or ''}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def reset_token(customer: Customer) -> str:
    return _serializer(RESET_SALT).dumps([customer.id, _fingerprint(customer)])


def customer_for_reset(token: str) -> Customer:
    """The customer a reset link is for, or ``LinkError``."""
    payload = _load(RESET_SALT, token, current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"])
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)
            and isinstance(payload[1], str)):
        raise LinkError(USED)
    customer = db.session.get(Customer, payload[0])
    if customer is None or not hmac.compare_digest(_fingerprint(customer), payload[1]):
        raise LinkError(USED)
    return customer


def send_reset_link(email: str, links: Links) -> None:
    """Mail a reset link to the account's address, or, when there is none, tell the address so
    (whoever typed it may have registered under another one). ``AccountError`` for an address
    that could never receive mail."""
    email = accounts.check_email(email)
    customer = accounts.find_by_email(email)
    if customer is None:
        mail.send(email, "Password reset: no account with this address", (
            "Someone (we hope you) asked to reset the password of a Storefront account with this "
            "email address, but there is no account with it.\n\n"
            f"Perhaps you registered with another address? Or create an account:\n{links.register}\n\n"
            "If you did not ask, you can ignore this message."
        ))
        return
    age = _duration(current_app.config["PASSWORD_RESET_MAX_AGE_SECONDS"])
    mail.send(customer.email, "Reset your Storefront password", (
        f"Hello {customer.name},\n\n"
        f"To choose a new password, open this link within {age}:\n{links.reset(reset_token(customer))}\n\n"
        "It works once. Setting a new password logs you out on every device.\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is."
    ))


def reset_password(token: str, password: str) -> Customer:
    """Set the new password of the link's customer (the policy applies) and end every session
    and remember-me token of theirs; ``LinkError`` or ``accounts.AccountError`` (flushes)."""
    customer = customer_for_reset(token)
    accounts.change_password(customer, password)
    return customer


# --- registration ------------------------------------------------------------------------------


def registration_token(email: str) -> str:
    return _serializer(REGISTRATION_SALT).dumps(accounts.normalise_email(email))


def email_for_registration(token: str) -> str:
    """The address a confirmation link is for, or ``LinkError`` (also once its account exists)."""
    email = _load(REGISTRATION_SALT, token, current_app.config["REGISTRATION_LINK_MAX_AGE_SECONDS"])
    if not isinstance(email, str) or accounts.find_by_email(email) is not None:
        raise LinkError(USED)
    return email


def start_registration(email: str, links: Links) -> None:
    """Mail a link that finishes the registration, or, when the address has an account already,
    a note to its owner (log in, or reset the password). ``AccountError`` for an address that
    could never receive mail (the same answer whether or not it has an account)."""
    email = accounts.check_email(email)
    customer = accounts.find_by_email(email)
    if customer is not None:
        mail.send(customer.email, "You already have a Storefront account", (
            f"Hello {customer.name},\n\n"
            "Someone (we hope you) tried to create a Storefront account with this email address, "
            "which already has one. Nothing was changed.\n\n"
            f"If it was you, log in:\n{links.login}\n\n"
            f"Forgot your password? Choose a new one here:\n{links.forgot}\n\n"
            "If it was not you, you can ignore this message."
        ))
        return
    age = _duration(current_app.config["REGISTRATION_LINK_MAX_AGE_SECONDS"])
    mail.send(email, "Finish creating your Storefront account", (
        "Welcome to Storefront!\n\n"
        f"To finish creating your account, open this link within {age} and choose your password:\n"
        f"{links.confirm(registration_token(email))}\n\n"
        "If you did not ask for an account, ignore this message: none is created without this link."
    ))


def complete_registration(token: str, name: str, password: str) -> Customer:
    """Create the account a confirmation link is for; ``LinkError`` (expired, used: also when two
    tabs finish it at once) or ``accounts.AccountError`` (the password) (flushes)."""
    email = email_for_registration(token)
    try:
        with db.session.begin_nested():  # the unique address: a concurrent finish loses here
            return accounts.register(email, password, name)
    except IntegrityError:
        raise LinkError(USED) from None

"""What a customer changes about themselves: name, email, password, saved address, and the
guest orders that are theirs.

Guest orders attach to an account only once the address is proven to be its owner's: finishing a
registration through the emailed link, or resetting the password through one (both links went to
that address). Changing the account's email does not attach anything: the new address is not
proven until a link sent to it is used.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash

from storefront.extensions import db
from storefront.models import Customer, Order, SavedAddress
from storefront.orders import accounts, mail


def attach_guest_orders(customer: Customer) -> int:
    """Give ``customer`` the guest orders placed with their (proven) address; how many (flushes)."""
    result = db.session.execute(
        update(Order).where(Order.customer_id.is_(None), func.lower(Order.email) == customer.email)
        .values(customer_id=customer.id).execution_options(synchronize_session=False)
    )
    db.session.flush()
    return int(result.rowcount or 0)


def _check_current(customer: Customer, password: str) -> None:
    if not check_password_hash(customer.password_hash, password or ""):
        raise accounts.AccountError("That is not your current password.")


def change_name(customer: Customer, name: str) -> None:
    customer.name = name.strip()
    db.session.flush()


def change_email(customer: Customer, email: str, current_password: str) -> None:
    """A new address for the account, with the current password as proof it is the owner asking;
    the old address is told (whoever took over a session cannot quietly take the account)."""
    _check_current(customer, current_password)
    email = accounts.check_email(email)
    if email == customer.email:
        return
    if accounts.find_by_email(email) is not None:
        raise accounts.AccountError("Another account uses that address.")
    old = customer.email
    customer.email = email
    db.session.flush()
    mail.send(old, "Your Storefront email address was changed", (
        f"Hello {customer.name},\n\nThe email address of your Storefront account is now {email}.\n\n"
        "If you did not change it, reset your password from the login page and contact us."
    ))


def change_password(customer: Customer, current_password: str, new_password: str) -> None:
    """The password policy applies; every other session ends (``accounts.change_password``)."""
    _check_current(customer, current_password)
    accounts.change_password(customer, new_password)


@dataclass(frozen=True)
class Address:
    name: str
    address_line: str
    city: str
    postcode: str
    country: str


def saved_address(customer_id: int | None) -> SavedAddress | None:
    if customer_id is None:
        return None
    return db.session.scalar(select(SavedAddress).where(SavedAddress.customer_id == customer_id))


def save_address(customer: Customer, address: Address) -> SavedAddress:
    """Replace the customer's saved address (flushes)."""
    saved = saved_address(customer.id) or SavedAddress(customer_id=customer.id)
    for field in ("name", "address_line", "city", "postcode", "country"):
        setattr(saved, field, getattr(address, field).strip())
    db.session.add(saved)
    db.session.flush()
    return saved

"""Small builders for test data, written through the models (and committed)."""
from __future__ import annotations

import itertools
from decimal import Decimal

from storefront.extensions import db
from storefront.models import ROLE_ADMIN, ROLE_CUSTOMER, Category, Customer, Product
from storefront.orders.accounts import hash_password

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


def category(name: str = "Headphones", parent: Category | None = None) -> Category:
    n = next(_counter)
    node = Category(name=name, slug=f"{name.lower().replace(' ', '-')}-{n}", parent=parent)
    db.session.add(node)
    db.session.commit()
    return node


def product(
    category_: Category | None = None,
    *,
    name: str | None = None,
    brand: str = "Acme",
    price: str = "19.99",
    stock: int = 10,
    active: bool = True,
    description: str = "A sturdy everyday product.",
) -> Product:
    n = next(_counter)
    item = Product(
        sku=f"SKU-T{n:05d}",
        name=name or f"Test Product {n}",
        description=description,
        brand=brand,
        price=Decimal(price),
        stock=stock,
        active=active,
        category=category_ or category(),
    )
    db.session.add(item)
    db.session.commit()
    return item


def customer(email: str | None = None, *, admin: bool = False, name: str = "Ada Lovelace") -> Customer:
    person = Customer(
        email=email or f"shopper{next(_counter)}@example.com",
        password_hash=hash_password(PASSWORD),
        name=name,
        role=ROLE_ADMIN if admin else ROLE_CUSTOMER,
    )
    db.session.add(person)
    db.session.commit()
    return person


def login(client, email: str, password: str = PASSWORD):
    return client.post("/account/login", data={"email": email, "password": password})

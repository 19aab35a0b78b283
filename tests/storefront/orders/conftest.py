"""The shopper the cart tests run as: anonymous, then a logged-in customer."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from tests.storefront.support.shop import all_cart_lines, login, new_customer


@dataclass
class Shopper:
    client: FlaskClient
    customer_id: int | None  # None: anonymous

    def lines(self, app) -> dict[int, int]:
        """This shopper's cart as ``{product_id: quantity}``; asserts it has a single cart."""
        carts = all_cart_lines(app)
        if self.customer_id is not None:
            assert all(customer == self.customer_id and visitor is None for visitor, customer, _, _ in carts)
        else:
            assert all(customer is None and visitor is not None for visitor, customer, _, _ in carts)
        assert len({(visitor, customer) for visitor, customer, _, _ in carts}) <= 1
        return {product: quantity for _, _, product, quantity in carts}


@pytest.fixture(params=["anonymous", "customer"])
def shopper(request, app, client) -> Shopper:
    if request.param == "anonymous":
        return Shopper(client, None)
    customer_id, email = new_customer(app)
    login(client, email)
    return Shopper(client, customer_id)

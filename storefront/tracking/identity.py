"""Who a "user" is for the recommenders.

A logged-in customer is one user across all their browsers; an anonymous browser is a user of
its own. Training (storefront.training.job) and serving (storefront.recommendations) must agree on
these ids, so both call ``ml_user_id``.
"""
from __future__ import annotations


def ml_user_id(visitor_id: int | None, customer_id: int | None) -> str:
    if customer_id is not None:
        return f"c{customer_id}"
    return f"v{visitor_id}"


def ml_item_id(product_id: int) -> str:
    return str(product_id)

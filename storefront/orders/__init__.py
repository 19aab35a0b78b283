"""Orders: carts, checkout, and the customer accounts that own them."""

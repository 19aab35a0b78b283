"""Business logic. Services flush; the request boundary (view or CLI command) commits."""

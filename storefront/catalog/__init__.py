"""Catalog: departments, listings, search, popularity, and the placeholder artwork."""

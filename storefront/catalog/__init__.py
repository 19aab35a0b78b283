"""Catalog: departments, listings, popularity, and the placeholder artwork (search: ``storefront.search``)."""

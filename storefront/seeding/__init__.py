"""The demo shop written through the shop's own models (``flask shop seed``)."""

"""JSON API, version 1 (mounted at ``/api/v1``)."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from storefront.api import views  # noqa: E402,F401  (routes register on import)

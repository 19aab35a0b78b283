from flask import Blueprint

bp = Blueprint("shop", __name__)

from storefront.shop import views  # noqa: E402,F401  (routes register on import)

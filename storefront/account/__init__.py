from flask import Blueprint

bp = Blueprint("account", __name__)

from storefront.account import views  # noqa: E402,F401  (routes register on import)

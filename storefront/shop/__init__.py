from flask import Blueprint

bp = Blueprint("shop", __name__)

from storefront.shop import views  # noqa: E402,F401  (routes register on import)
from storefront.shop import promotions  # noqa: E402,F401  (the home banner's link)
from storefront.shop import media  # noqa: E402,F401  (product pictures from the instance folder)

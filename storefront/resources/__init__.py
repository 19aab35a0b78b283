"""Resources: the gated B2B content library, its contact forms and the delivery pages."""
from flask import Blueprint

bp = Blueprint("resources", __name__)

from storefront.resources import views  # noqa: E402,F401  (routes register on import)

"""Resources: the gated B2B content library, its contact forms and the delivery pages."""
from flask import Blueprint

bp = Blueprint("assets", __name__)

from storefront.assets import views  # noqa: E402,F401  (routes register on import)

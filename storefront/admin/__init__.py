from flask import Blueprint

bp = Blueprint("admin", __name__)

from storefront.admin import views  # noqa: E402,F401  (routes register on import)
from storefront.admin import resources  # noqa: E402,F401  (gated-content pages)
from storefront.admin import customers  # noqa: E402,F401
from storefront.admin import dashboard  # noqa: E402,F401
from storefront.admin import campaigns  # noqa: E402,F401  (promotional campaigns)
from storefront.admin import experiments  # noqa: E402,F401  (A/B tests of model versions, on Admin -> ML)
from storefront.admin import diversity  # noqa: E402,F401  (each widget's diversity level)
from storefront.admin import merchandising  # noqa: E402,F401  (boost, bury, pin, exclude rules per widget)
from storefront.admin import products  # noqa: E402,F401  (price, stock and activity, logged)
from storefront.admin import orders  # noqa: E402,F401  (ship, deliver, cancel, refund)
from storefront.admin import product_images  # noqa: E402,F401  (a product's pictures: upload, order, delete)

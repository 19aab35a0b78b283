"""Admin area. Every route requires an admin: visitors go to login, customers get 403."""
from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user

from storefront.admin import bp
from storefront.extensions import login_manager
from storefront.services import admin_overview


@bp.before_request
def require_admin():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403, "The admin area is for administrators only.")
    return None


@bp.get("/")
def index():
    return render_template("admin/index.html", overview=admin_overview.overview())

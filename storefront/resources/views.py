"""Resources pages: thin views over ``storefront.resources.library``, ``leads`` and ``suggestions``."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, flash, redirect, request, send_from_directory, url_for
from flask_login import current_user

from storefront.extensions import db
from storefront.resources import bp
from storefront.resources import leads as asset_leads
from storefront.resources import library as assets
from storefront.resources import suggestions as asset_suggestions
from storefront.resources.forms import AssetRequestForm
from storefront.web.requests import request_context
from storefront.web.responses import commit_then_render

MAX_PAGE = 10_000


@bp.get("")
def library():
    filters = assets.parse_filter(request.args.get("type"), request.args.get("unit"))
    page_number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    return commit_then_render(
        "resources/library.html", page=assets.library(filters, page_number), filters=filters,
        types=assets.type_choices(), units=assets.unit_choices(),
        shelf=asset_suggestions.suggested_next(request_context(), require_history=True) if page_number == 1 else None,
    )


def _new_form() -> AssetRequestForm:
    form = AssetRequestForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data, form.email.data = current_user.name, current_user.email
    return form


def _render_asset(asset, form, status: int = 200, limited: asset_leads.RateLimited | None = None):
    headers = {"Retry-After": str(limited.retry_after)} if limited else None
    return commit_then_render(
        "resources/asset.html", status, headers, asset=asset, form=form, limited=limited,
        unlocked=assets.has_submitted(request_context(), asset),
        shelf=asset_suggestions.suggested_next(request_context(), context=asset),
    )


@bp.route("/<id:asset_id>", methods=["GET", "POST"])
def asset(asset_id: int):
    item = assets.active_asset(asset_id) or abort(404)
    form = _new_form()
    if form.validate_on_submit():
        details = asset_leads.LeadDetails(form.name.data, form.email.data, form.company.data, form.consent.data)
        try:
            asset_leads.submit_lead(request_context(), item, details)
        except asset_leads.RateLimited as limited:
            return _render_asset(item, form, 429, limited)
        db.session.commit()
        flash("Thank you! Your resource is ready.", "success")
        return redirect(url_for("resources.read", asset_id=item.id))
    if request.method == "POST":
        return _render_asset(item, form, 422)
    assets.track_asset_view(request_context(), item)
    return _render_asset(item, form)


@bp.get("/<id:asset_id>/read")
def read(asset_id: int):
    item = assets.active_asset(asset_id) or abort(404)
    if not assets.has_submitted(request_context(), item):
        flash("Fill in the short form to get this resource.", "info")
        return redirect(url_for("resources.asset", asset_id=item.id))
    return commit_then_render(
        "resources/read.html", asset=item, paragraphs=[p.strip() for p in item.body.split("\n\n") if p.strip()],
        shelf=asset_suggestions.suggested_next(request_context(), context=item),
    )


@bp.get("/<id:asset_id>/download")
def download(asset_id: int):
    """The asset's file, for a visitor who submitted its form. Files live under
    ``ASSET_FILES_DIR`` (default ``<instance>/assets``); ``send_from_directory`` refuses any
    path that would leave it."""
    item = assets.active_asset(asset_id) or abort(404)
    if not item.file_path:
        abort(404)
    if not assets.has_submitted(request_context(), item):
        return redirect(url_for("resources.asset", asset_id=item.id))
    folder = current_app.config.get("ASSET_FILES_DIR") or str(Path(current_app.instance_path) / "assets")
    return send_from_directory(folder, item.file_path, as_attachment=True)

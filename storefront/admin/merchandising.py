"""Admin -> Merchandising: rules that boost, bury, pin or exclude products in recommendation
widgets, with dates; the list shows how many impressions each touched in the last 7 days.

Every write is a POST with CSRF; a rejected form comes back with its messages (422) and saves
nothing. Routes join the admin blueprint, so its ``require_admin`` covers them. How each kind
applies: README, "Merchandising rules".
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.merchandising_forms import KIND_LABELS, NONE_CHOSEN, RuleActionForm, RuleForm, numbers
from storefront.campaigns.management import known_brands
from storefront.extensions import db
from storefront.models.common import utcnow
from storefront.models.merchandising import ALL_WIDGETS, MerchandisingRule
from storefront.recommendations import registry
from storefront.recommendations.merchandising import management as rules_admin
from storefront.recommendations.merchandising.management import RuleError, RuleValues
from storefront.recommendations.merchandising.preview import PreviewError, preview


def _list_page(status: int = 200):
    return render_template(
        "admin/merchandising.html", rows=rules_admin.rule_rows(), action_form=RuleActionForm(),
        kind_labels=KIND_LABELS, all_widgets=ALL_WIDGETS, days=rules_admin.TOUCHED_DAYS,
        max_pins=rules_admin.max_pins(),
    ), status


@bp.get("/merchandising")
def merchandising():
    return _list_page()


def _values(form: RuleForm) -> RuleValues:
    return RuleValues(
        name=form.name.data or "", widget=form.widget.data, kind=form.kind.data,
        target_kind=form.target_kind.data, brand=form.brand.data,
        category_id=form.category_id.data or None, campaign_id=form.campaign_id.data or None,
        product_ids=numbers(form.product_ids.data), positions=numbers(form.positions.data),
        factor=form.factor.data, starts_at=form.starts_at.data, ends_at=form.ends_at.data,
        is_active=bool(form.is_active.data),
    )


def _edit_page(form: RuleForm, rule: MerchandisingRule | None):
    """Validate and save on a valid POST, else (re-)render the form with what was typed and
    the messages next to their fields (422 for a rejected POST)."""
    form.set_choices(rules_admin.widget_choices(), rules_admin.category_choices(), rules_admin.campaign_choices())
    if form.validate_on_submit():
        try:
            saved = rules_admin.save_rule(rule, _values(form), current_user.email)
        except RuleError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Rule “{saved.name}” saved (the shop applies it within seconds).", "success")
            return redirect(url_for("admin.merchandising"))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/merchandising_form.html", form=form, rule=rule, brands=known_brands(),
                           max_pins=rules_admin.max_pins()), status


@bp.route("/merchandising/new", methods=["GET", "POST"])
def merchandising_new():
    form = RuleForm()
    if request.method == "GET":
        form.starts_at.data = utcnow().replace(second=0, microsecond=0)  # from now, unless changed
    return _edit_page(form, None)


@bp.route("/merchandising/<id:rule_id>/edit", methods=["GET", "POST"])
def merchandising_edit(rule_id: int):
    rule = db.get_or_404(MerchandisingRule, rule_id)
    form = RuleForm(obj=rule)
    if request.method == "GET":
        form.brand.data = rule.brand or ""
        form.category_id.data = rule.category_id or NONE_CHOSEN
        form.campaign_id.data = rule.campaign_id or NONE_CHOSEN
        form.product_ids.data = ", ".join(str(p) for p in rule.product_ids or ())
        form.positions.data = ", ".join(str(p) for p in rule.positions or ())
    return _edit_page(form, rule)


@bp.post("/merchandising/<id:rule_id>/activate", defaults={"active": True})
@bp.post("/merchandising/<id:rule_id>/deactivate", defaults={"active": False})
def merchandising_switch(rule_id: int, active: bool):
    """Idempotent on purpose (not a toggle): a double submit cannot switch it back. Switching a
    pin back on past the widget's pin limit is refused with the list and its message (422)."""
    rule = db.get_or_404(MerchandisingRule, rule_id)
    if not RuleActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    try:
        rules_admin.set_active(rule, active)
    except RuleError as error:
        db.session.rollback()
        flash(f"Rule “{rule.name}” stays off: {error}", "error")
        return _list_page(422)
    db.session.commit()
    flash(f"Rule “{rule.name}” {'switched on' if rule.is_active else 'switched off'}.", "success")
    return redirect(url_for("admin.merchandising"))


@bp.post("/merchandising/<id:rule_id>/delete")
def merchandising_delete(rule_id: int):
    rule = db.get_or_404(MerchandisingRule, rule_id)
    if not RuleActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    name = rule.name
    rules_admin.delete_rule(rule)
    db.session.commit()
    flash(f"Rule “{name}” deleted.", "success")
    return redirect(url_for("admin.merchandising"))


def _id_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise PreviewError(f"The {name} id must be a whole number.")
    return int(raw)


@bp.get("/merchandising/preview")
def merchandising_preview():
    """A widget as a product page, a customer or a category would get it now, rules applied;
    records nothing (a GET changes nothing)."""
    widget = request.args.get("widget") or ""
    found, error = None, None
    if widget:
        try:
            found = preview(widget, product_id=_id_arg("product"), customer_id=_id_arg("customer"),
                            category_id=_id_arg("category"))
        except PreviewError as problem:
            error = str(problem)
    choices = [(spec.name, registry.WIDGET_TITLES[spec.name]) for spec in rules_admin.steerable_widgets()]
    return render_template("admin/merchandising_preview.html", widgets=choices, args=request.args,
                           preview=found, error=error), 422 if error else 200

"""Admin -> Diversity: each model-filled widget's diversity level (none/low/medium/high), saved
with one POST (CSRF). Routes join the admin blueprint, so its ``require_admin`` covers them.
What a level costs and buys offline: ``flask ml evaluate-diversity`` (README, "Diversity")."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.diversity_forms import FIELD_PREFIX, diversity_form, submitted_levels
from storefront.extensions import db
from storefront.recommendations import diversity


def _page(form, rows, status: int = 200):
    return render_template("admin/diversity.html", form=form, rows=rows, prefix=FIELD_PREFIX,
                           labels=diversity.LEVEL_LABELS), status


@bp.get("/diversity")
def diversity_settings():
    rows = diversity.widget_rows()
    return _page(diversity_form(rows, diversity.LEVEL_LABELS), rows)


@bp.post("/diversity")
def diversity_save():
    """A rejected form (a forged level) comes back with its messages (422); nothing is saved."""
    rows = diversity.widget_rows()
    form = diversity_form(rows, diversity.LEVEL_LABELS)
    if form.validate_on_submit():
        try:
            changed = diversity.set_levels(submitted_levels(form), current_user.email)
        except diversity.SettingError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"Diversity saved for {', '.join(changed)} (the shop serves it within seconds)." if changed
                  else "Nothing changed.", "success")
            return redirect(url_for("admin.diversity_settings"))
    return _page(form, rows, 422 if request.method == "POST" else 200)

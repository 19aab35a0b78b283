"""Admin -> ML: start an A/B test of two model versions, promote its challenger or stop it
(POSTs with CSRF). The experiments and their numbers are on the ML page itself
(``views.render_ml_page``). Routes join the admin blueprint, so its ``require_admin`` covers them."""
from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.experiment_forms import ExperimentActionForm, ExperimentForm
from storefront.admin.views import render_ml_page
from storefront.experiments import management as experiment_admin
from storefront.extensions import db
from storefront.models import Experiment


def _back():
    return redirect(url_for("admin.ml_dashboard", _anchor="experiments"))


@bp.post("/ml/experiments")
def experiment_start():
    """Start one; a rejected form comes back with its messages next to the fields (422)."""
    form = ExperimentForm()
    form.set_choices(experiment_admin.widget_choices(), experiment_admin.challenger_choices())
    if form.validate_on_submit():
        try:
            experiment = experiment_admin.start_experiment(
                form.widget.data, form.challenger_version.data, form.share_percent.data, form.min_clicks.data,
                started_by=current_user.email)
        except experiment_admin.ExperimentError as error:
            db.session.rollback()
            getattr(form, error.field or "widget").errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Experiment #{experiment.id} started: {experiment.challenger_share:.0%} of the shoppers "
                  f"of {experiment.widget} see version {experiment.challenger_version}.", "success")
            return _back()
    return render_ml_page(form, 422)


def _act(experiment_id: int, action, done: str):
    experiment = db.get_or_404(Experiment, experiment_id)
    if not ExperimentActionForm().validate_on_submit():
        abort(400, "The request was not valid.")
    try:
        action(experiment, current_user.email)
    except experiment_admin.ExperimentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(done.format(experiment=experiment), "success")
    return _back()


@bp.post("/ml/experiments/<id:experiment_id>/promote")
def experiment_promote(experiment_id: int):
    return _act(experiment_id, experiment_admin.promote_challenger,
                "Experiment #{experiment.id} ended: version {experiment.challenger_version} is now active "
                "(the web workers serve it within seconds).")


@bp.post("/ml/experiments/<id:experiment_id>/stop")
def experiment_stop(experiment_id: int):
    return _act(experiment_id, experiment_admin.stop_experiment,
                "Experiment #{experiment.id} stopped: the champion stays.")

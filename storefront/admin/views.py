"""Admin area. Every route requires an admin: visitors go to login, customers get 403."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from storefront.admin import bp
from storefront.admin.charts import calibration_chart, ndcg_chart
from storefront.admin.experiment_forms import ExperimentActionForm, ExperimentForm
from storefront.admin.forms import RetrainForm
from storefront.extensions import db, login_manager
from storefront.models import TRIGGER_ADMIN, TrainingRun
from storefront.analytics import overview as admin_overview
from storefront.experiments import management as experiment_admin
from storefront.experiments import report as experiment_report
from storefront.training import job as training
from storefront.training import overview as training_overview


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


def render_ml_page(experiment_form: ExperimentForm | None = None, status: int = 200):
    """Admin -> ML; ``experiment_form``: a rejected start of an A/B test, shown with its errors."""
    board = training_overview.dashboard()
    experiments = experiment_report.board()
    if experiment_form is None:
        experiment_form = ExperimentForm()
    experiment_form.set_choices(experiment_admin.widget_choices(), experiment_admin.challenger_choices())
    db.session.commit()  # runs found dead while building the page are recorded as failed
    charts = {"ndcg": ndcg_chart(board.chart),
              "calibration": calibration_chart(board.ctr_offline.models) if board.ctr_offline else None}
    return render_template(
        "admin/ml.html", board=board, form=RetrainForm(), metric_columns=training_overview.METRIC_COLUMNS,
        charts={key: spec for key, spec in charts.items() if spec}, experiments=experiments,
        experiment_form=experiment_form, action_form=ExperimentActionForm(),
    ), status


@bp.get("/ml")
def ml_dashboard():
    return render_ml_page()


@bp.post("/ml/retrain")
def retrain():
    if not RetrainForm().validate_on_submit():
        abort(400, "The retrain request was not valid.")
    run, created = training.request_training(TRIGGER_ADMIN, requested_by=current_user.email)
    if created:
        training.launch_training_process(run)
        db.session.commit()
        flash(f"Training queued (run #{run.id}).", "success")
    else:
        flash(f"A training run is already {run.status} (run #{run.id}).", "info")
    return redirect(url_for("admin.ml_dashboard"))


@bp.get("/ml/runs/<id:run_id>")
def ml_run(run_id: int):
    run = db.get_or_404(TrainingRun, run_id)
    return render_template(
        "admin/ml_run.html", run=run, candidates=training_overview.candidate_rows(run),
        metric_columns=training_overview.METRIC_COLUMNS, sessions=training_overview.session_rows(run),
        session_metrics=training_overview.SESSION_METRICS,
    )

"""Admin sales and behaviour dashboard, and a CSV download per chart (GET only).

Thin views: parse the period, ask ``storefront.analytics.dashboard`` for the (briefly cached) dashboard,
render. Admin-only through the blueprint's ``require_admin`` hook. A date the service cannot
use is a 400 with the reason on the page, never a 500.
"""
from __future__ import annotations

from flask import Response, abort, render_template, request

from storefront.admin import bp
from storefront.analytics import dashboard as analytics
from storefront.analytics.charts import CHART_KEYS

CSV_KEYS = frozenset({"kpis", *CHART_KEYS})


def _period():
    return analytics.resolve_period(request.args.get("start"), request.args.get("end"))


@bp.get("/dashboard")
def dashboard():
    try:
        period = _period()
    except analytics.PeriodError as error:
        return render_template(
            "admin/dashboard.html", board=None, error=str(error),
            start=request.args.get("start", "")[:40], end=request.args.get("end", "")[:40],
        ), 400
    board = analytics.dashboard(period)
    return render_template(
        "admin/dashboard.html", board=board, error=None,
        start=period.start.isoformat(), end=period.end.isoformat(), payload=analytics.page_payload(board),
        cache_seconds=analytics.cache_seconds(),
    )


@bp.get("/dashboard/<chart>.csv")
def dashboard_csv(chart: str):
    if chart not in CSV_KEYS:
        abort(404, f"There is no dashboard chart called {chart[:60]!r}.")
    try:
        period = _period()
    except analytics.PeriodError as error:
        abort(400, str(error))
    table = analytics.dashboard(period).table(chart)
    filename = f"{chart}_{period.start.isoformat()}_{period.end.isoformat()}.csv"
    return Response(
        table.csv_text(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )

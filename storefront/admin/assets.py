"""Admin pages for gated content: leads (and their CSV export), asset performance, asset model.

Routes join the admin blueprint, so its ``require_admin`` guard covers them all (the CSV export
included: lead data is personal data).
"""
from __future__ import annotations

from datetime import datetime

from flask import Response, render_template, request, stream_with_context

from storefront.admin import bp
from storefront.admin.asset_charts import SERIES, hit_rate_chart
from storefront.services import asset_leads, asset_models, asset_performance

MAX_PAGE = 10_000


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/assets")
def assets_leads():
    return render_template("admin/assets_leads.html", page=asset_leads.leads_page(_page()), section="leads")


@bp.get("/assets/leads.csv")
def assets_leads_csv():
    name = f"leads-{datetime.now():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(asset_leads.leads_csv()), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/assets/performance")
def assets_performance():
    sort = request.args.get("sort", asset_performance.DEFAULT_SORT)
    sort = sort if sort in asset_performance.SORTS else asset_performance.DEFAULT_SORT
    descending = request.args.get("dir", "desc") != "asc"
    return render_template(
        "admin/assets_performance.html", page=asset_performance.performance(sort, descending, _page()),
        sort=sort, descending=descending, sorts=asset_performance.SORTS, section="performance",
    )


@bp.get("/assets/model")
def assets_model():
    version, summary = asset_models.active_summary()
    report = asset_performance.model_report(version, summary) if version and summary else None
    return render_template(
        "admin/assets_model.html", version=version, report=report, section="model",
        chart=hit_rate_chart(report.breakdown, report.k) if report else None, series=SERIES,
        candidate_metrics=asset_performance.CANDIDATE_METRICS, unit_metrics=asset_performance.UNIT_METRICS,
    )

"""Admin pages for gated content: leads (and their CSV export), asset performance, asset model.

Routes join the admin blueprint, so its ``require_admin`` guard covers them all (the CSV export
included: lead data is personal data).
"""
from __future__ import annotations

from datetime import datetime

from flask import Response, redirect, render_template, request, stream_with_context, url_for

from storefront.admin import bp
from storefront.admin.charts import HIT_RATE_SERIES, hit_rate_chart, pareto_chart
from storefront.resources import leads as asset_leads
from storefront.resources import recommender as asset_models
from storefront.resources import performance as asset_performance

MAX_PAGE = 10_000


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.get("/resources")
def resources_leads():
    return render_template("admin/resources_leads.html", page=asset_leads.leads_page(_page()), section="leads")


@bp.get("/resources/leads.csv")
def resources_leads_csv():
    name = f"leads-{datetime.now():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(asset_leads.leads_csv()), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@bp.get("/resources/performance")
def resources_performance():
    sort = request.args.get("sort", asset_performance.DEFAULT_SORT)
    sort = sort if sort in asset_performance.SORTS else asset_performance.DEFAULT_SORT
    descending = request.args.get("dir", "desc") != "asc"
    return render_template(
        "admin/resources_performance.html", page=asset_performance.performance(sort, descending, _page()),
        sort=sort, descending=descending, sorts=asset_performance.SORTS, section="performance",
    )


@bp.get("/resources/model")
def resources_model():
    version, summary = asset_models.active_summary()
    report = asset_performance.model_report(version, summary) if version and summary else None
    charts = {
        "hit-rate": hit_rate_chart(report.breakdown, report.k) if report else None,
        "pareto": pareto_chart(list(report.pareto), report.k, report.min_bu_hit_rate) if report else None,
    }
    return render_template(
        "admin/resources_model.html", version=version, report=report, section="model",
        charts={key: chart for key, chart in charts.items() if chart}, series=HIT_RATE_SERIES,
        candidate_metrics=asset_performance.CANDIDATE_METRICS, unit_metrics=asset_performance.UNIT_METRICS,
    )


# The pages' old addresses (before "assets" became "resources" everywhere): bookmarks keep working.
_OLD_PATHS = {"": "resources_leads", "/leads.csv": "resources_leads_csv",
              "/performance": "resources_performance", "/model": "resources_model"}


@bp.get("/assets", defaults={"rest": ""})
@bp.get("/assets/<path:rest>")
def old_assets_address(rest: str):
    endpoint = _OLD_PATHS.get("/" + rest if rest else "")
    if endpoint is None:
        return redirect(url_for("admin.resources_leads"), 301)
    return redirect(url_for(f"admin.{endpoint}", **request.args), 301)

"""Admin pages for gated content: leads (and their CSV export), asset performance, asset model.

Routes join the admin blueprint, so its ``require_admin`` guard covers them all (the CSV export
included: lead data is personal data).
"""
from __future__ import annotations

from datetime import date, datetime

from flask import Response, redirect, render_template, request, stream_with_context, url_for

from storefront.admin import bp
from storefront.models import TYPE_LABELS
from storefront.admin.charts import HIT_RATE_SERIES, hit_rate_chart, pareto_chart
from storefront.resources import leads as asset_leads
from storefront.resources import recommender as asset_models
from storefront.resources import performance as asset_performance

MAX_PAGE = 10_000


def _page() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def _day(name: str, problems: list[str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name}: {raw[:20]!r} is not a date like 2026-12-31 (ignored).")
        return None


def _lead_filter() -> tuple[asset_leads.LeadFilter, list[str]]:
    """The leads filter of the query string; what could not be read is ignored and said."""
    problems: list[str] = []
    kind = request.args.get("type", "")
    consent = {"yes": True, "no": False}.get(request.args.get("consent", ""))
    where = asset_leads.LeadFilter(
        text=request.args.get("q", "").strip()[:100], asset_type=kind if kind in TYPE_LABELS else "",
        consent=consent, since=_day("since", problems), until=_day("until", problems))
    return where, problems


@bp.get("/resources")
def resources_leads():
    where, problems = _lead_filter()
    return render_template("admin/resources_leads.html", page=asset_leads.leads_page(_page(), where=where),
                           section="leads", where=where, problems=problems, types=TYPE_LABELS,
                           export_args={k: v for k, v in request.args.items() if k != "page"})


@bp.get("/resources/leads.csv")
def resources_leads_csv():
    name = f"leads-{datetime.now():%Y%m%d-%H%M}.csv"
    where, _ = _lead_filter()
    return Response(
        stream_with_context(asset_leads.leads_csv(where=where)), mimetype="text/csv",
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

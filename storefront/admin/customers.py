"""Admin Customers pages: segments, the customer map, the comparison of customer
representations, and one customer's segment, neighbours and "Customers like you" widget.

Thin views over ``storefront.segments.report`` and ``storefront.segments.customer_map`` (the map's
points, drawn by Chart.js from ``storefront.admin.charts``); the admin-only guard is the
blueprint's (``admin.views.require_admin``), so these pages need no check of their own.
"""
from __future__ import annotations

from flask import render_template, request, url_for

from storefront.admin import bp
from storefront.admin.charts import customer_map_chart
from storefront.extensions import db
from storefront.models import Customer
from storefront.segments import customer_map as segment_map
from storefront.segments import report as segment_report


@bp.get("/customers")
def customers():
    colouring = request.args.get("colour", segment_map.DEFAULT_COLOURING)
    if colouring not in segment_map.COLOURINGS:
        colouring = segment_map.DEFAULT_COLOURING
    page = segment_report.overview()
    points = segment_map.customer_map(page.segments, colouring) if page.segments is not None else None
    link = url_for("admin.customers") + "/{id}"  # admin.customer's address, {id} filled in by the chart
    charts = {"map": customer_map_chart(points, segment_map.COLOURINGS[colouring], link)} if points else {}
    return render_template(
        "admin/customers.html", page=page, points=points, charts=charts, colouring=colouring,
        colourings=segment_map.COLOURINGS, segment_colours=segment_map.SEGMENT_COLOURS,
        metrics=segment_report.COMPARISON_METRICS,
    )


@bp.get("/customers/<id:customer_id>")
def customer(customer_id: int):
    person = db.get_or_404(Customer, customer_id)
    return render_template("admin/customers_detail.html", detail=segment_report.customer_detail(person))

"""The admin dashboard over HTTP: admin-only, the period in the query string, bad dates, the
CSV downloads (equal to the chart data the page embeds), and the short-lived cache."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storefront.support.dashboard import build_shop
from storefront.models import Order
from storefront.analytics.charts import CHART_KEYS
from tests.storefront.support.shop import ctx, login, new_customer

RANGE = "start=2024-03-10&end=2024-03-12"
URLS = ["/admin/dashboard", *(f"/admin/dashboard/{key}.csv" for key in ("kpis", *CHART_KEYS))]
DATA_BLOCK = re.compile(r'<script type="application/json" id="chart-data">(.*?)</script>', re.S)


@pytest.fixture
def admin_client(app, admin_client):
    """The shared admin client, on the hand-made dashboard shop."""
    with ctx(app):
        build_shop()
    return admin_client


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(f"{url}?{RANGE}")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"][0].startswith(url)


@pytest.mark.parametrize("url", URLS)
def test_customers_get_403(app, client, url):
    _, email = new_customer(app)
    login(client, email)
    response = client.get(f"{url}?{RANGE}")
    assert response.status_code == 403
    assert "Revenue" not in response.get_data(as_text=True)


def test_admin_index_links_to_the_dashboard(app, admin_client):
    assert 'href="/admin/dashboard"' in admin_client.get("/admin/").get_data(as_text=True)


def test_the_page_shows_the_kpis_and_their_changes(admin_client):
    response = admin_client.get(f"/admin/dashboard?{RANGE}")
    html = _text(response)
    assert response.status_code == 200
    assert "10 Mar 2024 – 12 Mar 2024 (3 days, UTC, both days included)" in html
    assert "compared with 07 Mar 2024 – 09 Mar 2024" in html
    assert "<span>Revenue</span> <strong>$310.50</strong>" in html
    assert "▲ +210.5%" in html and "previous: $100.00" in html
    assert "<span>Unique visitors</span> <strong>6</strong>" in html
    assert "<span>Conversion rate</span> <strong>66.7%</strong>" in html
    assert "▲ +16.7 pp" in html  # 66.7 % against 50 %: percentage points
    assert '<small class="delta delta-good">▼ -25.0 pp' in html  # abandonment fell: good
    assert 'value="2024-03-10"' in html and 'value="2024-03-12"' in html
    for key in ("kpis", *CHART_KEYS):
        assert f'href="/admin/dashboard/{key}.csv?start=2024-03-10&amp;end=2024-03-12"' in html


def test_the_page_has_no_inline_code_and_uses_the_vendored_chart_library(admin_client):
    html = admin_client.get(f"/admin/dashboard?{RANGE}").get_data(as_text=True)
    for tag in re.findall(r"<script[^>]*>", html):
        assert 'type="application/json"' in tag or " src=" in tag, tag
    assert "/static/vendor/chart.js/chart.umd.min.js" in html and "/static/js/dashboard.js" in html
    assert not re.search(r"<[^>]+\son[a-z]+=", html)  # no onclick= and friends either
    assert admin_client.get("/static/vendor/chart.js/chart.umd.min.js").status_code == 200


def test_the_default_period_is_30_days_ending_at_the_newest_event(admin_client):
    html = _text(admin_client.get("/admin/dashboard"))
    assert "13 Feb 2024 – 13 Mar 2024 (30 days" in html  # V3's view at 13 Mar 00:00 is the newest


@pytest.mark.parametrize("query, message", [
    ("start=2024-02-30&end=2024-03-12", "The start date &#39;2024-02-30&#39; is not a date; use YYYY-MM-DD"),
    ("start=2024-03-12&end=2024-03-10", "The start date (2024-03-12) is after the end date (2024-03-10)."),
    ("start=1900-01-01&end=2024-03-10", "The start date must be between 2000-01-01 and 2099-12-31."),
    ("start=2020-01-01&end=2024-03-10", "choose at most 731 days"),
    ("end=%3Cscript%3E", "The end date &#39;&lt;script&gt;&#39; is not a date"),
])
def test_bad_dates_get_a_clear_message_not_a_500(admin_client, query, message):
    page = admin_client.get(f"/admin/dashboard?{query}")
    assert page.status_code == 400
    assert message in page.get_data(as_text=True)
    assert 'id="chart-data"' not in page.get_data(as_text=True)
    download = admin_client.get(f"/admin/dashboard/funnel.csv?{query}")
    assert download.status_code == 400
    assert message in download.get_data(as_text=True)


def test_an_unknown_chart_is_404(admin_client):
    assert admin_client.get(f"/admin/dashboard/nothing.csv?{RANGE}").status_code == 404


def _csv(client, key):
    response = client.get(f"/admin/dashboard/{key}.csv?{RANGE}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{key}_2024-03-10_2024-03-12.csv"'
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _same(cell: str, value) -> bool:
    if value is None:
        return cell == ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(cell) == pytest.approx(value, abs=1e-6)
    return cell == value or cell == "'" + value  # a formula-like text gets a leading apostrophe


def test_every_csv_holds_the_numbers_the_chart_draws(admin_client):
    html = admin_client.get(f"/admin/dashboard?{RANGE}").get_data(as_text=True)
    charts = json.loads(DATA_BLOCK.search(html).group(1))["charts"]
    assert set(charts) == set(CHART_KEYS) - {"top-viewed", "top-carted", "top-bought", "revenue-by-segment",
                                             "top-searches", "zero-result-searches"}
    for key, chart in charts.items():
        header, *rows = _csv(admin_client, key)
        assert header == [c["label"] for c in chart["columns"]], key
        assert len(rows) == len(chart["rows"]), key
        for got, expected in zip(rows, chart["rows"]):
            assert all(_same(c, v) for c, v in zip(got, expected)), (key, got, expected)


def test_csv_values_are_plain_and_safe(admin_client):
    assert _csv(admin_client, "funnel") == [
        ["Step", "Visitors", "Of previous step", "Of viewers"],
        ["Viewed a product", "5", "1", "1"], ["Added to cart", "4", "0.8", "0.8"], ["Bought", "3", "0.75", "0.6"],
    ]
    header, *rows = _csv(admin_client, "top-bought")
    assert header == ["#", "Product", "Product ID", "Units", "Revenue"]
    assert rows[-1][1] == "'=Atlas" and rows[-1][3:] == ["1", "20.50"]  # no formula for a spreadsheet
    kpis = {row[0]: row[1:] for row in _csv(admin_client, "kpis")[1:]}
    assert kpis["Revenue"] == ["310.50", "100.00", "2.105"]
    assert kpis["Average order value"] == ["77.63", "100.00", "-0.2237"]
    segments = _csv(admin_client, "revenue-by-segment")
    assert segments == [["Segment", "Customers", "Orders", "Revenue"]]  # no model version: header only


def test_the_dashboard_is_cached_per_period_for_a_short_while(app, admin_client):
    def revenue(query):
        return {row[0]: row[1] for row in _csv_rows(admin_client, query)}["Revenue"]

    assert revenue(RANGE) == "310.50"
    with ctx(app) as session:
        session.add(Order(reference="LATE", email="x@example.com", name="X", address_line="1", city="T",
                          postcode="1", country="US", total=Decimal("1000.00"), created_at=datetime(2024, 3, 11)))
        session.commit()
    assert revenue(RANGE) == "310.50"  # same period within the minute: the cached figures
    assert revenue("start=2024-03-10&end=2024-03-13") == "1410.50"  # another period is computed afresh
    app.config["DASHBOARD_CACHE_SECONDS"] = 0
    assert revenue(RANGE) == "1310.50"


def _csv_rows(client, query):
    response = client.get(f"/admin/dashboard/kpis.csv?{query}")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:]


def test_an_empty_shop_renders(app, client):
    _, email = new_customer(app, admin=True)
    login(client, email)
    response = client.get("/admin/dashboard")
    assert response.status_code == 200
    assert "Nothing in this period." in response.get_data(as_text=True)

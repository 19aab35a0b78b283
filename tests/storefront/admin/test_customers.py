"""The admin Customers pages: admin-only, a clear message before any training, and after a run
the segment table, map and comparison with the run's own numbers, and a customer's page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.storefront.support.recommendations import impressions, seed_small_shop
from storefront.models import RUN_SUCCEEDED, Impression, Order
from storefront.training import job as training
from storefront.web.templating import money
from tests.storefront.support.shop import ctx, login, new_customer

TRAIN_FIRST = "Train a model first"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "TRAINING_TIME_BUDGET_SECONDS": 1, "TRAINING_LAUNCH": False}


@pytest.fixture
def run(app, runner):
    seed_small_shop(runner)
    with ctx(app):
        run = training.run_training()
        assert run.status == RUN_SUCCEEDED
        return run


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _some_customer_with_orders(app) -> int:
    with ctx(app) as session:
        return session.scalar(select(func.min(Order.customer_id)))


@pytest.mark.parametrize("url", ["/admin/customers", "/admin/customers/1"])
def test_anonymous_visitors_are_sent_to_login_and_customers_get_403(app, client, url):
    response = client.get(url)
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/account/login"
    _, email = new_customer(app)
    login(client, email)
    assert client.get(url).status_code == 403


def test_before_any_training_the_pages_say_to_train_first(app, admin_client):
    customer_id, _ = new_customer(app, "someone@example.com")
    page = _text(admin_client.get("/admin/customers"))
    assert TRAIN_FIRST in page and "<svg" not in page
    detail = admin_client.get(f"/admin/customers/{customer_id}")
    assert detail.status_code == 200 and TRAIN_FIRST in _text(detail)
    assert admin_client.get("/admin/customers/999999").status_code == 404
    assert 'href="/admin/customers"' in _text(admin_client.get("/admin/"))  # linked from the index


def test_the_page_shows_the_runs_segments_map_and_comparison(app, run, admin_client):
    response = admin_client.get("/admin/customers")
    assert response.status_code == 200
    html = _text(response)
    summary = run.params["extras"]["segments"]["summary"]
    assert TRAIN_FIRST not in html and "<script" not in html
    assert run.version in html and f'href="/admin/ml/runs/{run.id}"' in html

    table = html.split('class="cart-table metrics-table segment-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1])
    assert len(rows) == len(summary["table"])
    for row, expected in zip(rows, summary["table"]):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        assert cells == [
            expected["segment"].replace("'", "&#39;"), f"{expected['customers']:,}", f"{100 * expected['share']:.1f}%",
            money(expected["revenue"]), f"{expected['orders']:,}", money(expected["average_order_value"]),
            f"{expected['average_recency_days']:.1f} days",
        ]

    svg = html.split('<svg class="chart customer-map"')[1].split("</svg>")[0]
    assert len(re.findall(r"<circle ", svg)) == summary["data"]["customers_with_vectors"]
    assert 'href="/admin/customers/' in svg
    legend = html.split('<ul class="legend"')[1].split("</ul>")[0]
    sizes = {name: n for name, n in summary["rfm_segments"].items() if n}
    assert re.findall(r"</span> (.*?) <small", legend) == [name.replace("'", "&#39;") for name in sizes]

    comparison = html.split('class="cart-table metrics-table comparison-table"')[1].split("</table>")[0]
    methods = summary["comparison"]["methods"]
    for name in ("customer2vec", "kmeans", "kmeans_customer2vec", "popularity"):
        values = [f"{methods[name][m]:.3f}" for m in ("hit_rate@10", "precision@10", "recall@10")]
        assert "".join(f"<td>{v}</td>" for v in values) in comparison, name
    silhouettes = html.split("silhouette-table")[1].split("</table>")[0]
    for space in ("feature_clusters", "embedding_clusters"):
        assert f"<td>{summary[space]['k']}</td><td>{summary[space]['silhouette']:.3f}</td>" in silhouettes

    by_cluster = _text(admin_client.get("/admin/customers?colour=embedding_cluster"))
    legend = by_cluster.split('<ul class="legend"')[1].split("</ul>")[0]
    assert legend.count("<li>") == summary["embedding_clusters"]["k"]
    assert admin_client.get("/admin/customers?colour=<script>").status_code == 200  # ignored


def test_a_customer_page_shows_segment_neighbours_and_the_widget_without_an_impression(app, run, admin_client):
    customer_id = _some_customer_with_orders(app)
    before = len(impressions(app))
    response = admin_client.get(f"/admin/customers/{customer_id}")
    assert response.status_code == 200
    html = _text(response)
    with ctx(app):
        from storefront.segments.serving import segments_for
        from storefront.recommendations.widgets import current_version

        segments = segments_for(current_version())
        rfm = segments.rfm.loc[str(customer_id)]
        neighbours = segments.neighbours(str(customer_id), 10)
    assert f"<strong>{rfm['segment']}</strong>".replace("'", "&#39;") in html
    assert f"R {rfm['r_score']} · F {rfm['f_score']} · M {rfm['m_score']}" in html
    assert f"<strong>{rfm['recency_days']} <small>days</small></strong>" in html
    found = re.findall(r'<a href="/admin/customers/(\d+)">.*?<td>([0-9.]+)</td></tr>', html.split('id="neighbours"')[1])
    assert found == [(c, f"{s:.3f}") for c, s in neighbours]
    preview = html.split('id="widget-preview"')[1]
    assert "Strategy: <code>model:customer2vec</code>" in preview
    assert len(re.findall(r'<a href="/products/\d+">', preview)) == 8
    assert len(impressions(app)) == before  # a preview is not an impression
    with ctx(app) as session:
        assert session.scalar(select(func.count()).select_from(Impression)) == before


def test_failed_segments_are_explained_and_the_numbers_come_back_with_a_good_run(app, runner, admin_client, monkeypatch):
    seed_small_shop(runner)

    def broken(context):
        raise RuntimeError("segments exploded")

    monkeypatch.setitem(training.EXTRA_BUILDERS, "segments", broken)
    with ctx(app):
        assert training.run_training().status == RUN_SUCCEEDED
    html = _text(admin_client.get("/admin/customers"))
    assert "could not be built: RuntimeError: segments exploded" in html and "<svg" not in html
    monkeypatch.undo()
    with ctx(app):
        training.run_training()
    html = _text(admin_client.get("/admin/customers"))
    assert "segments exploded" not in html and '<svg class="chart customer-map"' in html

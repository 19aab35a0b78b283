"""The admin Customers pages: admin-only, a clear message before any training, and after a run
the segment table, map and comparison with the run's own numbers, and a customer's page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.storefront.support.recommendations import impressions, seed_small_shop
from storefront.models import RUN_SUCCEEDED, Impression, Order
from storefront.segments.customer_map import SEGMENT_COLOURS
from storefront.training import job as training
from storefront.web.templating import money
from tests.storefront.admin.chart_support import assert_charts_drawn_without_inline_code, assert_no_chart, canvases
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
    assert TRAIN_FIRST in page
    assert_no_chart(page)
    detail = admin_client.get(f"/admin/customers/{customer_id}")
    assert detail.status_code == 200 and TRAIN_FIRST in _text(detail)
    assert admin_client.get("/admin/customers/999999").status_code == 404
    assert 'href="/admin/customers"' in _text(admin_client.get("/admin/"))  # linked from the index


def test_the_page_shows_the_runs_segments_map_and_comparison(app, run, admin_client):
    response = admin_client.get("/admin/customers")
    assert response.status_code == 200
    html = _text(response)
    summary = run.params["extras"]["segments"]["summary"]
    assert TRAIN_FIRST not in html
    charts = assert_charts_drawn_without_inline_code(html)
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

    # The map: a scatter with one dataset (legend entry) per segment, every customer with a vector
    # once, a link to each one's page, one scale on both axes and no axes (PCA units mean nothing).
    chart = charts["map"]
    assert (chart["type"], chart["equal_scale"], chart["axes"]) == ("scatter", True, False)
    assert chart["link"] == "/admin/customers/{id}" and chart["tip"] == "Customer #{id}"
    points = [point for dataset in chart["datasets"] for point in dataset["data"]]
    assert len(points) == summary["data"]["customers_with_vectors"]
    assert len({point["id"] for point in points}) == len(points)
    assert all(isinstance(point["x"], float) and isinstance(point["y"], float) for point in points)
    sizes = {name: n for name, n in summary["rfm_segments"].items() if n}
    names = [dataset["label"].rsplit(" (", 1)[0] for dataset in chart["datasets"]]
    assert names == list(sizes)
    for dataset in chart["datasets"]:
        name = dataset["label"].rsplit(" (", 1)[0]
        assert dataset["label"] == f"{name} ({len(dataset['data']):,})"
        assert dataset["colour"] == f"--seg-{SEGMENT_COLOURS[name]}"  # the segment table's swatch colour
    some = chart["datasets"][0]["data"][0]["id"]
    assert admin_client.get(chart["link"].format(id=some)).status_code == 200  # the point's link works
    groups = html.split('class="cart-table metrics-table map-groups"')[1].split("</table>")[0]  # the fallback
    assert re.findall(r'</span> (.*?)</td><td data-label="Customers">([\d,]+)</td>', groups) == [
        (name.replace("'", "&#39;"), f"{len(dataset['data']):,}") for name, dataset in zip(names, chart["datasets"])]

    comparison = html.split('class="cart-table metrics-table comparison-table"')[1].split("</table>")[0]
    methods = summary["comparison"]["methods"]
    for name in ("customer2vec", "kmeans", "kmeans_customer2vec", "popularity"):
        values = [f"{methods[name][m]:.3f}" for m in ("hit_rate@10", "precision@10", "recall@10")]
        assert "".join(f'<td data-label="{label}">{v}</td>' for label, v in zip(
            ("Hit rate@10", "Precision@10", "Recall@10"), values)) in comparison, name
    silhouettes = html.split("silhouette-table")[1].split("</table>")[0]
    for space in ("feature_clusters", "embedding_clusters"):
        assert (f'<td data-label="k">{summary[space]["k"]}</td>'
                f'<td data-label="Silhouette (all orders)">{summary[space]["silhouette"]:.3f}</td>') in silhouettes

    by_cluster = assert_charts_drawn_without_inline_code(_text(admin_client.get("/admin/customers?colour=embedding_cluster")))
    clusters = by_cluster["map"]["datasets"]
    assert [dataset["label"].rsplit(" (", 1)[0] for dataset in clusters] == [
        f"Cluster {k + 1}" for k in range(summary["embedding_clusters"]["k"])]
    assert sum(len(dataset["data"]) for dataset in clusters) == len(points)
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
    found = re.findall(r'<a href="/admin/customers/(\d+)">.*?<td data-label="Similarity">([0-9.]+)</td></tr>', html.split('id="neighbours"')[1])
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
    assert "could not be built: RuntimeError: segments exploded" in html
    assert_no_chart(html)
    monkeypatch.undo()
    with ctx(app):
        training.run_training()
    html = _text(admin_client.get("/admin/customers"))
    assert "segments exploded" not in html and canvases(html) == ["map"]

"""The gated form: validation, CSRF, rate limit, delivery, and the admin's leads export."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import update

from tests.storefront.support.resources import browser, count, leads_and_events, new_asset, new_units, submit
from storefront import create_app
from storefront.extensions import db
from storefront.models import FORM_SUBMISSION, Event, Lead
from storefront.models.common import utcnow
from tests.storefront.support.shop import ctx, events, login, new_customer

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def asset_id(app):
    new_units(app, "cld")
    return new_asset(app, "Cloud Guide", units=("cld",), body="First part.\n\nSecond part.")


def _leads(app) -> list[Lead]:
    with ctx(app) as session:
        rows = list(session.query(Lead).order_by(Lead.id))
        session.expunge_all()
        return rows


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "Enter your name."),
    ({"name": "   "}, "Enter your name."),
    ({"email": "not-an-email"}, "Enter a valid email address."),
    ({"email": ""}, "Enter your email."),
    ({"company": ""}, "Enter your company."),
    ({"consent": ""}, "Please agree to be contacted to get this resource."),
    ({"name": "x" * 121}, "Field cannot be longer than 120 characters."),
])
def test_bad_input_re_renders_the_form_and_stores_nothing(app, asset_id, overrides, message):
    client = browser(app)
    response = submit(client, asset_id, **overrides)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'aria-invalid="true"' in html
    assert "First part." not in html
    assert leads_and_events(app) == (0, 0)
    assert client.get(f"/resources/{asset_id}/read").status_code == 302


def test_a_valid_submission_stores_a_lead_logs_an_event_and_delivers(app, asset_id):
    client = browser(app)
    response = submit(client, asset_id)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/resources/{asset_id}/read"
    [lead] = _leads(app)
    assert (lead.asset_id, lead.name, lead.email, lead.company, lead.consent) == (
        asset_id, "Grace Hopper", "grace@example.com", "Navy Labs", True)
    assert lead.client_hash and "10.0.0.1" not in lead.client_hash  # keyed hash, not the address
    [event] = events(app, FORM_SUBMISSION)
    assert (event.asset_id, event.product_id, event.visitor_id) == (asset_id, None, lead.visitor_id)
    assert event.properties == {"count": 1, "lead_id": lead.id}
    page = client.get(f"/resources/{asset_id}/read")
    assert page.status_code == 200
    assert "First part." in page.get_data(as_text=True) and "Second part." in page.get_data(as_text=True)
    assert "This resource is yours" in client.get(f"/resources/{asset_id}").get_data(as_text=True)


def test_delivery_is_only_for_the_visitor_who_submitted(app, asset_id):
    before = browser(app).get(f"/resources/{asset_id}/read")
    assert before.status_code == 302 and before.headers["Location"] == f"/resources/{asset_id}"
    submit(browser(app), asset_id)  # someone else
    stranger = browser(app, "10.0.0.2")
    assert stranger.get(f"/resources/{asset_id}/read").status_code == 302
    followed = stranger.get(f"/resources/{asset_id}/read", follow_redirects=True)
    assert "First part." not in followed.get_data(as_text=True)


def test_a_customer_keeps_access_on_another_browser(app, asset_id):
    _, email = new_customer(app, "buyer@example.com")
    first = browser(app)
    login(first, email)
    submit(first, asset_id)
    assert _leads(app)[0].customer_id is not None
    second = browser(app, "10.0.0.9")
    assert second.get(f"/resources/{asset_id}/read").status_code == 302
    login(second, email)
    assert second.get(f"/resources/{asset_id}/read").status_code == 200


def test_files_download_only_after_submission(app, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "guide.pdf").write_bytes(b"%PDF-1.4 demo")
    app.config["ASSET_FILES_DIR"] = str(folder)
    asset = new_asset(app, "Guide as PDF", body="", file_path="guide.pdf")
    client = browser(app)
    assert client.get(f"/resources/{asset}/download").status_code == 302
    submit(client, asset)
    download = client.get(f"/resources/{asset}/download")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 demo"
    assert "attachment" in download.headers["Content-Disposition"]


def test_rate_limit_per_visitor(app, asset_id):
    app.config["ASSET_FORM_LIMIT"] = 3
    client = browser(app)
    assert [submit(client, asset_id).status_code for _ in range(3)] == [302, 302, 302]
    refused = submit(client, asset_id)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "You have sent 3 requests in the last 10 minutes." in refused.get_data(as_text=True)
    assert leads_and_events(app) == (3, 3)  # the refused one stored nothing
    assert count(app, Event, Event.type == FORM_SUBMISSION) == 3


def test_rate_limit_per_address_across_visitors_and_workers(app, asset_id):
    """Counted from the leads table: a fresh cookie (or another worker) does not reset it."""
    app.config["ASSET_FORM_LIMIT"] = 2
    assert submit(browser(app, "10.9.9.9"), asset_id).status_code == 302
    other_worker = create_app({**app.config, "ENV_NAME": "testing"})
    assert submit(browser(other_worker, "10.9.9.9"), asset_id).status_code == 302
    refused = submit(browser(app, "10.9.9.9"), asset_id)
    assert refused.status_code == 429
    assert count(app, Lead) == 2
    assert submit(browser(app, "10.1.1.1"), asset_id).status_code == 302  # another network is fine
    with other_worker.app_context():
        db.engine.dispose()


def test_the_limit_counts_only_the_window(app, asset_id):
    app.config["ASSET_FORM_LIMIT"] = 1
    client = browser(app)
    assert submit(client, asset_id).status_code == 302
    assert submit(client, asset_id).status_code == 429
    with ctx(app) as session:
        session.execute(update(Lead).values(created_at=Lead.created_at - timedelta(minutes=11)))
        session.commit()
    assert submit(client, asset_id).status_code == 302


def test_the_form_needs_a_csrf_token(app, app_config, asset_id):
    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = browser(strict)
    page = client.get(f"/resources/{asset_id}").get_data(as_text=True)
    token = TOKEN.search(page)
    assert token is not None
    forged = submit(client, asset_id)
    assert forged.status_code == 400
    assert "Your form expired or was sent from elsewhere." in forged.get_data(as_text=True)
    assert count(app, Lead) == 0 and count(app, Event, Event.type == FORM_SUBMISSION) == 0
    assert submit(browser(strict, "10.0.0.3"), asset_id, csrf_token=token.group(1)).status_code == 400  # not theirs
    assert submit(client, asset_id, csrf_token=token.group(1)).status_code == 302
    assert count(app, Lead) == 1
    with strict.app_context():
        db.engine.dispose()


def test_leads_admin_pages_and_export_are_for_admins_only(app, asset_id):
    submit(browser(app), asset_id, name="=HYPERLINK(\"http://evil\")", company="+Acme, Inc.")
    anonymous = browser(app)
    for url in ("/admin/resources", "/admin/resources/leads.csv", "/admin/resources/performance", "/admin/resources/model"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"], url
    _, email = new_customer(app, "shopper@example.com")
    customer = browser(app)
    login(customer, email)
    assert customer.get("/admin/resources/leads.csv").status_code == 403
    assert "grace@example.com" not in customer.get("/admin/resources/leads.csv").get_data(as_text=True)


def test_leads_list_and_csv_export(app, asset_id):
    submit(browser(app, "10.0.0.1"), asset_id, name="=HYPERLINK(\"http://evil\")", company="+Acme, Inc.")
    submit(browser(app, "10.0.0.2"), asset_id, name="Ada Lovelace", email="ada@example.com", consent="y")
    _, email = new_customer(app, "boss@example.com", admin=True)
    admin = browser(app, "10.0.0.3")
    login(admin, email)
    listing = admin.get("/admin/resources").get_data(as_text=True)
    assert listing.index("ada@example.com") < listing.index("grace@example.com")  # newest first
    export = admin.get("/admin/resources/leads.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv" and "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["email"] for r in rows] == ["ada@example.com", "grace@example.com"]
    assert rows[1]["name"] == "'=HYPERLINK(\"http://evil\")"  # a spreadsheet must not run it
    assert rows[1]["company"] == "'+Acme, Inc."
    assert (rows[1]["consent"], rows[1]["asset_id"], rows[1]["asset_title"], rows[1]["asset_type"]) == (
        "yes", str(asset_id), "Cloud Guide", "Gated Ebook Forms")
    assert rows[0]["customer_id"] == ""


def test_leads_are_searchable_and_filterable_and_the_export_follows(app, asset_id):
    webinar = new_asset(app, "Live Webinar", type_="Gated Webinar Forms")
    submit(browser(app, "10.0.0.1"), asset_id, name="Ada Lovelace", email="ada@example.com", company="Analytical 100%")
    submit(browser(app, "10.0.0.2"), webinar, name="Grace Hopper", email="grace@navy.example", company="Navy")
    submit(browser(app, "10.0.0.4"), webinar, name="Linus", email="linus@example.com", company="Kernel_Org")
    with ctx(app) as session:
        session.execute(update(Lead).where(Lead.email == "linus@example.com").values(
            consent=False, created_at=utcnow() - timedelta(days=40)))
        session.commit()
    _, email = new_customer(app, "boss@example.com", admin=True)
    admin = browser(app, "10.0.0.3")
    login(admin, email)

    def shown(query: str) -> set[str]:
        html = admin.get(f"/admin/resources?{query}").get_data(as_text=True)
        return {e for e in ("ada@example.com", "grace@navy.example", "linus@example.com") if e in html}

    assert shown("q=NAVY") == {"grace@navy.example"}  # company, any case
    assert shown("q=100%25") == {"ada@example.com"}  # a % is a character, not a wildcard
    assert shown("q=kerne__org") == set()  # _ too: as a wildcard it would match "kernel_org"
    assert shown("q=kernel_org") == {"linus@example.com"}
    assert shown("type=Gated+Webinar+Forms") == {"grace@navy.example", "linus@example.com"}
    assert shown("consent=no") == {"linus@example.com"}
    today = date.today()
    assert shown(f"since={today - timedelta(days=1)}") == {"ada@example.com", "grace@navy.example"}
    assert shown(f"until={today - timedelta(days=30)}") == {"linus@example.com"}
    bad = admin.get("/admin/resources?since=yesterday")
    assert bad.status_code == 200 and "is not a date like 2026-12-31" in bad.get_data(as_text=True)
    assert "No lead matches these filters." in admin.get("/admin/resources?q=nobody").get_data(as_text=True)
    export = admin.get("/admin/resources/leads.csv?type=Gated+Webinar+Forms&consent=yes").get_data(as_text=True)
    assert [r["email"] for r in csv.DictReader(io.StringIO(export))] == ["grace@navy.example"]


def test_asset_performance_counts_views_submissions_and_conversion(app, asset_id):
    other = new_asset(app, "Unseen Webinar", type_="Gated Webinar Forms")
    viewer, converter = browser(app, "10.0.0.1"), browser(app, "10.0.0.2")
    viewer.get(f"/resources/{asset_id}")
    converter.get(f"/resources/{asset_id}")
    submit(converter, asset_id)
    submit(browser(app, "10.0.0.4"), other)  # a submission without a view
    _, email = new_customer(app, "boss@example.com", admin=True)
    admin = browser(app, "10.0.0.3")
    login(admin, email)
    html = admin.get("/admin/resources/performance?sort=views&dir=desc").get_data(as_text=True)
    cell = r'<td data-label="[^"]+">'  # each cell names its column (stacked cells on phones)
    rows = re.findall(rf"<tr>\s*{cell}<a href=\"/resources/(\d+)\">.*?</a>.*?</td>\s*{cell}(.*?)</td>\s*"
                      rf"{cell}(.*?)</td>\s*{cell}(.*?)</td>\s*{cell}(.*?)</td>\s*{cell}(.*?)</td>\s*{cell}(.*?)</td>",
                      html, re.S)
    assert rows == [
        (str(asset_id), "eBook", "2", "2", "1", "1", "50.0%"),
        (str(other), "Webinar", "0", "0", "1", "1", "–"),
    ]
    ascending = admin.get("/admin/resources/performance?sort=views&dir=asc").get_data(as_text=True)
    assert ascending.index("Unseen Webinar") < ascending.index("Cloud Guide")
    assert admin.get("/admin/resources/performance?sort=nonsense").status_code == 200


def test_model_page_says_when_there_is_no_model(app):
    _, email = new_customer(app, "boss@example.com", admin=True)
    admin = browser(app)
    login(admin, email)
    response = admin.get("/admin/resources/model")
    assert response.status_code == 200
    assert "No asset suggestion model yet" in response.get_data(as_text=True)

"""The Resources library and asset pages: filters, pagination, visibility, views, navigation."""
from __future__ import annotations

import pytest

from tests.storefront.support.resources import browser, card_ids, count, new_asset, new_units
from storefront.models import ASSET_VIEW, Event
from tests.storefront.support.shop import events

HUGE = 10**20


@pytest.fixture
def library(app):
    """Five assets over two types and two units (one in both, one in none), one inactive."""
    new_units(app, "cld", "sec")
    ids = {
        "guide": new_asset(app, "Cloud Guide", units=("cld",), age_days=5),
        "webinar": new_asset(app, "Security Webinar", type_="Gated Webinar Forms", units=("sec",), age_days=4),
        "both": new_asset(app, "Zero Trust in the Cloud", units=("cld", "sec"), age_days=3),
        "none": new_asset(app, "Resource Hub", type_="None", age_days=2),
        "retired": new_asset(app, "Retired Ebook", units=("cld",), active=False, age_days=1),
    }
    return ids


def test_library_lists_active_assets_newest_first(app, client, library):
    response = client.get("/resources")
    assert response.status_code == 200
    assert card_ids(response) == [library[k] for k in ("none", "both", "webinar", "guide")]
    html = response.get_data(as_text=True)
    assert "Retired Ebook" not in html
    assert "Uncategorised" in html  # the literal None type has a readable label
    assert ">General<" in html  # an asset without a known unit says so


@pytest.mark.parametrize("query, expected", [
    ("type=ebook", ["both", "guide"]),
    ("type=webinar", ["webinar"]),
    ("type=uncategorised", ["none"]),
    ("unit=cld", ["both", "guide"]),
    ("unit=sec", ["both", "webinar"]),
    ("type=ebook&unit=sec", ["both"]),
    ("type=webinar&unit=cld", []),
    ("type=no-such-type&unit=nowhere", ["none", "both", "webinar", "guide"]),  # ignored, not an error
])
def test_library_filters(client, library, query, expected):
    response = client.get(f"/resources?{query}")
    assert response.status_code == 200
    assert card_ids(response) == [library[k] for k in expected]
    if not expected:
        assert "No resources match these filters." in response.get_data(as_text=True)


def test_filter_options_only_list_what_is_there(client, library):
    html = client.get("/resources").get_data(as_text=True)
    assert '<option value="ebook">eBook (2)</option>' in html  # the inactive one is not counted
    assert '<option value="webinar">Webinar (1)</option>' in html
    assert 'value="pricing-request"' not in html
    assert '<option value="cld">Unit CLD</option>' in html


def test_library_paginates_and_keeps_filters(app, client):
    app.config["ASSETS_PER_PAGE"] = 2
    new_units(app, "cld")
    ids = [new_asset(app, f"Guide {n}", units=("cld",), age_days=n) for n in range(5)]
    first = client.get("/resources?unit=cld")
    assert card_ids(first) == ids[:2]
    html = first.get_data(as_text=True)
    assert 'href="/resources?unit=cld&amp;page=2" rel="next"' in html
    assert card_ids(client.get("/resources?unit=cld&page=3")) == ids[4:]
    assert card_ids(client.get(f"/resources?page={HUGE}")) == []


def test_asset_page_shows_the_gated_form_and_logs_a_view(app, client, library):
    response = client.get(f"/resources/{library['guide']}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Cloud Guide" in html and "Get this eBook" in html
    assert 'name="consent"' in html and 'name="email"' in html
    assert "Chapter one." not in html  # the content stays behind the form
    views = events(app, ASSET_VIEW)
    assert [(e.asset_id, e.product_id) for e in views] == [(library["guide"], None)]
    client.get(f"/resources/{library['guide']}")  # a reload is not a second view
    assert count(app, Event, Event.type == ASSET_VIEW) == 1


def test_pricing_and_demo_pages_ask_for_what_they_are(app, client):
    pricing = new_asset(app, "CostLens pricing", type_="Gated Get Pricing")
    demo = new_asset(app, "CostLens demo", type_="Gated DemoNow Forms")
    assert "Request pricing" in client.get(f"/resources/{pricing}").get_data(as_text=True)
    assert "Book your demo" in client.get(f"/resources/{demo}").get_data(as_text=True)


@pytest.mark.parametrize("suffix", ["", "/read", "/download"])
def test_missing_inactive_and_huge_assets_are_not_found(client, library, suffix):
    assert client.get(f"/resources/{library['retired']}{suffix}").status_code == 404
    assert client.get(f"/resources/99999{suffix}").status_code == 404
    assert client.get(f"/resources/{HUGE}{suffix}").status_code == 404


def test_bots_get_the_page_but_leave_no_view(app, library):
    bot = browser(app)
    bot.environ_base["HTTP_USER_AGENT"] = "curl/8.0"
    assert bot.get(f"/resources/{library['guide']}").status_code == 200
    assert count(app, Event) == 0


def test_every_page_links_to_the_resources(client):
    assert 'href="/resources">Resources</a>' in client.get("/").get_data(as_text=True)
    assert client.get("/resources").status_code == 200  # an empty library is a page too
    assert "No resources match" in client.get("/resources").get_data(as_text=True)

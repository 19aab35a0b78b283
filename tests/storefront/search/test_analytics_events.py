"""Search as feedback (issue 18): each results page is a ``search`` event, a result followed is a
``search_click`` (once), the product page's view stays the only implicit feedback, and the
dashboard's search figures come from SQL aggregates over those events."""
from __future__ import annotations

import html as html_lib
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from storefront.analytics import searches
from storefront.analytics.period import Period
from storefront.catalog import listings
from storefront.extensions import db
from storefront.models import VIEW, Event, Product
from storefront.models.events import SEARCH, SEARCH_CLICK
from storefront.training.data import load_events_frame
from tests.helpers import browser_client
from tests.storefront.search.facet_support import audio_shop
from tests.storefront.support.shop import ctx


def _events(app, *types: str) -> list[Event]:
    with ctx(app) as session:
        query = select(Event).order_by(Event.id)
        if types:
            query = query.where(Event.type.in_(types))
        return list(session.scalars(query))


def _result_links(response) -> list[str]:
    html = response.get_data(as_text=True)
    grid = html[html.index('<div class="listing-main">'):]
    return [html_lib.unescape(href) for href in re.findall(r'<a href="(/products/[^"]+)" class="card-link">', grid)]


@pytest.fixture
def shop(app):
    return audio_shop(app)


def test_a_results_page_logs_what_it_showed(app, client, shop):
    response = client.get("/search?q=Headphones")
    (event,) = _events(app)
    assert event.type == SEARCH and event.product_id is None and event.session_id
    props = event.properties
    assert props["q"] == "headphones" and props["found"] == 4 and props["results"] == 4
    assert (props["page"], props["offset"], props["refined"], props["sort"]) == (1, 0, 0, "relevance")
    assert props["ids"] == [int(urlsplit(link).path.rsplit("/", 1)[1]) for link in _result_links(response)]
    client.get("/search?q=Headphones&brand=Sonora")
    refined = _events(app)[-1].properties
    assert refined["refined"] == 1 and refined["filters"] == {"brand": ["Sonora"]} and refined["results"] == 2


def test_result_links_name_the_search_and_the_position(app, client, shop):
    app.config["PRODUCTS_PER_PAGE"] = 2
    client.get("/search?q=headphones")
    second = client.get("/search?q=headphones&page=2")
    event = _events(app)[-1]
    links = [parse_qs(urlsplit(link).query) for link in _result_links(second)]
    assert links == [{"sq": [str(event.id)], "sp": ["2"]}, {"sq": [str(event.id)], "sp": ["3"]}]
    assert event.properties["offset"] == 2 and event.properties["refined"] == 1


def test_a_result_followed_is_one_click_and_one_view(app, client, shop):
    response = client.get("/search?q=headphones")
    link = _result_links(response)[1]
    product_id = int(urlsplit(link).path.rsplit("/", 1)[1])
    assert client.get(link).status_code == 200
    assert client.get(link).status_code == 200  # a reload: neither a second view nor a second click
    (click,) = _events(app, SEARCH_CLICK)
    search = _events(app, SEARCH)[0]
    assert click.product_id == product_id
    assert click.properties == {"search_id": search.id, "position": 1, "q": "headphones"}
    assert [e.product_id for e in _events(app, VIEW)] == [product_id]
    # the view is the implicit feedback; the click is measured only, never learnt from twice
    with app.app_context():
        frame = load_events_frame()
        assert list(frame["event"]) == [VIEW] and list(frame["item_id"]) == [str(product_id)]
        listings.refresh_popularity()
        db.session.commit()
        popularity = {p.id: p.popularity for p in db.session.scalars(select(Product))}
    assert popularity[product_id] == 1.0 and sum(popularity.values()) == 1.0


@pytest.mark.parametrize("tamper", [
    lambda sq, sp: (sq, str(int(sp) + 1)),  # another position
    lambda sq, sp: (str(int(sq) + 1000), sp),  # no such search
    lambda sq, sp: ("abc", sp), lambda sq, sp: (sq, "-1"), lambda sq, sp: (sq, "x"),
    lambda sq, sp: ("9" * 30, sp), lambda sq, sp: (sq, "9" * 30), lambda sq, sp: (sq, None),
])
def test_a_forged_result_link_records_no_click(app, client, shop, tamper):
    link = _result_links(client.get("/search?q=headphones"))[0]
    path, query = urlsplit(link).path, parse_qs(urlsplit(link).query)
    sq, sp = tamper(query["sq"][0], query["sp"][0])
    response = client.get(path, query_string={k: v for k, v in {"sq": sq, "sp": sp}.items() if v is not None})
    assert response.status_code == 200
    assert _events(app, SEARCH_CLICK) == []


def test_another_shoppers_search_link_records_no_click(app, client, shop):
    link = _result_links(client.get("/search?q=headphones"))[0]
    other = browser_client(app)
    assert other.get(link).status_code == 200
    assert _events(app, SEARCH_CLICK) == []
    assert len(_events(app, VIEW)) == 1  # their view counts as a view all the same


def test_the_dashboard_counts_searches_clicks_and_zero_results(app, admin_client, shop):
    client = admin_client
    for query in ("headphones", "Headphones ", "speaker", "theremin", "theremin", "headphones"):
        client.get("/search", query_string={"q": query})
    client.get("/search?q=headphones&page=2")  # a refinement, not a search
    link = _result_links(client.get("/search?q=speaker&sort=price_asc"))[0]
    client.get(link)
    today = date.today()
    with app.app_context():
        period = Period(today, today)
        totals = searches.search_totals(db.session, period)
        top = searches.top_queries(db.session, period)
        zero = searches.zero_result_queries(db.session, period)
    assert (totals.searches, totals.clicks, totals.zero) == (6, 1, 2)
    assert totals.click_through == pytest.approx(1 / 6)
    assert [(q.query, q.searches, q.shoppers, q.clicks) for q in top] == [
        ("headphones", 3, 1, 0), ("theremin", 2, 1, 0), ("speaker", 1, 1, 1)]
    assert [(q.query, q.searches) for q in zero] == [("theremin", 2)]

    html = client.get(f"/admin/dashboard?start={today}&end={today}").get_data(as_text=True)
    assert "Top 10 searches" in html and "Top 10 searches with no results" in html and "theremin" in html
    assert "Search click-through" in html
    csv = client.get(f"/admin/dashboard/top-searches.csv?start={today}&end={today}").get_data(as_text=True)
    assert csv.splitlines()[0] == "#,Query,Searches,Shoppers,Result clicks,Click-through"
    assert csv.splitlines()[1] == "1,headphones,3,1,0,0"
    kpis = client.get(f"/admin/dashboard/kpis.csv?start={today}&end={today}").get_data(as_text=True)
    assert "Searches,6," in kpis

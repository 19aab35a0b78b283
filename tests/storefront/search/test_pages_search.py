"""The search page (issue 18): forgiveness on the page (did you mean, showing results for), a
zero-result page that is not a dead end, the relevance order, the hint, and crawlers."""
from __future__ import annotations

import html as html_lib
import re

from sqlalchemy import select

from storefront.models import Event, Impression
from storefront.models.events import SEARCH
from tests.helpers import BOT_UA
from tests.storefront.search.facet_support import audio_shop, titles
from tests.storefront.support.shop import ctx, set_product


def _text(response) -> str:
    words = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())
    return re.sub(r" ([.?])", r"\1", words)


def test_a_typo_shows_the_corrected_results_and_says_so(app, client):
    audio_shop(app)
    response = client.get("/search?q=headphnes")
    assert response.status_code == 200
    assert sorted(titles(response)) == ["Budget Headphones", "Reference Headphones", "Studio Headphones",
                                        "Travel Headphones"]
    text = _text(response)
    assert "No results for “headphnes”. Showing results for headphones." in text
    assert 'href="/search?q=headphones"' in response.get_data(as_text=True)


def test_did_you_mean_links_to_the_corrected_query(app, client, monkeypatch):
    """The engine may propose a spelling while it still found something for the query as typed."""
    from storefront.search import Found, pages

    audio_shop(app)
    real_find = pages.find

    def find(query, *, limit=1000, version=None):
        found = real_find(query, limit=limit, version=version)
        return Found(found.product_ids, found.total, "desk speaker", False, found.terms)

    monkeypatch.setattr(pages, "find", find)
    response = client.get("/search?q=speaker")
    assert "Did you mean desk speaker?" in _text(response)
    assert 'href="/search?q=desk+speaker"' in response.get_data(as_text=True)
    assert sorted(titles(response)) == ["Desk Speaker", "Party Speaker"]


def test_a_query_that_finds_nothing_offers_close_matches_and_trending(app, client):
    shop = audio_shop(app)
    response = client.get("/search?q=sonora+speakers")  # Sonora makes no speakers
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No results for “sonora speakers”" in html_lib.unescape(html)
    assert "Closest matches" in html
    assert f'href="/c/{shop["speakers"]}"' in html  # the category is close
    assert {"Studio Headphones", "Travel Headphones"} & set(titles(response))  # and the brand's products
    assert 'data-widget="search_trending"' in html  # never a dead end
    with ctx(app) as session:
        shelf = session.scalars(select(Impression).where(Impression.widget == "search_trending")).one()
        assert shelf.items
        (event,) = session.scalars(select(Event).where(Event.type == SEARCH)).all()
        assert event.properties["found"] == 0 and event.properties["q"] == "sonora speakers"


def test_nothing_at_all_still_renders(client):
    response = client.get("/search?q=zzzzqqq")
    assert response.status_code == 200
    assert "No results for" in response.get_data(as_text=True)


def test_relevance_is_the_engines_order_reranked_for_the_shopper(app, client, monkeypatch):
    """The page asks the engine, then ``rerank_for_shopper`` for the top of the list; the
    other sorts ignore both orders."""
    from storefront.search import pages

    ids = audio_shop(app)["ids"]
    asked = []

    def rerank(product_ids, ctx, *, top=50):
        asked.append((list(product_ids), top))
        return list(reversed(product_ids[:top]))

    monkeypatch.setattr(pages, "rerank_for_shopper", rerank)
    response = client.get("/search?q=headphones")
    (seen, top), = asked
    assert top == pages.RERANK_TOP and sorted(seen) == sorted(ids[n] for n in ids if "Headphones" in n)
    names = {pid: name for name, pid in ids.items()}
    assert titles(response) == [names[pid] for pid in reversed(seen)]
    asked.clear()
    assert titles(client.get("/search?q=headphones&sort=price_asc"))[0] == "Budget Headphones"
    assert asked == []  # no re-rank for another sort


def test_one_letter_shows_the_hint_and_logs_nothing(app, client):
    audio_shop(app)
    for query in ("a", "", "!!", " h "):
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200
        assert "Type at least two letters" in response.get_data(as_text=True)
    with ctx(app) as session:
        assert session.scalars(select(Event).where(Event.type == SEARCH)).all() == []


def test_crawlers_search_unlogged_and_get_plain_links(app):
    audio_shop(app)
    bot = app.test_client()
    bot.environ_base["HTTP_USER_AGENT"] = BOT_UA
    response = bot.get("/search?q=headphones")
    assert response.status_code == 200 and len(titles(response)) == 4
    assert "sq=" not in response.get_data(as_text=True)
    with ctx(app) as session:
        assert session.scalars(select(Event)).all() == []


def test_result_popularity_sort(app, client):
    ids = audio_shop(app)["ids"]
    set_product(app, ids["Travel Headphones"], popularity=50.0)
    set_product(app, ids["Budget Headphones"], popularity=10.0)
    response = client.get("/search?q=headphones&sort=popular")
    assert titles(response)[:2] == ["Travel Headphones", "Budget Headphones"]

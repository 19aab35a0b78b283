"""The search box's suggestions (issue 18): ``/api/v1/search/suggest`` JSON, its errors, and
the script and markup that use it (no inline script; the form works without it)."""
from __future__ import annotations

import re

import pytest

from tests.storefront.search.facet_support import audio_shop


@pytest.fixture
def shop(app):
    return audio_shop(app)


def test_suggestions_name_categories_brands_and_products_with_their_urls(client, shop):
    response = client.get("/api/v1/search/suggest?q=head")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["query"] == "head"
    kinds = {(s["kind"], s["label"]): s["url"] for s in body["suggestions"]}
    assert kinds[("category", "Headphones")] == f"/c/{shop['headphones']}"
    products = [s for s in body["suggestions"] if s["kind"] == "product"]
    assert products and all(re.fullmatch(r"/products/\d+", s["url"]) for s in products)
    assert all("Headphones" in s["label"] for s in products)
    assert response.headers["Cache-Control"] in ("public, max-age=60", "max-age=60, public")


def test_a_brand_suggestion_searches_the_brand(client, shop):
    body = client.get("/api/v1/search/suggest?q=sono").get_json()
    assert {"kind": "brand", "label": "Sonora", "url": "/search?q=Sonora"} in body["suggestions"]


def test_a_typo_still_suggests(client, shop):
    labels = [s["label"] for s in client.get("/api/v1/search/suggest?q=speakrs").get_json()["suggestions"]]
    assert "Speakers" in labels or any("Speaker" in label for label in labels)


@pytest.mark.parametrize("query", ["", "a", "  ", "!!", "%", "<script>"])
def test_too_little_typed_suggests_nothing(client, shop, query):
    response = client.get("/api/v1/search/suggest", query_string={"q": query})
    assert response.status_code == 200
    assert response.get_json()["suggestions"] == []


@pytest.mark.parametrize("args, status", [
    ({"q": "x" * 101}, 400), ({"q": "head", "n": "0"}, 400), ({"q": "head", "n": "11"}, 400),
    ({"q": "head", "n": "abc"}, 400), ({"q": "head", "n": "-1"}, 400), ({"q": "head", "n": "3"}, 200),
])
def test_bad_arguments_are_json_400s(client, shop, args, status):
    response = client.get("/api/v1/search/suggest", query_string=args)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    if status == 400:
        assert {"error", "message"} <= set(response.get_json())
    else:
        assert len(response.get_json()["suggestions"]) <= 3


def test_suggesting_logs_nothing(app, client, shop):
    from tests.storefront.support.shop import counts

    before = counts(app)
    client.get("/api/v1/search/suggest?q=head")
    assert counts(app) == before


def test_the_search_box_is_a_plain_form_with_a_suggestion_script(client, shop):
    html = client.get("/").get_data(as_text=True)
    form = html[html.index('<form class="search"'):]
    form = form[:form.index("</form>")]
    assert 'action="/search" method="get"' in form and 'name="q"' in form
    assert 'data-suggest-url="/api/v1/search/suggest"' in form
    assert '<script src="/static/js/autocomplete.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)  # no inline script: the CSP allows none


def test_the_script_is_an_aria_combobox_with_keyboard_navigation(client):
    script = client.get("/static/js/autocomplete.js").get_data(as_text=True)
    for needle in ('"combobox"', '"listbox"', '"option"', "aria-activedescendant", "aria-expanded", "ArrowDown",
                   "ArrowUp", '"Enter"', '"Escape"', "textContent", "setTimeout"):
        assert needle in script, needle
    assert "innerHTML" not in script

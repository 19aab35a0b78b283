"""The category page: a page past the last one says so; "Trending in ..." does not repeat the
grid's first row."""
from __future__ import annotations

import re

from tests.helpers import BROWSER_UA
from tests.storefront.support.recommendations import shelves
from tests.storefront.support.shop import new_category, new_product, set_product


def _grid_ids(html: str) -> list[int]:
    grid = html[html.index('<div class="grid">'):]
    return [int(pid) for pid in re.findall(r'<a href="/products/(\d+)" class="card-link">', grid)]


def test_a_page_past_the_last_says_so(app, client):
    category_id, slug = new_category(app, "Kettles")
    for i in range(3):
        new_product(app, category_id, name=f"Kettle {i}")
    html = " ".join(client.get(f"/c/{slug}?page=9").get_data(as_text=True).split())
    assert "Page 9 is past the last page of Kettles (1 page)" in html
    assert f'href="/c/{slug}">Go to the first page' in html and "No products here yet" not in html
    empty_id, empty_slug = new_category(app, "Toasters")
    assert "No products here yet" in client.get(f"/c/{empty_slug}").get_data(as_text=True)


def test_trending_atop_a_category_does_not_repeat_the_grids_first_row(app, client):
    category_id, slug = new_category(app, "Kettles")
    ids = [new_product(app, category_id, name=f"Kettle {i}") for i in range(12)]
    for rank, product_id in enumerate(ids):
        set_product(app, product_id, popularity=float(100 - rank))
    response = client.get(f"/c/{slug}", headers={"User-Agent": BROWSER_UA})
    first_row = _grid_ids(response.get_data(as_text=True))[:4]
    trending = shelves(response)["category_trending"]
    assert len(first_row) == 4 and trending.product_ids
    assert not set(trending.product_ids) & set(first_row)


def test_the_404_page_speaks_the_shops_words_with_search_and_popular_products(app, client):
    category_id, _ = new_category(app, "Kettles")
    popular = new_product(app, category_id, name="Best Kettle")
    set_product(app, popular, popularity=50.0)
    response = client.get("/no/such/page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "We could not find that page" in html and "requested URL was not found" not in html
    assert 'action="/search"' in html and "Popular right now" in html and "Best Kettle" in html
    product = client.get("/products/999999")  # a message of the shop's own stays
    assert product.status_code == 404 and "Popular right now" in product.get_data(as_text=True)
    api = client.get("/api/v1/widgets/nope")
    assert api.status_code == 404 and api.is_json

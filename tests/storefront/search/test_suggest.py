"""suggest(): categories, brands and products as the shopper types, typos forgiven."""
from __future__ import annotations

import pytest

from storefront.search import Suggestion, suggest
from tests import factories


@pytest.fixture
def shop(app_ctx):
    electronics = factories.category("Electronics")
    audio = factories.category("Headphones", parent=electronics)
    bags = factories.category("Laptop Bags", parent=electronics)
    wireless = factories.product(audio, name="Zentek Wireless Headphones V826", brand="Zentek")
    backpack = factories.product(bags, name="Voltara Padded Laptop Backpack", brand="Voltara")
    return {"audio": audio.slug, "bags": bags.slug, "wireless": wireless.id, "backpack": backpack.id}


def test_categories_then_brands_then_products(shop):
    found = suggest("head")
    assert found[0] == Suggestion("category", "Headphones", None, shop["audio"])
    assert Suggestion("product", "Zentek Wireless Headphones V826", shop["wireless"]) in found
    found = suggest("zen")
    assert found[0] == Suggestion("brand", "Zentek") and found[1].product_id == shop["wireless"]
    found = suggest("laptop ba")
    assert found[0].category_slug == shop["bags"] and found[-1].product_id == shop["backpack"]


def test_typos_are_forgiven(shop):
    assert suggest("headphnes")[0].category_slug == shop["audio"]
    assert [s.product_id for s in suggest("zentk") if s.kind == "product"] == [shop["wireless"]]


def test_limit_and_empty_input(shop):
    assert len(suggest("e", limit=8)) == 0  # one letter: nothing yet
    assert len(suggest("electronics", limit=2)) == 2
    assert suggest("") == [] and suggest('"*:^') == [] and suggest("head", limit=0) == []
    assert suggest("qqqxxz") == []

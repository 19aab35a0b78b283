"""find(): matching, stemming, typos, ranking and hostile input, on the test database (SQLite,
or PostgreSQL with TEST_DATABASE_URL)."""
from __future__ import annotations

import pytest

from storefront.extensions import db
from storefront.search import Found, find
from tests import factories


@pytest.fixture
def shop(app_ctx):
    """A few products in two categories under one department."""
    electronics = factories.category("Electronics")
    audio = factories.category("Headphones", parent=electronics)
    laptops = factories.category("Laptops", parent=electronics)
    made = {
        "wireless": factories.product(audio, name="Zentek Wireless Headphones V826", brand="Zentek",
                                      description="Over-ear, with a carrying case."),
        "sport": factories.product(audio, name="Kestrel Sport Headphones X443", brand="Kestrel"),
        "laptop": factories.product(laptops, name="Pixelon Business Laptop X754", brand="Pixelon",
                                    description="A light laptop for the office."),
        "gaming": factories.product(laptops, name="Zentek Gaming Notebook Z1", brand="Zentek"),
        "creme": factories.product(audio, name="Crème Earbuds", brand="Lumex"),
        "gone": factories.product(audio, name="Retired Headphones Q1", brand="Zentek", active=False),
    }
    return {key: product.id for key, product in made.items()}


def test_plurals_and_stems_match_names_and_category_names(shop):
    assert set(find("laptops").product_ids) == {shop["laptop"], shop["gaming"]}  # the category is "Laptops"
    assert set(find("laptop").product_ids) == {shop["laptop"], shop["gaming"]}
    assert set(find("headphone").product_ids) == {shop["wireless"], shop["sport"], shop["creme"]}
    assert set(find("electronics").product_ids) == set(shop.values()) - {shop["gone"]}  # the department too


def test_every_word_must_match_somewhere_and_inactive_products_never_show(shop):
    found = find("zentek headphones")
    assert found.product_ids == [shop["wireless"]] and found.total == 1
    assert found.terms == ["zentek", "headphones"] and not found.corrected and found.did_you_mean is None
    assert shop["gone"] not in find("retired").product_ids


def test_partial_words_match_as_prefixes_and_accents_fold(shop):
    assert find("headph").product_ids[:1] and set(find("headph").product_ids) == set(find("headphones").product_ids)
    assert find("zentek noteb").product_ids == [shop["gaming"]]
    assert find("creme").product_ids == [shop["creme"]] == find("CRÈME").product_ids


def test_a_misspelt_word_is_corrected_and_said(shop):
    found = find("headphnes")
    assert found.did_you_mean == "headphones" and found.corrected
    assert set(found.product_ids) == {shop["wireless"], shop["sport"], shop["creme"]}
    found = find("pixelon lpatop")  # a transposition
    assert found.product_ids == [shop["laptop"]] and found.did_you_mean == "pixelon laptop"
    found = find("zentec wirelss headphnes")  # three words, one typo each
    assert found.product_ids == [shop["wireless"]] and found.did_you_mean == "zentek wireless headphones"


def test_nothing_close_is_an_empty_result_not_an_error(shop):
    assert find("qqqxxz") == Found([], 0, None, False, ["qqqxxz"])


def test_name_outranks_description_and_exact_name_and_brand_come_first(shop):
    assert find("laptop").product_ids[0] == shop["laptop"]  # "laptop" in its name beats category-only
    assert find("Kestrel Sport Headphones X443").product_ids[0] == shop["sport"]
    zentek = find("zentek").product_ids
    assert set(zentek) == {shop["wireless"], shop["gaming"]}


def test_popularity_orders_products_of_equal_relevance(app_ctx):
    audio = factories.category("Speakers")
    quiet = factories.product(audio, name="Lumex Speaker A", brand="Lumex")
    loved = factories.product(audio, name="Lumex Speaker B", brand="Lumex")
    loved.popularity = 500.0
    db.session.commit()
    assert find("speaker").product_ids == [loved.id, quiet.id]


def test_limit_cuts_the_ids_and_total_counts_them_all(app_ctx):
    lamps = factories.category("Lamps")
    for n in range(12):
        factories.product(lamps, name=f"Desk Lamp {n}", brand="Glow")
    found = find("lamp", limit=5)
    assert len(found.product_ids) == 5 and found.total == 12


@pytest.mark.parametrize("query", [
    '"', "'", '""', "%", "%%", "_", "*", "headphones*", "-headphones", "NOT headphones", "AND", "OR", "NEAR",
    "NEAR(a b)", "^zentek", "name:zentek", "zentek:*", "a & b | !c", "(zentek", "zentek)", "{x}", "\\", "'; DROP TABLE products; --",
    "<script>alert(1)</script>", "\u0000zentek", "𝔷𝔢𝔫𝔱𝔢𝔨 🎧", "x" * 10_000, "zentek " * 500,
])
def test_search_syntax_and_odd_input_are_plain_text(shop, query):
    found = find(query)
    assert isinstance(found, Found) and found.total >= 0
    assert all(isinstance(pid, int) for pid in found.product_ids)


def test_operators_are_words_not_syntax(shop):
    assert find("headphones -zentek").product_ids == [shop["wireless"]]  # "-" is no NOT: both words must match
    assert find('"zentek" NEAR "kestrel"').product_ids == []  # NEAR is a word that matches nothing, not an operator


def test_an_empty_query_is_no_search(shop):
    assert find("") == Found() and find("   ") == Found() and find("?!") == Found()

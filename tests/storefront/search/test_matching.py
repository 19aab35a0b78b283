"""Query words and typo correction, without a database."""
from __future__ import annotations

import pytest

from storefront.search.matching import MAX_TERMS, Vocabulary, distance, normalise, query_terms


def test_query_words_are_plain_text_lower_cased_without_accents_and_deduplicated():
    assert query_terms('Crème "brûlée" AND OR NEAR ^x -y z:* 100% l\'été') == [
        "creme", "brulee", "and", "or", "near", "x", "y", "z", "100", "l", "ete"]
    assert query_terms("sony SONY sony_tv") == ["sony", "tv"]
    assert query_terms("") == [] and query_terms(None) == [] and query_terms('"*%^-:') == []
    assert len(query_terms(" ".join(f"w{i}" for i in range(50)))) == MAX_TERMS
    assert query_terms("a" * 5000) == ["a" * 200]  # a very long query is cut
    assert normalise("  Thread & Co.  Stretch-Jeans ") == "thread co stretch jeans"


@pytest.mark.parametrize("a, b, expected", [
    ("headphones", "headphones", 0), ("headphnes", "headphones", 1), ("haedphones", "headphones", 1),
    ("lmap", "lamp", 1), ("headphonesx", "headphones", 1), ("hedphnes", "headphones", 2),
    ("kitten", "sitting", 3),
])
def test_damerau_levenshtein_counts_a_transposition_as_one_edit(a, b, expected):
    assert distance(a, b, 5) == expected
    assert distance(a, b, 1) == min(expected, 2)  # past the limit: limit + 1


WORDS = Vocabulary({"headphones": 40, "headphone": 2, "laptop": 30, "laptops": 5, "lamp": 12, "lamps": 1,
                    "casserole": 7, "sneakers": 9, "speakers": 20, "zentek": 50, "v826": 1, "tv": 3})


@pytest.mark.parametrize("typed, first", [
    ("headphnes", "headphones"), ("haedphones", "headphones"), ("hedphnes", "headphones"),  # 1 and 2 typos
    ("lmap", "lamp"), ("lamq", "lamp"), ("caserole", "casserole"), ("zenteck", "zentek"), ("lptop", "laptop"),
])
def test_corrections_forgive_one_typo_and_two_in_long_words(typed, first):
    assert WORDS.corrections(typed)[0] == first


def test_corrections_prefer_the_nearest_then_the_most_common_word():
    assert WORDS.corrections("sneakers") == ["speakers"]  # itself excluded; one edit away
    assert WORDS.corrections("lapto")[:2] == ["laptop"]  # "laptops" is two edits from a 5-letter word
    assert WORDS.corrections("headphonez")[:2] == ["headphones", "headphone"]


def test_short_words_numbers_and_far_words_are_not_corrected():
    assert WORDS.corrections("tw") == []  # under three letters
    assert WORDS.corrections("v827") == []  # digits: a model number is never "corrected"
    assert WORDS.corrections("lxmq") == []  # two typos in a short word: too far
    assert WORDS.corrections("pizza") == []


def test_prefix_lookup():
    assert WORDS.starts("lap") == ["laptop", "laptops"]
    assert "lamp" in WORDS and "lam" not in WORDS

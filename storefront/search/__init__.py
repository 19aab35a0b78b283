"""Search: one service over the shop's own database (SQLite FTS5 or PostgreSQL full-text search,
``storefront.search.engines``), no search server.

The contract the pages use::

    find(query_text, *, limit=1000) -> Found
    suggest(prefix, *, limit=8) -> list[Suggestion]
    rerank_for_shopper(product_ids, ctx, *, top=50) -> list[int]

How a query runs (:func:`find`): its words (``matching.query_terms``) must all match, each as
itself or as a prefix, in the name, brand, category (with its parent) or description of an
active product. When nothing matches, each word is tried with its nearest indexed spellings
(``matching.Vocabulary.corrections``) and ``did_you_mean`` says the corrected query; when that
still finds nothing, a query of three words or more may miss one of them. Ranking:
:mod:`storefront.search.ranking`. The index is kept in step by database triggers
(:mod:`storefront.search.index`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from storefront.extensions import db
from storefront.search import index as _index  # noqa: F401  (create_all builds the index too)
from storefront.search.engines import Clause, Group, Query, engine_for
from storefront.search.matching import catalog_version, correctable, query_terms, vocabulary
from storefront.search.ranking import RANKING, exact_first, rerank_for_shopper
from storefront.search.suggest import Suggestion, named_categories, suggest

__all__ = ["Found", "Suggestion", "find", "rerank_for_shopper", "suggest"]

MIN_PREFIX = 3  # shorter words match whole words only ("tv", not everything starting with "t")
TYPING_PREFIX = 2  # the word being typed in the search box (suggest)
MIN_RELAXED_TERMS = 3
MAX_COMPLETIONS = 3  # whole words tried for a partial word that matched nothing


@dataclass(frozen=True)
class Found:
    product_ids: list[int] = field(default_factory=list)  # active products, best first
    total: int = 0  # how many match (may exceed the ids returned)
    did_you_mean: str | None = None  # the corrected query when a word looks misspelt
    corrected: bool = False  # the ids come from the corrected (or relaxed) query
    terms: list[str] = field(default_factory=list)  # the normalised query words


def _group(word: str, alternatives: list[str] = (), min_prefix: int = MIN_PREFIX) -> Group:
    """The word (as a prefix too from ``min_prefix`` letters) or any of ``alternatives``."""
    return ((word, len(word) >= min_prefix),) + tuple((a, False) for a in alternatives)


def _relaxed(groups: list[Group]) -> Query:
    """Every group but (at most) one."""
    return tuple(tuple(c) for c in combinations(groups, len(groups) - 1))


def _prefix_lengths(terms: list[str], typing: bool) -> list[int]:
    last = len(terms) - 1
    return [TYPING_PREFIX if typing and i == last else MIN_PREFIX for i in range(len(terms))]


def typing_query(terms: list[str]) -> Query:
    """Every word, the last one being typed (a prefix from two letters), no corrections."""
    return (tuple(_group(t, (), n) for t, n in zip(terms, _prefix_lengths(terms, True))),)


def find(query_text: str, *, limit: int = 1000, version: int | None = None) -> Found:
    """Active products matching ``query_text``, best first (see the module docstring).
    ``version``: the catalog version the caller already knows (a page's catalog snapshot), which
    saves reading it again; by default it is read."""
    return find_terms(query_terms(query_text), limit=limit, version=version)


def find_terms(terms: list[str], *, limit: int = 1000, typing: bool = False, version: int | None = None) -> Found:
    """:func:`find` for words already normalised; ``typing``: the last word is being typed, so it
    matches as a prefix from two letters (autocomplete)."""
    if not terms:
        return Found()
    connection = db.session.connection()
    engine = engine_for(connection.dialect.name)
    limit = max(int(limit), 1)

    def run(query: Query, meant: list[str]) -> tuple[list[int], int]:
        meant_phrase = " ".join(meant)  # the corrected query's exact name or brand comes first
        hits = engine.search(connection, query, meant_phrase, limit, RANKING,
                             named_categories(connection, meant, version))
        return exact_first(hits.rows, meant_phrase), hits.total

    if version is None:  # one read for the vocabulary and the category names
        version = catalog_version(connection)
    words = vocabulary(connection, engine.vocabulary, version)
    # a whole word of the vocabulary matches as itself (and its stem); only a word the index
    # does not know ("headph") also matches as a prefix: a prefix query costs a merge of every
    # word it starts ("pro" -> product, professional, ...), 4-10x a word on 219k products
    prefix_from = [n if t not in words else len(t) + 1 for t, n in zip(terms, _prefix_lengths(terms, typing))]
    groups: Clause = tuple(_group(t, (), prefix_from[i]) for i, t in enumerate(terms))
    ids, total = run((groups,), terms)
    if total:
        return Found(ids, total, None, False, terms)

    # nearest spellings, and for a word the index does not know, the words it starts: a stemmer
    # may cut a word shorter than what was typed of it ("runni" is no prefix of the stem "run")
    corrections = {t: words.corrections(t) + ([] if t in words else words.starts(t)[:MAX_COMPLETIONS])
                   for t in terms if correctable(t)}
    misspelt = {t: c[0] for t, c in corrections.items() if c and t not in words and not words.starts(t)}
    did_you_mean = " ".join(misspelt.get(t, t) for t in terms) if misspelt else None
    widened = tuple(_group(t, corrections.get(t, []), prefix_from[i]) for i, t in enumerate(terms))
    meant = [misspelt.get(t, t) for t in terms]
    if any(corrections.values()):
        ids, total = run((widened,), meant)
        if total:
            return Found(ids, total, did_you_mean, True, terms)
    if len(terms) >= MIN_RELAXED_TERMS:
        ids, total = run(_relaxed(list(widened)), meant)
        if total:
            return Found(ids, total, did_you_mean, True, terms)
    return Found([], 0, did_you_mean, False, terms)

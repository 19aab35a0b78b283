"""Suggestions as the shopper types: categories, brands and products.

A category or brand is suggested when every typed word starts one of its words (the last word
may be half typed); when none does, the last word's nearest indexed spellings are tried (one or
two typos, as in :func:`storefront.search.find`). Products: the most popular that match the typed
words (the last one as a prefix from two letters), or, when none does, the first results of
``find``, which forgives typos. Category and brand labels are read once per
catalog version and kept per database, like the vocabulary.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, text

from storefront.extensions import db
from storefront.models import Product
from storefront.search.engines import engine_for
from storefront.search.matching import catalog_version, plain_stem, query_terms, vocabulary, words

MAX_CATEGORIES = 3
MAX_BRANDS = 2


@dataclass(frozen=True)
class Suggestion:
    kind: Literal["product", "category", "brand"]
    label: str
    product_id: int | None = None
    category_slug: str | None = None


@dataclass(frozen=True)
class _Label:
    kind: Literal["category", "brand"]
    label: str
    words: tuple[str, ...]
    slug: str | None
    weight: float  # products behind it: more first
    category_id: int | None = None


_labels_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _read_labels(connection) -> list[_Label]:
    categories = connection.execute(text(
        "SELECT c.id, c.name, c.slug, count(p.id) FROM categories c LEFT JOIN products p "
        "ON p.category_id = c.id AND p.active GROUP BY c.id, c.name, c.slug")).all()
    brands = connection.execute(text(
        "SELECT brand, count(*) FROM products WHERE active AND brand <> '' GROUP BY brand")).all()
    labels = [_Label("category", name, tuple(words(name)), slug, float(n), cid) for cid, name, slug, n in categories]
    labels += [_Label("brand", brand, tuple(words(brand)), None, float(n)) for brand, n in brands]
    return labels


def _labels(connection, version: int | None = None) -> list[_Label]:
    version = catalog_version(connection) if version is None else version
    cached = _labels_cache.get(connection.engine)
    if cached is None or cached[0] != version:
        cached = (version, _read_labels(connection))
        _labels_cache[connection.engine] = cached
    return cached[1]


def named_categories(connection, terms: list[str], version: int | None = None) -> set[int]:
    """Categories whose whole name is among the query's words, plurals aside ("zentek laptop"
    names Laptops): the ranking lifts their products above look-alikes (laptop bags)."""
    stems = {plain_stem(t) for t in terms}
    return {label.category_id for label in _labels(connection, version)
            if label.kind == "category" and label.words and {plain_stem(w) for w in label.words} <= stems}


def _matches(label: _Label, terms: list[str]) -> bool:
    """Every term starts a word of the label."""
    return all(any(w.startswith(t) for w in label.words) for t in terms)


def _matching_labels(connection, terms: list[str]) -> list[_Label]:
    labels = _labels(connection)
    found = [label for label in labels if _matches(label, terms)]
    if not found:
        corrections = vocabulary(connection, engine_for(connection.dialect.name).vocabulary).corrections(terms[-1])
        for correction in corrections:
            found += [label for label in labels if _matches(label, terms[:-1] + [correction])]
    unique = {(label.kind, label.label): label for label in found}
    return sorted(unique.values(), key=lambda label: (-label.weight, label.label))


def suggest(prefix: str, *, limit: int = 8) -> list[Suggestion]:
    """Up to ``limit`` suggestions for what the shopper has typed so far: categories, then
    brands, then products."""
    from storefront.search import find_terms, typing_query

    terms = query_terms(prefix)
    if not terms or limit <= 0 or (len(terms) == 1 and len(terms[0]) < 2):
        return []
    connection = db.session.connection()
    labels = _matching_labels(connection, terms)
    suggestions = [Suggestion("category", label.label, None, label.slug)
                   for label in labels if label.kind == "category"][:MAX_CATEGORIES]
    suggestions += [Suggestion("brand", label.label) for label in labels if label.kind == "brand"][:MAX_BRANDS]
    suggestions = suggestions[:limit]
    wanted = limit - len(suggestions)
    if wanted > 0:
        # the most popular products that match as typed (no text ranking: cheap on a large
        # catalogue); when none does, find's corrections
        rows = engine_for(connection.dialect.name).popular(connection, typing_query(terms), wanted)
        if not rows:
            ids = find_terms(terms, limit=wanted, typing=True).product_ids
            names = dict(db.session.execute(select(Product.id, Product.name).where(Product.id.in_(ids))).all()) if ids else {}
            rows = [(pid, names[pid]) for pid in ids if pid in names]
        suggestions += [Suggestion("product", name, pid) for pid, name in rows]
    return suggestions



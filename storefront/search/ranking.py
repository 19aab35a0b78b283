"""How results are ordered.

1. Text relevance from the engine: bm25 (SQLite) or ts_rank (PostgreSQL) with column weights
   name 10 > brand 6 > category 3 > description 1, so a word in the name outweighs the same
   word in a description; every query word must match (plurals and stems match through porter /
   ``english`` stemming; the words also match as prefixes, so "headph" finds headphones).
2. Blended with popularity: ``relevance * (1 + 0.5 * pop / (pop + 20))`` (``Product.popularity``,
   the recency-weighted interest score): at most +50%, so popularity orders products of similar
   relevance and never lifts a description match over a name match.
3. Exact matches first: a product whose whole name is the query, then those whose brand is.
4. Per shopper (:func:`rerank_for_shopper`, called by the page for its first results): the
   active recommender's score for the shopper (over its best score, so in [0, 1]) is added,
   times 0.5, to a relevance of ``1 - position / 50``: a top pick climbs 25 places at most.
   Measured offline by ``flask search evaluate-rerank`` (:mod:`storefront.search.evaluation`).
"""
from __future__ import annotations

import logging

from storefront.search.engines import Ranking
from storefront.search.matching import normalise

log = logging.getLogger(__name__)

RANKING = Ranking(popularity_weight=0.5, popularity_half=20.0)
RERANK_TOP = 50
AFFINITY_WEIGHT = 0.5  # a shopper's top pick can climb ~25 places of 50, never more
AFFINITY_CANDIDATES = 500  # how deep the model's ranking for the shopper is read


def exact_first(rows: list[tuple[int, str]], phrase: str) -> list[int]:
    """Product ids with those whose name is exactly the query first (stable otherwise)."""
    return [pid for _exact, pid in sorted(((normalise(name) != phrase, pid) for pid, name in rows),
                                          key=lambda pair: pair[0])]


def blend(product_ids: list[int], affinity: dict[int, float], top: int) -> list[int]:
    """The first ``top`` ids re-ordered by ``(1 - position / top) + AFFINITY_WEIGHT * affinity``
    (affinity in [0, 1]); the rest unchanged."""
    head, tail = product_ids[:top], product_ids[top:]
    if not head or not affinity:
        return list(product_ids)
    scored = sorted(
        range(len(head)),
        key=lambda i: (-((1.0 - i / len(head)) + AFFINITY_WEIGHT * affinity.get(head[i], 0.0)), i),
    )
    return [head[i] for i in scored] + tail


def shopper_affinity(ctx) -> dict[int, float]:
    """product id -> affinity in (0, 1] from the active recommender for this request's shopper
    (their trained row plus their events since training); empty for crawlers, visitors the model
    knows nothing of, or when no model is active."""
    if ctx is None or getattr(ctx, "is_bot", False):
        return {}
    from storefront.recommendations.steps import fold_in_events
    from storefront.recommendations.widgets import new_ask

    ask = new_ask(ctx)
    if ask.version is None:
        return {}
    return affinity_for(ask.version, ask.shopper.ml_user_id, fold_in_events(ask.version, ask))


def affinity_for(version, user: str | None, recent) -> dict[int, float]:
    """product id -> affinity in (0, 1] of ``version``'s recommender (an ``ml.serving``
    ``LoadedVersion``) for ``user`` (their trained row, if the version knows them) with their
    ``recent`` events folded in (``(item id, event type[, time])``, as serving folds them in);
    empty without either. Pure: no request, no database (the offline evaluation calls it too)."""
    if not recent and (user is None or not version.id_map.has_user(user)):
        return {}
    try:
        scored = version.recommend_for_user(user, recent, n=AFFINITY_CANDIDATES, filter_seen=False)
    except Exception:  # a model bug costs the personal order, never the results
        log.exception("personal re-rank failed; serving the text ranking")
        return {}
    best = max((score for _item, score in scored), default=0.0)
    if best <= 0:
        return {}
    affinity = {}
    for item_id, score in scored:  # the model's score over its best for this shopper, in [0, 1]
        try:
            affinity[int(item_id)] = max(float(score), 0.0) / best
        except ValueError:  # an item id from another catalogue
            continue
    return affinity


def rerank_for_shopper(product_ids: list[int], ctx, *, top: int = RERANK_TOP) -> list[int]:
    """The results with their first ``top`` re-ordered by the shopper's affinity (see
    :func:`shopper_affinity`); unchanged for crawlers, strangers and without a model."""
    if not product_ids:
        return list(product_ids)
    return blend(product_ids, shopper_affinity(ctx), top)

"""The strategies a recommendation widget can be filled from, and each widget's chain of them.

A step is ``step(ask, missing) -> Proposal``: it proposes up to ``missing`` products (a model
step may return more, ranked), never one in ``ask.skip`` (the shopper's exclusions plus what the
widget already holds), and only eligible ones (``storefront.recommendations.rules`` loads and
filters them in one query). Steps read the ``Ask`` (frozen) and return what they propose, with
the ordering an experiment chose (``ranking``); the filler (``storefront.recommendations.widgets``)
decides what is kept and hands the next step a new ``Ask`` with the grown ``skip``. Model steps ask for ``OVERFETCH`` times what is missing,
because the rules drop some of the model's picks; they return nothing when no model is loaded
and log (never raise) when the model fails, so the next step simply takes over.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import zip_longest

from flask import current_app

from ml.serving import LoadedVersion
from storefront.catalog.snapshot import NEWEST, CatalogSnapshot, CategoryNode, ProductCard
from storefront.models import VIEW
from storefront.models.common import utcnow
from storefront.ctr import serving as ctr_serving
from storefront.tracking.visitors import ml_item_id
from storefront.segments.serving import segments_for
from storefront.tracking.visitors import customer_key
from storefront.tracking.visitors import Shopper
from ml.explain import evidence
from storefront.recommendations import reasons as why
from storefront.recommendations.reasons import Reason
from storefront.recommendations import repurchase
from storefront.recommendations.rules import load_in_order, ranked
from storefront.tracking.shopper_facts import RecentEvent, ShopperFacts, visit_gap, visit_of

log = logging.getLogger(__name__)

OVERFETCH = 3
MODEL_PREFIX = "model:"
NO_STRATEGY = "none"
# "Trending in <category>" filters the model's global trending list to one category; this many
# of the top items give every category of a catalog of a few thousand products a full shelf.
TRENDING_POOL = 500


@dataclass(frozen=True)
class Ask:
    """One widget request: who, with which model, what must not be shown."""

    shopper: Shopper
    version: LoadedVersion | None
    catalog: CatalogSnapshot
    skip: frozenset[int]
    # what the page knows of the shopper; a fresh one each (its ``derived`` is per request)
    facts: ShopperFacts = field(default_factory=ShopperFacts)
    product: ProductCard | None = None
    category: CategoryNode | None = None
    widget: str = ""

    @property
    def recent(self) -> tuple[RecentEvent, ...]:
        """The shopper's latest interest events, newest first."""
        return self.facts.recent

    @property
    def bought(self) -> frozenset[int]:
        """What the shopper bought (skipped by some widgets even with re-buys on)."""
        return self.facts.bought


class Proposal(NamedTuple):
    """What a step proposes: its strategy name, the products in its order, and, when a model
    step consulted the click model, which ordering it served: ``ctr`` (re-ranked) or
    ``retrieval`` (the A/B control group). ``reasons``: per product id, why, when the step has
    item-level evidence (the filler gives the others their step's reason)."""

    strategy: str
    products: list[ProductCard]
    ranking: str | None = None
    reasons: dict[int, Reason] | None = None


Step = Callable[[Ask, int], Proposal]


def reads_model(step: Step) -> Step:
    """Mark a step that fills from ``ask.version``: a widget with one can be an A/B test of two
    model versions (``storefront.experiments`` swaps the version under it)."""
    step.reads_model = True  # type: ignore[attr-defined]
    return step


# -- model steps ---------------------------------------------------------------------------------


def ask_model(call, *args, **kwargs) -> list[tuple[str, float]]:
    try:
        return call(*args, **kwargs)
    except Exception:  # a model bug must cost a widget its first step, never the page
        log.exception("model call %s failed; using the fallbacks", getattr(call, "__name__", call))
        return []


def model_product_ids(scored: list[tuple[str, float]]) -> list[int]:
    ids = []
    for item_id, _score in scored:
        try:
            ids.append(int(item_id))
        except ValueError:  # an item id from another catalog (e.g. an imported data set)
            continue
    return ids


def _excluded(ask: Ask) -> list[str]:
    return [ml_item_id(pid) for pid in ask.skip]


@lru_cache(maxsize=16)
def _trained_until(version: str, stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def fold_in_events(version: LoadedVersion, ask: Ask) -> list[tuple[str, str]]:
    """(item id, event type) of the shopper's recent events the model has not seen yet.

    A visitor unknown to the version has all their recent events folded in; a known one only
    those after the version's ``trained_until``, because the rest are already in their
    training row and folding them in again would count them twice.
    """
    user = ask.shopper.ml_user_id
    since = None
    if user is not None and version.id_map.has_user(user):
        since = _trained_until(version.version, version.manifest.get("trained_until"))
    return [
        (ml_item_id(e.product_id), e.type)
        for e in ask.recent
        if since is None or e.occurred_at > since
    ]


@reads_model
def model_for_user(ask: Ask, missing: int) -> Proposal:
    version = ask.version
    if version is None:
        return Proposal(NO_STRATEGY, [])
    strategy = MODEL_PREFIX + str(version.manifest.get("champion", "recommender"))
    # With re-buys allowed, the model may also offer what the shopper has seen or bought.
    filter_seen = not current_app.config.get("RECOMMEND_PURCHASED", False)
    ranker = ctr_serving.ranker_for(version)
    rerank = ranker is not None and ctr_serving.in_treatment(ask.shopper)
    wanted = max(missing * OVERFETCH, ctr_serving.candidate_count()) if rerank else missing * OVERFETCH
    scored = ask_model(
        version.recommend_for_user, ask.shopper.ml_user_id, fold_in_events(version, ask),
        n=wanted, exclude=_excluded(ask), filter_seen=filter_seen,
    )
    products = load_in_order(ask.catalog, model_product_ids(scored), ask.skip)
    ranking = None
    if ranker is not None and products and not rerank:
        ranking = ctr_serving.RETRIEVAL
    elif ranker is not None and products:
        try:
            products = ctr_serving.rerank(ranker, ask.shopper, ask.facts, products, ask.widget, ask.catalog)
            strategy, ranking = strategy + "+" + ranker.ranker.kind, ctr_serving.RERANKED
        except Exception:  # a click-model bug costs the re-ranking, never the widget
            log.exception("re-ranking failed; serving the retrieval order")
    # On the cart page the cart's own categories step back: the shopper has chosen there already
    # (a second kettle next to the kettle in the cart is a substitute, not a suggestion).
    in_cart = _cart_categories(ask) if ask.widget.startswith("cart_") else set()
    products = session_boost(products, ask.recent, demote=in_cart)
    return Proposal(strategy, products, ranking, _model_reasons(version, ask, products[: missing * 2]))


def session_categories(recent: tuple[RecentEvent, ...], now: datetime | None = None) -> set[int]:
    """The categories of the shopper's current visit (``visit_of``: their latest events while no
    gap exceeds ``SESSION_GAP_MINUTES``, the newest within that of now)."""
    return {event.category_id for event in visit_of(recent, visit_gap(), now or utcnow())}


def _cart_categories(ask: Ask) -> set[int]:
    return {c for c in (ask.catalog.category_of(pid) for pid in ask.facts.cart) if c is not None}


def session_boost(products: list[ProductCard], recent: tuple[RecentEvent, ...],
                  demote: set[int] = frozenset()) -> list[ProductCard]:
    """The model's order with the current visit's categories lifted: an item at rank r scores
    ``1 / (r + 1)``, times ``1 + SESSION_CATEGORY_BOOST`` in a category of this visit. A logged-in
    shopper's long history otherwise drowns what they are looking at right now (four tents viewed
    this visit, no tent on the home page). Categories in ``demote`` are divided by the same
    factor instead (the cart page's own categories)."""
    boost = float(current_app.config.get("SESSION_CATEGORY_BOOST", 1.0))
    current = session_categories(recent) - demote if boost > 0 and recent else set()
    if not current and not (demote and boost > 0):
        return products

    def factor(category_id: int) -> float:
        return 1.0 + boost if category_id in current else 1.0 / (1.0 + boost) if category_id in demote else 1.0

    scored = [(1.0 / (rank + 1) * factor(p.category_id), -rank) for rank, p in enumerate(products)]
    order = sorted(range(len(products)), key=lambda i: scored[i], reverse=True)
    return [products[i] for i in order]


def _model_reasons(version: LoadedVersion, ask: Ask, products: list[ProductCard]) -> dict[int, Reason]:
    """"Because you viewed X" from the model's own evidence (see ``reasons``)."""
    known = why.touched(ask.facts)
    if not products:
        return {}
    found: list[list[str]] = []
    if known:
        found = ask_model(evidence, version, ask.shopper.ml_user_id, fold_in_events(version, ask),
                           [ml_item_id(p.id) for p in products])
    result = {}
    for position, product in enumerate(products):
        ids = model_product_ids([(item, 0.0) for item in found[position]]) if position < len(found) else []
        result[product.id] = why.because(ids, known)
    return result


def item_model(role: str) -> Step:
    @reads_model
    def step(ask: Ask, missing: int) -> Proposal:
        if ask.version is None or ask.product is None:
            return Proposal(NO_STRATEGY, [])
        call = getattr(ask.version, role)
        scored = ask_model(call, ml_item_id(ask.product.id), n=missing * OVERFETCH,
                            exclude=_excluded(ask))
        return Proposal(MODEL_PREFIX + role, load_in_order(ask.catalog, model_product_ids(scored), ask.skip))
    return step


@reads_model
def cart_complements(ask: Ask, missing: int) -> Proposal:
    """What goes with every line of the cart together ("frequently bought together" in the
    cart); each product names the cart line it is most often bought with."""
    lines = list(ask.facts.cart)
    if ask.version is None or not lines:
        return Proposal(NO_STRATEGY, [])
    scored = ask_model(ask.version.basket_complements, [ml_item_id(p) for p in lines],
                        n=missing * OVERFETCH, exclude=_excluded(ask))
    products = load_in_order(ask.catalog, model_product_ids(scored), ask.skip)
    reasons: dict[int, Reason] = {}
    for line in ask.catalog.cards(lines):  # in the cart's order: the first line that goes with it names it
        partners = set(model_product_ids(ask_model(ask.version.complements, ml_item_id(line.id), n=missing * OVERFETCH)))
        for card in products:
            if card.id in partners and card.id not in reasons:
                reasons[card.id] = Reason(why.BOUGHT_WITH, f"Often bought with {line.name}", line.id)
    return Proposal(MODEL_PREFIX + "complements", products, None, reasons)


def complement_categories(ask: Ask, missing: int) -> Proposal:
    """Popular products of the categories the served version says are bought with the page's
    product (or the cart's lines), never of their own categories: where "frequently bought
    together" turns when the model has no row for the product (e.g. one added since training)."""
    if ask.version is None:
        return Proposal("complement_categories", [])
    own = ([ask.product.category_id] if ask.product is not None
           else [c for c in map(ask.catalog.category_of, ask.facts.cart) if c is not None])
    categories: list[int] = []
    for category_id in dict.fromkeys(own):
        for label in ask_model(ask.version.complement_categories, str(category_id), 5):
            if label.isdigit() and int(label) not in own and int(label) not in categories:
                categories.append(int(label))
    picks: list[list[ProductCard]] = [ranked(ask.catalog, missing, ask.skip, categories=(c,), popular_only=True)
                                      for c in categories]
    mixed = [card for row in zip_longest(*picks) for card in row if card is not None]  # strongest category first
    return Proposal("complement_categories", mixed[:missing])


@reads_model
def model_trending(ask: Ask, missing: int) -> Proposal:
    if ask.version is None:
        return Proposal(NO_STRATEGY, [])
    scored = ask_model(ask.version.popular, n=missing * OVERFETCH, exclude=_excluded(ask))
    return Proposal(MODEL_PREFIX + "popular", load_in_order(ask.catalog, model_product_ids(scored), ask.skip))


@reads_model
def model_trending_in_category(ask: Ask, missing: int) -> Proposal:
    if ask.version is None or ask.category is None:
        return Proposal(NO_STRATEGY, [])
    scored = ask_model(ask.version.popular, n=max(TRENDING_POOL, missing * OVERFETCH),
                        exclude=_excluded(ask))
    found = load_in_order(ask.catalog, model_product_ids(scored), ask.skip, ask.catalog.descendants(ask.category.id))
    return Proposal(MODEL_PREFIX + "popular", found)


@reads_model
def customers_like_you(ask: Ask, missing: int) -> Proposal:
    """What the customer's nearest Customer2Vec neighbours bought, similarity-weighted, minus
    what the customer bought (as of training; later purchases are in ``ask.skip``)."""
    segments = segments_for(ask.version)
    if segments is None or ask.shopper.customer_id is None:
        return Proposal(NO_STRATEGY, [])
    scored = ask_model(segments.customers_like_you_also_bought, customer_key(ask.shopper.customer_id),
                        n=missing * OVERFETCH, exclude_items=_excluded(ask))
    return Proposal(MODEL_PREFIX + "customer2vec", load_in_order(ask.catalog, model_product_ids(scored), ask.skip))


@reads_model
def segment_best_sellers(ask: Ask, missing: int) -> Proposal:
    """The best sellers of the customer's RFM segment; the whole shop's (as of training) for a
    customer who had no orders then."""
    segments = segments_for(ask.version)
    if segments is None:
        return Proposal(NO_STRATEGY, [])
    customer = ask.shopper.customer_id
    segment = segments.segment_of(customer_key(customer)) if customer is not None else None
    # no exclusion parameter here: ask for enough that the skipped ones cannot empty the list
    ids = ask_model(segments.segment_best_sellers, segment, n=missing * OVERFETCH + len(ask.skip))
    return Proposal(MODEL_PREFIX + "segment_best_sellers", load_in_order(ask.catalog, model_product_ids([(i, 0.0) for i in ids]), ask.skip))


# -- database fallbacks ----------------------------------------------------------------------------


def in_recent_categories(ask: Ask, missing: int) -> Proposal:
    categories = list(dict.fromkeys(e.category_id for e in ask.recent))
    if not categories:
        return Proposal("category_popularity", [])
    found = ranked(ask.catalog, missing, ask.skip, categories=categories, popular_only=True)
    return Proposal("category_popularity", found)


def same_category(ask: Ask, missing: int) -> Proposal:
    if ask.product is None:
        return Proposal("same_category", [])
    return Proposal("same_category", ranked(ask.catalog, missing, ask.skip, categories=(ask.product.category_id,)))


def in_category(ask: Ask, missing: int) -> Proposal:
    if ask.category is None:
        return Proposal("category_popularity", [])
    return Proposal("category_popularity",
                    ranked(ask.catalog, missing, ask.skip, categories=ask.catalog.descendants(ask.category.id)))


def trending(ask: Ask, missing: int) -> Proposal:
    """Popular lately: only products with some recent interest (the rest is "newest")."""
    return Proposal("trending", ranked(ask.catalog, missing, ask.skip, popular_only=True))


def newest(ask: Ask, missing: int) -> Proposal:
    return Proposal("newest", ranked(ask.catalog, missing, ask.skip, order=NEWEST))


def buy_again(ask: Ask, missing: int) -> Proposal:
    """What the shopper bought in a repeat-purchase category whose usual interval has (nearly)
    passed since their last order of it, the most overdue first (``repurchase``)."""
    if not ask.facts.bought_at:
        return Proposal("buy_again", [])
    now = utcnow()
    due = repurchase.due(ask.version, ask.facts.bought_at, ask.catalog, now)
    cards = load_in_order(ask.catalog, [pid for pid in due if pid not in ask.skip], ask.skip)[:missing]
    return Proposal("buy_again", cards, None,
                    {card.id: why.bought_ago(card, ask.facts.bought_at[card.id], now) for card in cards})


def recently_viewed(ask: Ask, missing: int) -> Proposal:
    """The products the shopper viewed lately, newest first (still eligible, not skipped)."""
    viewed = [e.product_id for e in ask.recent if e.type == VIEW]
    return Proposal("recently_viewed", load_in_order(ask.catalog, viewed, ask.skip)[:missing])

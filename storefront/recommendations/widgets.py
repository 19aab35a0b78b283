"""Recommendation widgets in a web worker: the served model, filling a widget, the widgets of a page.

**The model.** One ``ModelHolder`` per app (``init_app``): it notices a newly activated version
within ``MODEL_CHECK_INTERVAL`` seconds and loads it fully before swapping the reference; a
broken artifact is logged and the worker keeps what it had (or serves the fallbacks): a page
never fails because of the recommender.

**Filling one widget.** A widget asks its spec's steps (``registry``) in order, each for what is
still missing, until it is full (or the chain ends: then the catalog had no more eligible
products). Each step gets a fresh, frozen ``Ask`` whose ``skip`` holds the shopper's exclusions
plus what the widget (and the earlier widgets of the page) already show; a model list cut short
by the rules is topped up by the next step rather than shown half empty. A widget records as its
``strategy`` the step that supplied its first item and carries the model version only when the
model supplied any; ``sources`` keeps the step of every item. A widget set to a diversity level
(``storefront.recommendations.diversity``) has its model steps' candidates re-ranked by MMR.
Merchandising rules (``storefront.recommendations.merchandising``) apply in between: each step's
proposal is boosted, buried and filtered by them before diversity, and pinned products take
their slots last; the impression records the rules that touched it.

**The widgets of a page.** Views call one function per page with the request context and get
ready-to-render ``WidgetResult``s; each non-empty one has already been recorded
(``impression_id`` set, except for bots), so the template can put the impression into its
links. Which widgets a page shows, in which order and for whom is the registry's
(``registry.placed_on``); on one page no widget repeats a product an earlier one shows (unless
its spec says otherwise, ``distinct_on_page``). The caller commits, after rendering (a commit
would expire the loaded products and cost a reload per card).
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from flask import Flask, current_app

from ml.serving import LoadedVersion, ModelHolder
from storefront.catalog import snapshot
from storefront.catalog.snapshot import CatalogSnapshot, CategoryNode, ProductCard
from storefront.experiments import serving as experiments
from storefront.modelstore.sync import SyncedHolder
from storefront.models import Product
from storefront.recommendations import diversity, registry, visit
from storefront.recommendations.merchandising.serving import PINNED, Steering, takes_rules
from storefront.recommendations import reasons as why
from storefront.recommendations.reasons import Reason
from storefront.recommendations.registry import API_ITEM_KINDS, WidgetSpec
from storefront.recommendations.rules import allow_rebuys, excluded_product_ids
from storefront.recommendations.steps import MODEL_PREFIX, NO_STRATEGY, Ask
from storefront.tracking import impressions
from storefront.tracking.shopper_facts import ShopperFacts, facts_of
from storefront.tracking.visitors import RequestContext, Shopper, shopper_of

log = logging.getLogger(__name__)


# -- the served model ------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    """One model holder per app: every request of a worker shares the loaded version. With a
    model store (``MODEL_STORE`` not local) the holder is wrapped by the node sync, which fills
    the local folder from the store and points its ``ACTIVE`` as the database says."""
    holder = ModelHolder(app.config["MODEL_DIR"], check_interval=float(app.config["MODEL_CHECK_INTERVAL"]))
    node = app.extensions["model_store"].sync
    app.extensions["recommender"] = holder if node is None else SyncedHolder(holder, node, experiments.challenger_names)


def current_version() -> LoadedVersion | None:
    """The model version to serve now, or None (nothing published, or nothing loadable)."""
    holder = current_app.extensions.get("recommender")
    if holder is None:
        return None
    try:
        return holder.get()
    except Exception:  # the holder logs load errors itself; this is the last line of defence
        log.exception("model holder failed; serving the fallbacks")
        return None


# -- filling one widget ----------------------------------------------------------------------------


@dataclass
class WidgetResult:
    """What a widget shows and why: enough to render it and to record its impression."""

    widget: str
    title: str
    strategy: str
    model_version: str | None
    products: list[ProductCard]
    sources: list[str] = field(default_factory=list)
    context_product_id: int | None = None
    impression_id: int | None = None
    ranking: str | None = None  # "ctr" / "retrieval" when the click model was consulted
    explanation: str = ""
    experiment_id: int | None = None  # the A/B test of model versions it was part of, if any
    arm: str | None = None  # "champion" / "challenger" in that test
    rules: dict[str, list[int]] | None = None  # merchandising rule id -> the positions it touched
    reasons: list[Reason] = field(default_factory=list)  # why each product is shown, in order


def per_widget() -> int:
    return int(current_app.config.get("RECOMMENDATIONS_PER_WIDGET", 8))


def new_ask(ctx: RequestContext, *, product: Product | ProductCard | None = None,
            category: CategoryNode | None = None) -> Ask:
    """The shared inputs of one page's widgets: the shopper's facts (one query per request,
    shared with the banner and the cart badge) and the catalog snapshot."""
    shopper = shopper_of(ctx)
    return _ask(shopper, facts_of(shopper, ctx.memo), snapshot.current(ctx.memo), product, category)


def customer_ask(customer_id: int, *, product: Product | ProductCard | None = None) -> Ask:
    """The inputs of a widget for a given customer as if they were logged in (the admin's
    preview of what a customer would see), with the same exclusions their own page applies."""
    shopper = Shopper(None, customer_id, logged_in=True)
    facts = facts_of(shopper)
    # recent events left out, as this preview always did: it shows what the models learnt of the customer
    return _ask(shopper, dataclasses.replace(facts, recent=()), snapshot.current(), product, None)


def _ask(shopper: Shopper, facts: ShopperFacts, catalog: CatalogSnapshot, product, category) -> Ask:
    skip = set(excluded_product_ids(facts))
    if product is not None:
        skip.add(product.id)
    return Ask(shopper, current_version(), catalog, frozenset(skip), facts, product, category)


def _bought_by(ask: Ask) -> frozenset[int]:
    """What the shopper bought, when the rules let bought products through (re-buys allowed);
    otherwise the rules have excluded them already."""
    return ask.bought if allow_rebuys() else frozenset()


# A filtered widget (the API's category / max_price) asks each step for this many times what is
# missing, since the filter drops some of what the step proposes.
FILTER_OVERFETCH = 4


def fill(spec: WidgetSpec, ask: Ask, n: int | None = None, also_skip: Collection[int] = (),
         allowed: Callable[[ProductCard], bool] | None = None) -> WidgetResult:
    """Ask each of ``spec``'s steps for what is still missing until ``n`` products are chosen
    (only products ``allowed`` passes, when given)."""
    n = n or per_widget()
    chosen: list[Product] = []
    sources: list[str] = []
    reasons: list[Reason] = []
    ranking: str | None = None
    skip = set(ask.skip) | set(also_skip)
    if spec.skip_bought:
        skip |= _bought_by(ask)
    if spec.offers_bought:
        skip -= ask.bought - set(ask.facts.cart)
    level = diversity.level_of(spec.name, ask.catalog.version)  # the admin's, kept per catalog version
    # merchandising rules in force: pins keep their slots (and are not proposed again)
    steer = Steering(spec.name, ask.catalog, skip, allowed, steerable=takes_rules(spec))
    skip |= steer.pinned_ids
    for step in spec.steps:
        missing = steer.room(n) - len(chosen)
        if missing <= 0:
            break
        wanted = missing * FILTER_OVERFETCH if allowed is not None else missing
        proposal = step(dataclasses.replace(ask, skip=frozenset(skip), widget=spec.name), wanted)
        # boost, bury, exclude re-rank what the step scored; diversity then spreads that order
        proposal = proposal._replace(products=steer.rerank(proposal.products))
        if level != diversity.DIVERSITY_NONE and getattr(step, "reads_model", False):
            # MMR picks the slots from the model's over-fetched candidates (fallbacks keep their order)
            proposal = proposal._replace(products=diversity.diversify(proposal.products, level, missing))
        ranking = ranking or proposal.ranking
        given = proposal.reasons or {}
        for product in proposal.products:
            if len(chosen) < steer.room(n) and product.id not in skip and (allowed is None or allowed(product)):
                skip.add(product.id)
                chosen.append(product)
                sources.append(proposal.strategy)
                reasons.append(given.get(product.id) or why.for_step(proposal.strategy, product, ask.product))
    chosen, sources, reasons = steer.place(chosen, sources, reasons)  # pins last: nothing moves them
    from_model = ask.version is not None and any(s.startswith(MODEL_PREFIX) for s in sources)
    stepped = [s for s in sources if s != PINNED]  # the strategy: the step of the first item a step chose
    return WidgetResult(
        widget=spec.name, title=spec.title_for(ask.category.name if ask.category else None),
        strategy=(stepped or sources or [NO_STRATEGY])[0], rules=steer.record(chosen),
        model_version=ask.version.version if from_model else None, products=chosen,
        sources=sources, context_product_id=ask.product.id if ask.product else None,
        ranking=ranking if from_model else None, explanation=spec.explanation, reasons=reasons,
    )


def fill_for(ctx: RequestContext, spec: WidgetSpec, ask: Ask, n: int | None = None,
             also_skip: Collection[int] = (), allowed: Callable[[ProductCard], bool] | None = None) -> WidgetResult:
    """``fill`` for this shopper: in a widget under an A/B test (``storefront.experiments``),
    from the version of the shopper's arm, with the same rules and fallbacks, and the arm noted
    for the impression."""
    exposure = experiments.exposure(ctx, spec.name)
    if exposure is None:
        return fill(spec, ask, n, also_skip, allowed)
    if exposure.version is not None:
        ask = dataclasses.replace(ask, version=exposure.version)
    result = fill(spec, ask, n, also_skip, allowed)
    result.experiment_id, result.arm = exposure.experiment_id, exposure.arm
    return result


# -- the widgets of each page ----------------------------------------------------------------------


def _shown_to(spec: WidgetSpec, ask: Ask) -> bool:
    audience = spec.audience
    if audience == registry.LOGGED_IN:
        return ask.shopper.logged_in
    if audience == registry.WITH_HISTORY:
        return bool(ask.recent)
    if audience == registry.WITHOUT_HISTORY:
        return not ask.recent
    if audience == registry.WITH_CART:
        return bool(ask.facts.cart)
    if audience == registry.IN_VISIT:
        return visit.in_visit(ask)
    return True


def record(ctx: RequestContext, result: WidgetResult) -> WidgetResult:
    result.impression_id = impressions.record_widget(
        ctx, widget=result.widget, strategy=result.strategy, model_version=result.model_version,
        context_product_id=result.context_product_id, items=[p.id for p in result.products],
        ranking=result.ranking, experiment_id=result.experiment_id, arm=result.arm, rules=result.rules,
    )
    return result


def shelves(ctx: RequestContext, placement: str, *, product: Product | ProductCard | None = None,
            category: CategoryNode | None = None, n: int | None = None,
            also_skip: Collection[int] = ()) -> list[WidgetResult]:
    """Every widget placed on ``placement`` that is for this shopper, filled in order (each
    skipping what the earlier ones show) and recorded."""
    results = fill_shelves(ctx, placement, product=product, category=category, n=n, also_skip=also_skip)
    record_all(ctx, results)
    return results


def fill_shelves(ctx: RequestContext, placement: str, *, product: Product | ProductCard | None = None,
                 category: CategoryNode | None = None, n: int | None = None,
                 also_skip: Collection[int] = ()) -> list[WidgetResult]:
    """``shelves`` without recording them (the caller records them with its other impressions).
    ``also_skip``: products the page shows elsewhere (a listing's first row), left out of every
    widget that is distinct on the page."""
    specs = registry.placed_on(placement)
    ask = new_ask(ctx, product=product, category=category)
    results: list[WidgetResult] = []
    shown: list[int] = list(also_skip)
    for spec in specs:
        if not _shown_to(spec, ask):
            continue
        result = fill_for(ctx, spec, ask, n, also_skip=shown if spec.distinct_on_page else ())
        if spec.distinct_on_page:
            shown += [p.id for p in result.products]
        results.append(result)
    return results


def record_all(ctx: RequestContext, results: list[WidgetResult], others: Sequence[dict] = ()) -> list[int | None]:
    """Every widget of a page recorded in one insert (one statement, not one per widget), with
    the page's ``others`` (impression rows such as a banner's); returns the others' ids."""
    ids = impressions.record_widgets(ctx, [
        *({"widget": r.widget, "strategy": r.strategy, "model_version": r.model_version,
           "context_product_id": r.context_product_id, "items": [p.id for p in r.products], "ranking": r.ranking,
           "experiment_id": r.experiment_id, "arm": r.arm, "rules": r.rules}
          for r in results),
        *others,
    ])
    for result, impression_id in zip(results, ids):
        result.impression_id = impression_id
    return ids[len(results):]


def _one(results: list[WidgetResult]) -> WidgetResult | None:
    return results[0] if results else None


def home(ctx: RequestContext) -> WidgetResult | None:
    """"Recommended for you" once the shopper has any history, else "Trending now"."""
    return _one(shelves(ctx, registry.HOME))


def cart(ctx: RequestContext) -> list[WidgetResult]:
    """"Frequently bought together" (with a non-empty cart), then "Recommended for you"."""
    return shelves(ctx, registry.CART)


def product_page(ctx: RequestContext, product: Product) -> list[WidgetResult]:
    return shelves(ctx, registry.PRODUCT, product=product)


def account_page(ctx: RequestContext) -> list[WidgetResult]:
    """"Customers like you also bought" and "Buy it again" on the customer's account page."""
    return shelves(ctx, registry.ACCOUNT)


def category_page(ctx: RequestContext, category: CategoryNode, listed: Collection[int] = ()) -> WidgetResult | None:
    """"Trending in <category>" atop its listing, without the products of the listing's first row."""
    return _one(shelves(ctx, registry.CATEGORY, category=category, also_skip=listed))


def api_user(ctx: RequestContext, n: int) -> WidgetResult | None:
    return _one(shelves(ctx, registry.API_USER, n=n))


def api_item(ctx: RequestContext, product: Product, kind: str, n: int) -> WidgetResult:
    """``kind`` is ``similar`` or ``bought`` (checked by the caller, see ``API_ITEM_KINDS``)."""
    spec = registry.spec(API_ITEM_KINDS[kind])
    return record(ctx, fill_for(ctx, spec, new_ask(ctx, product=product), n))


def customer_preview(customer_id: int, *, product: Product | None = None) -> WidgetResult:
    """"Customers like you also bought" as ``customer_id`` would see it on their account page
    (the admin's customer detail); nothing is recorded."""
    return fill(registry.spec("customers_like_you", registry.ACCOUNT), customer_ask(customer_id, product=product))

""""Inspired by your visit": the next items after what the shopper did in this visit, in order.

Most shoppers never log in and come once: their only evidence is the visit itself, and its order
(what they looked at last, what follows what) says more than the bag of items the champion folds
in. The training run publishes the session model that won the session-rec protocol
(``storefront.training.sessions``) as an extra of the version; this module loads it once per
version in each worker (``version_extras``) and fills the widget from it.

The visit is the shopper's recent interest events without a pause longer than
``SESSION_GAP_MINUTES`` (``shopper_facts.visit_of``), oldest first: no extra query, the page
loaded those events already. What the visit holds is not proposed again ("Recently viewed" is
for that); the widget's rules, fallbacks, reasons and impressions are every widget's.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ml.serving import LoadedVersion
from ml.sessions.serving import SESSION_MODEL_FILE, SessionServer
from storefront.models import VIEW
from storefront.models.common import utcnow
from storefront.recommendations import steps
from storefront.recommendations.reasons import NEXT_IN_VISIT, Reason
from storefront.recommendations.rules import load_in_order
from storefront.recommendations.steps import MODEL_PREFIX, NO_STRATEGY, OVERFETCH, Ask, Proposal
from storefront.recommendations.version_extras import extra_for, verified_files
from storefront.tracking.shopper_facts import RecentEvent, visit_gap, visit_of
from storefront.tracking.visitors import ml_item_id

log = logging.getLogger(__name__)

#: The extra's name in the manifest and on the run (``storefront.training.sessions`` builds it).
SESSIONS_EXTRA = "sessions"
STRATEGY = MODEL_PREFIX + "session:"


def _load(version: LoadedVersion, directory: Path) -> SessionServer | None:
    try:
        files = verified_files(version, directory, SESSIONS_EXTRA)
        if files is None or SESSION_MODEL_FILE not in files:
            log.info("model version %s has no session model", version.version)
            return None
        server = SessionServer.load(directory / SESSION_MODEL_FILE)
    except Exception:  # a broken extra costs the visit widget its first step, never a page
        log.exception("cannot load the session model of version %s; serving without it", version.version)
        return None
    log.info("loaded the %s session model of version %s (%d items)", server.name, version.version,
             server.model.n_items)
    return server


def session_model_for(version: LoadedVersion | None) -> SessionServer | None:
    """The session model of ``version`` (the one the request is served from), or None."""
    return extra_for(SESSIONS_EXTRA, version, _load)


def current_visit(ask: Ask) -> tuple[RecentEvent, ...]:
    """The shopper's product views of this visit, oldest first: what the session models were
    trained on (views, as session-rec reads Retailrocket); an add to cart follows a view of the
    same product, which is in the visit already."""
    return tuple(e for e in reversed(visit_of(ask.recent, visit_gap(), utcnow())) if e.type == VIEW)


def in_visit(ask: Ask) -> bool:
    """Whom the widget is for: a shopper without a customer history (not logged in, or no order
    yet) who viewed something in this visit."""
    return (not ask.shopper.logged_in or ask.facts.orders == 0) and bool(current_visit(ask))


@steps.reads_model
def model_visit(ask: Ask, missing: int) -> Proposal:
    """The version's session model on the visit; nothing without a model or a visit it knows."""
    server = session_model_for(ask.version)
    visit = current_visit(ask) if server is not None else ()
    if server is None or not visit:
        return Proposal(NO_STRATEGY, [])
    seen = {event.product_id for event in visit}
    exclude = [ml_item_id(pid) for pid in ask.skip | seen]
    scored = steps.ask_model(server.next_items, [ml_item_id(e.product_id) for e in visit],
                              n=missing * OVERFETCH, exclude=exclude)
    products = load_in_order(ask.catalog, steps.model_product_ids(scored), ask.skip | seen)
    last = visit[-1]
    reason = (Reason(NEXT_IN_VISIT, f"Shoppers who viewed {last.name} went on to this", last.product_id)
              if last.name else None)
    reasons = {p.id: reason for p in products} if reason is not None else None
    return Proposal(STRATEGY + server.name, products, reasons=reasons)

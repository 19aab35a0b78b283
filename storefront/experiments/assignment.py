"""Which arm of an experiment a shopper is in: a stable hash, no stored assignment.

The key is who the shopper is: a logged-in customer by customer id (they keep their arm on
every device and browser), anyone else by their browser's visitor token (the signed cookie
``storefront.web.requests`` reads, there from the first request on, before any visitor row).
Hashed together with the experiment id, it gives a number in [0, 1): below the challenger's
share, the challenger. So the same shopper always gets the same arm of one experiment, two
experiments split the shoppers independently, and nothing is written to remember it.

Crawlers and requests without a browser (the CLI, an admin's preview) have no key: they see the
champion and are never counted (nothing of theirs is logged anyway).
"""
from __future__ import annotations

import hashlib

from storefront.models.experiments import CHALLENGER, CHAMPION
from storefront.tracking.visitors import RequestContext

_SCALE = float(2**64)


def assignment_key(ctx: RequestContext) -> str | None:
    """The shopper's identity for the hash; None for a bot or a request without a browser."""
    if ctx.is_bot:
        return None
    if ctx.customer_id is not None:
        return f"customer:{ctx.customer_id}"
    if ctx.visitor_token:
        return f"visitor:{ctx.visitor_token}"
    return None


def bucket(key: str, experiment_id: int) -> float:
    """A number in [0, 1), uniform over keys, the same for the same key and experiment on every
    worker and after a restart (sha256, not Python's per-process ``hash``)."""
    digest = hashlib.sha256(f"{experiment_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def arm_of(key: str, experiment_id: int, challenger_share: float) -> str:
    return CHALLENGER if bucket(key, experiment_id) < challenger_share else CHAMPION

"""Helpers for the A/B test tests: two published versions, a running experiment, shoppers in a
chosen arm (found by the same hash the shop uses, so no test depends on luck)."""
from __future__ import annotations

import itertools

from storefront.experiments import management
from storefront.experiments.assignment import arm_of
from tests.helpers import browser_client, give_visitor_cookie
from tests.storefront.support.recommendations import seed_small_shop, train_and_publish
from tests.storefront.support.shop import ctx


def two_versions(app, runner) -> tuple[str, str]:
    """A seeded shop with two published versions: (the older one, the active one)."""
    seed_small_shop(runner)
    older = train_and_publish(app)
    active = train_and_publish(app, seed=11)
    return older, active


def start(app, challenger: str, widget: str = "home_for_you", share_percent: int = 50,
          min_clicks: int = 300) -> int:
    """Start an experiment through the service (as the admin form does); its id."""
    with ctx(app) as session:
        experiment = management.start_experiment(widget, challenger, share_percent, min_clicks, "test@example.com")
        session.commit()
        return experiment.id


def token_in(experiment_id: int, arm: str, share: float = 0.5, skip: int = 0) -> str:
    """A visitor token the hash puts in ``arm`` of the experiment (the ``skip``-th such)."""
    found = (f"{n:032x}" for n in itertools.count(1) if arm_of(f"visitor:{n:032x}", experiment_id, share) == arm)
    return next(itertools.islice(found, skip, None))


def browser_in(app, experiment_id: int, arm: str, share: float = 0.5, skip: int = 0):
    """A returning browser whose visitor cookie falls in ``arm``."""
    client = browser_client(app)
    give_visitor_cookie(client, app, token_in(experiment_id, arm, share, skip))
    return client

